"""``DaskRunner.slurm``: dask workers in SLURM batch jobs (dask-jobqueue), kept alive, retired
before their walltime, and ended on ``close()``.

    DaskRunner.slurm(target, jobs, cores, memory, walltime, queue, **kwargs)
      | kwargs split: the runner's own keywords -> DaskRunner, the rest -> SLURMCluster
      v
    SlurmJobs: SLURMCluster(scheduler in this process, allowed-failures 0) .scale(jobs=jobs)
      | keeper thread, every KEEP_INTERVAL: a job that `squeue` no longer shows (cancelled,
      | preempted, expired, its worker retired, its node gone) is dropped from the cluster's
      | spec and replaced, so `jobs` jobs stay queued or running
      | wait_first_worker(): the first worker within start_timeout, else SlurmStartError naming
      | each job's state and reason (`scontrol show job`) and the tail of its log
      v
    DaskRunner(target, client=Client(cluster)) owning both: close() closes the client, stops
    the keeper and closes the cluster, which `scancel`s every job.

Workers get ``--lifetime`` (walltime minus a margin, minus the stagger) and
``--lifetime-stagger``: they retire before SLURM kills them, the trials they held are requeued
as lost (never a retry spent), and the keeper's replacement job picks up the queue. dask
itself does not replace a job that ended (``adapt`` and ``scale`` count it as still planned),
hence the keeper. PBS, SGE, LSF and the other dask-jobqueue systems would take the same path
with another cluster class (see docs/clusters.md).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runner._backends.dask.devices import job_resources
from runner._backends.dask.notice import check_notice_signals, job_prologue
from runner.errors import PreflightError, SlurmStartError

__all__ = ["SlurmJobs", "SlurmStartError", "lifetime_args", "lost_worker", "parse_walltime",
           "slurm_runner", "split_kwargs", "start_jobs"]

log = logging.getLogger(__name__)

KEEP_INTERVAL = 1.0
"""Seconds between the keeper's looks at ``squeue``."""
START_TIMEOUT = 300.0
"""Default seconds to wait for the first worker (a busy cluster may keep a job pending)."""
DEATH_TIMEOUT = 30.0
"""Seconds a job's dask worker (and nanny) goes on without its scheduler, which lives in the
driver, before it exits and so ends its job: a SIGKILLed driver leaves no job running longer."""
NOTICE_SIGNALS = ("SIGUSR1",)
"""The signals that tell a job's worker it will be killed soon, by default (notice.py)."""
RUNNER_ONLY = frozenset({"client", "n_workers"})
"""DaskRunner keywords that make no sense with SLURM jobs (the jobs are the workers)."""

def parse_walltime(walltime: str) -> float:
    """Seconds in a SLURM time: ``MM``, ``MM:SS``, ``HH:MM:SS``, ``D-HH``, ``D-HH:MM`` or
    ``D-HH:MM:SS``."""
    text = walltime.strip() if isinstance(walltime, str) else ""
    days, _, rest = text.rpartition("-")
    parts = rest.split(":")
    if (not all(p.isdigit() for p in parts) or len(parts) > 3
            or (days and not days.isdigit()) or (not days and "-" in text)):
        raise ValueError(f"walltime must be a SLURM time like '01:00:00' (HH:MM:SS), got "
                         f"{walltime!r} ({type(walltime).__name__})")
    n = [int(p) for p in parts]
    if days:
        n += [0] * (3 - len(n))
        seconds = int(days) * 86400 + n[0] * 3600 + n[1] * 60 + n[2]
    elif len(n) == 1:
        seconds = n[0] * 60
    elif len(n) == 2:
        seconds = n[0] * 60 + n[1]
    else:
        seconds = n[0] * 3600 + n[1] * 60 + n[2]
    if seconds <= 0:
        raise ValueError(f"walltime must be more than 0 seconds, got {walltime!r}")
    return float(seconds)


def lifetime_args(walltime: float, margin: float | None = None) -> list[str]:
    """dask worker options that retire a worker before its job's ``walltime`` (seconds): a
    margin (default a tenth of the walltime, at least 10 s, at most 10 minutes) to drain in,
    and a stagger (a twentieth) so that jobs started together do not all retire at once."""
    if margin is None:
        margin = min(max(0.1 * walltime, 10.0), 600.0)
    stagger = 0.05 * walltime
    lifetime = walltime - margin - stagger
    if lifetime <= 0:
        raise ValueError(f"walltime {walltime:g} s leaves no time for a worker after the "
                         f"lifetime margin {margin:g} s: ask for a longer walltime")
    return ["--lifetime", f"{int(lifetime)}s", "--lifetime-stagger", f"{int(stagger)}s"]


def split_kwargs(runner_cls: type, kwargs: Mapping[str, Any]) -> tuple[dict[str, Any],
                                                                         dict[str, Any]]:
    """``(runner keywords, SLURMCluster keywords)``: a keyword any ``__init__`` in the
    runner's class hierarchy names goes to the runner, every other to dask-jobqueue."""
    names: set[str] = set()
    for klass in runner_cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is not None:
            names.update(p.name for p in inspect.signature(init).parameters.values()
                         if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD))
    names.discard("self")
    bad = RUNNER_ONLY & set(kwargs)
    if bad:
        raise ValueError(f"DaskRunner.slurm() starts its own workers in SLURM jobs: "
                         f"{', '.join(sorted(bad))} cannot be given")
    runner = {k: v for k, v in kwargs.items() if k in names}
    return runner, {k: v for k, v in kwargs.items() if k not in names}


def _squeue(job_ids: list[str]) -> set[str] | None:
    """The ids among ``job_ids`` that SLURM still has queued, running or completing."""
    if not job_ids:
        return set()
    try:
        done = subprocess.run(["squeue", "-h", "-o", "%i", "-j", ",".join(job_ids)],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("squeue failed (%r): the SLURM jobs are not checked this time", exc)
        return None
    if done.returncode != 0 and "Invalid job id" not in done.stderr:
        log.warning("squeue exited %d: %s", done.returncode, done.stderr.strip())
        return None
    return set(done.stdout.split())


def describe_job(job_id: str) -> str:
    """One job's state, reason and log tail, for an error message."""
    try:
        done = subprocess.run(["scontrol", "show", "job", job_id], capture_output=True,
                              text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"job {job_id}: scontrol failed ({exc!r})"
    fields = dict(re.findall(r"(\w+)=(\S*)", done.stdout))
    if not fields:
        return f"job {job_id}: SLURM no longer knows it ({done.stderr.strip()})"
    text = f"job {job_id} {fields.get('JobState', '?')} (reason {fields.get('Reason', '?')})"
    for key in ("StdErr", "StdOut"):
        path = fields.get(key, "").replace("%J", job_id).replace("%j", job_id)
        if path and Path(path).is_file():
            tail = Path(path).read_text(errors="replace").strip().splitlines()[-5:]
            text += f", log {path}" + (":\n    " + "\n    ".join(tail) if tail else " (empty)")
            break
    else:
        text += ", no log file yet"
    return text


class SlurmJobs:
    """A SLURMCluster scaled to ``jobs`` jobs and kept there; ``close()`` ends them all."""

    def __init__(self, cluster: Any, jobs: int) -> None:
        self.cluster = cluster
        self.jobs = jobs
        self.replaced: list[tuple[str, str]] = []  # (worker name, job id) of ended jobs
        self._joined: set[str] = set()  # names of the jobs whose worker joined once
        self._handled: set[str] = set()  # ids of the ended jobs already replaced
        self._known: dict[str, str] = {}  # dask worker name -> job id, of every job seen
        self._serial = 0  # replacements so far, for their names
        self._stop = threading.Event()
        self._keeper = threading.Thread(target=self._keep, name="slurm-keeper", daemon=True)

    def start(self) -> None:
        self.cluster.scale(jobs=self.jobs)
        self._keeper.start()

    def _job_ids(self) -> dict[str, str]:
        ids = {str(name): str(job.job_id) for name, job in list(self.cluster.workers.items())
               if getattr(job, "job_id", None)}
        self._known.update(ids)
        return ids

    def job_of(self, worker_name: str) -> str | None:
        """The SLURM job id of the dask worker named ``worker_name``, if it was ours (with
        ``processes`` > 1 a job's workers are named ``<job's name>-<i>``)."""
        ids = self._job_ids()
        for name in (worker_name, worker_name.rsplit("-", 1)[0]):
            job = ids.get(name) or self._known.get(name)
            if job is not None:
                return job
        return None

    def _keep(self) -> None:
        while not self._stop.wait(KEEP_INTERVAL):
            try:
                self._keep_once()
            except Exception as exc:  # keep keeping: one bad look must not end the jobs
                log.warning("checking the SLURM jobs failed: %r", exc)

    def _keep_once(self) -> None:
        self._joined.update(w.get("name", "") for w in self._workers())
        ids = self._job_ids()
        alive = _squeue(list(ids.values()))
        if alive is None or self._stop.is_set():
            return
        gone = {name: job for name, job in ids.items()
                if job not in alive and job not in self._handled}
        if not gone or (not self._joined and not self.replaced and self._all_failed(gone, ids)):
            return  # jobs that failed at start are reported by wait_first_worker, not retried
        self._handled.update(gone.values())
        for name, job in gone.items():
            log.info("SLURM job %s (dask worker %s) ended; submitting a replacement", job, name)
            self.replaced.append((name, job))
        self.cluster.loop.add_callback(self._replace, list(gone))

    def _all_failed(self, gone: Mapping[str, str], ids: Mapping[str, str]) -> bool:
        return len(gone) == len(ids)

    def _replace(self, names: list[str]) -> None:
        """On the cluster's event loop: each ended job's spec under a new name (dask would
        reuse the old name, which it still counts as running, and start nothing), then
        ``scale`` to start them."""
        if self._stop.is_set():
            return
        for name in names:
            spec = self.cluster.worker_spec.pop(name, None)
            job = self.cluster.workers.pop(name, None)
            if job is not None:  # scancel an ended job: harmless, and sure
                asyncio.ensure_future(job.close())
            if spec is not None:
                self._serial += 1
                self.cluster.worker_spec[f"{name.split('.')[0]}.{self._serial}"] = spec
        self.cluster.scale(jobs=self.jobs)

    def _workers(self) -> list[Mapping[str, Any]]:
        return list(self.cluster.scheduler_info.get("workers", {}).values())

    def wait_first_worker(self, timeout: float) -> None:
        """Return once a worker joined; raise ``SlurmStartError`` naming the jobs if none
        does within ``timeout`` seconds, or at once when every job ended without one."""
        deadline = time.monotonic() + timeout
        while not (workers := self._workers()):
            ids = self._job_ids()
            alive = _squeue(list(ids.values())) if ids else None
            ended = bool(ids) and alive is not None and not alive and len(ids) >= self.jobs
            if ended or time.monotonic() > deadline:
                what = "every job ended without one" if ended else (
                    f"none within start_timeout={timeout:g} s")
                jobs = "\n  ".join(describe_job(j) for j in ids.values()) or "no job submitted"
                raise SlurmStartError(
                    f"no dask worker joined from the SLURM jobs ({what}):\n  {jobs}\nA PENDING "
                    "job waits for resources (check queue=, cores=, memory=, walltime= against "
                    "`sinfo`); a job that ended at once failed to start its worker (see its "
                    "log); a RUNNING job whose worker never joins cannot reach the scheduler "
                    f"at {self.cluster.scheduler_address} (set interface= to a network the "
                    "compute nodes share)")
            time.sleep(0.1)
        # the keeper may not have looked yet: a job cancelled soon after must count as one
        # that started (replaced), not as one that failed at start
        self._joined.update(w.get("name", "") for w in workers)

    def client(self) -> Any:
        """A new ``distributed.Client`` of the cluster."""
        import distributed

        Client: Any = distributed.Client  # noqa: N806 - untyped upstream
        return Client(self.cluster, set_as_default=False)

    def close(self) -> None:
        """Stop replacing jobs, then close the cluster (which cancels every job)."""
        self._stop.set()
        if self._keeper.is_alive():
            self._keeper.join(KEEP_INTERVAL + 30)
        self.cluster.close()


def lost_worker(cluster: Any, exc: BaseException) -> tuple[str, str | None]:
    """``(reason, job id or None)`` for a trial whose dask worker was lost with ``exc``: the
    worker named where dask says (``KilledWorker``), its SLURM job where ``cluster`` is ours."""
    worker = getattr(exc, "last_worker", None)
    name, address = getattr(worker, "name", None), getattr(worker, "address", None)
    where = f"dask worker {name} ({address})" if name is not None else "its dask worker"
    job = cluster.job_of(str(name)) if isinstance(cluster, SlurmJobs) and name else None
    return f"{where} was lost: {type(exc).__name__}", job


def _import_jobqueue() -> Any:
    """dask-jobqueue, imported without its side effect: its ``runner`` module replaces the
    process's SIGINT handler at import with one that calls ``sys.exit()``, so Ctrl-C would no
    longer raise ``KeyboardInterrupt`` (the loop marks trials in flight on it). The handler
    in place before the import is put back (on the main thread, where handlers live)."""
    main = threading.current_thread() is threading.main_thread()
    before = signal.getsignal(signal.SIGINT) if main else None
    try:
        import dask_jobqueue
    except ImportError as exc:
        raise ImportError("DaskRunner.slurm() needs dask-jobqueue: pip install "
                          "'trialrunner[slurm]'") from exc
    finally:
        if main and before is not None and signal.getsignal(signal.SIGINT) is not before:
            signal.signal(signal.SIGINT, before)
    return dask_jobqueue


def start_jobs(jobs: int, cores: int, memory: str, walltime: str, queue: str | None,
               kwargs: dict[str, Any]) -> SlurmJobs:
    """Build the SLURMCluster (lifetimes, no dask re-runs of lost tasks) and scale it."""
    if shutil.which("sbatch") is None:
        raise PreflightError("SLURM is not installed here: no `sbatch` on PATH (run on a "
                             "cluster's login node, or install the SLURM client)")
    dask_jobqueue = _import_jobqueue()
    import dask

    for name, value in (("jobs", jobs), ("cores", cores)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    margin = kwargs.pop("lifetime_margin", None)
    signals = check_notice_signals(kwargs.pop("notice_signals", NOTICE_SIGNALS))
    extra = list(kwargs.pop("worker_extra_args", None) or [])
    kwargs.setdefault("processes", 1)
    gpus = kwargs.pop("gpus", 0)
    if not any(a.startswith("--resources") for a in extra):  # what each worker hands out
        extra += job_resources(cores, gpus, kwargs.pop("worker_resources", None),
                               kwargs["processes"])
    if gpus:  # SLURM gives the job its devices (CUDA_VISIBLE_DEVICES: the worker's ids)
        kwargs["job_extra_directives"] = [*(kwargs.get("job_extra_directives") or []),
                                          f"--gres=gpu:{gpus}"]
    if not any(a.startswith("--lifetime") for a in extra):
        extra += lifetime_args(parse_walltime(walltime), margin)
    if not any(a.startswith("--death-timeout") for a in extra):  # a dead driver's jobs end
        extra += ["--death-timeout", f"{DEATH_TIMEOUT:g}"]
    kwargs["job_script_prologue"] = [*job_prologue(signals),
                                     *(kwargs.get("job_script_prologue") or [])]
    config = {"distributed.scheduler.allowed-failures": 0,
              "distributed.scheduler.active-memory-manager.start": False}
    with dask.config.set(config):
        SLURMCluster: Any = getattr(dask_jobqueue, "SLURMCluster")  # noqa: B009, N806
        cluster = SLURMCluster(cores=cores, memory=memory, walltime=walltime, queue=queue,
                               worker_extra_args=extra, **kwargs)
    slurm = SlurmJobs(cluster, jobs)
    try:
        slurm.start()
    except BaseException:
        slurm.close()
        raise
    return slurm


def slurm_runner(cls: Any, /, target: Any = None, *, jobs: int = 2, cores: int = 1,
                 memory: str = "2GB", walltime: str = "01:00:00", queue: str | None = None,
                 **jobqueue_kwargs: Any) -> Any:
    """``DaskRunner.slurm``: a DaskRunner on dask workers in ``jobs`` SLURM jobs of ``cores``
    cores, ``memory`` and ``walltime`` each (dask-jobqueue, the ``[slurm]`` extra), whose
    ``close()`` ends the jobs.

    A job that ends (cancelled, preempted, expired, its worker retired) is replaced; workers
    retire before the walltime (``lifetime_margin=`` seconds, default a tenth of it). A job
    that gets one of ``notice_signals=`` (default ``("SIGUSR1",)``, e.g. from
    ``#SBATCH --signal=USR1@60``) takes no new trial and pauses or requeues its running one
    (notice.py). Workers whose driver died exit after ``DEATH_TIMEOUT`` s. Each worker has
    the dask resources ``CPU`` (its cores) and, with ``gpus=N`` (``--gres=gpu:N``), ``GPU``;
    ``worker_resources={"GPU": 2}`` adds or overrides tags (docs/resources.md). Keywords
    DaskRunner takes (``max_requeues``, ``worker_timeout``, limits, ...) go to the runner,
    ``start_timeout`` (seconds for the first worker, default 300) to the wait, all others
    (``interface``, ``log_directory``, ``account``, ``job_extra_directives``, ...) to
    ``dask_jobqueue.SLURMCluster``. See docs/clusters.md.
    """
    own, rest = split_kwargs(cls, jobqueue_kwargs)
    start_timeout = float(rest.pop("start_timeout", START_TIMEOUT))
    own.setdefault("worker_timeout", start_timeout)  # a lost job's replacement may queue
    slurm = start_jobs(jobs, cores, memory, walltime, queue, rest)
    client = None
    try:
        slurm.wait_first_worker(start_timeout)
        client = slurm.client()
        runner = cls(target, client=client, **own)
    except BaseException:
        if client is not None:
            client.close()
        slurm.close()
        raise
    runner._own_client, runner._cluster = True, slurm  # its close() ends client and jobs
    return runner
