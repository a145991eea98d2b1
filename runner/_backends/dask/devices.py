"""Resources per trial on dask: a trial's need (``trial_resources``, a callable of the
``TrialInfo``, or ``info.additional_info["resources"]``) as dask worker-resource tags, the
check at submit against the largest worker, and, inside each dask worker, the specific core
and device ids a trial gets out of what that worker was started with.

    driver: need (cpu, gpu, memory MB) ──> tags {"CPU": cpu, "GPU": gpu, "MEMORY": bytes}
            refused at submit if no worker has that much of a tag (names both numbers)
    dask:   places the task (or the driver a pilot's trial) where the tags are free
    worker: ResourcePlan of this dask worker (``--resources GPU=2`` -> device ids) ──>
            share (specific ids) ──> BlockingWorker.run(info, resources=share) ──> stamped

A dask worker's device ids are its ``CUDA_VISIBLE_DEVICES`` (a SLURM job's own devices) when
it lists enough, else ``0 .. GPU-1``; its cores are bound only when its ``CPU`` tag equals the
cores it may run on (a job's or a ``taskset``'s), else only the thread counts are set.
"""

from __future__ import annotations

import math
import os
import threading
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

from runner._backends.allocation import ResourcePlan, TrialResources, stamp
from runner._backends.allocation import _trial_name as trial_name
from runner._backends.dask.flight import check_resources
from runner._core.resources import (
    Assignment,
    Need,
    TrialNeeds,
    machine_capacity,
    parse_capacity,
    parse_need,
)
from trials import TrialInfo, TrialValue

__all__ = ["TAGS", "DaskNeeds", "WorkerSpec", "check_fits", "split_capacity", "is_need", "job_resources", "largest",
           "run_with_share", "tags_of"]

TAGS = {"cpu": "CPU", "gpu": "GPU", "memory": "MEMORY"}
"""A need's keys and the dask worker resources they take (``MEMORY`` in bytes, as dask's
docs write it: ``dask worker ADDR --resources "GPU=2 CPU=8 MEMORY=64e9"``)."""
_MB = 2**20


def is_need(value: Any) -> bool:
    """Whether ``additional_info["resources"]`` is a need (keys ``cpu``/``gpu``/``memory``,
    any case) rather than raw dask tags (the old meaning, deprecated)."""
    return isinstance(value, Mapping) and all(str(k).lower() in TAGS for k in value)


def tags_of(need: Need) -> dict[str, float] | None:
    """The dask resource tags a trial of ``need`` takes (``None``: none)."""
    tags = {}
    if need.cpu:
        tags["CPU"] = float(need.cpu)
    if need.gpu:
        tags["GPU"] = float(need.gpu)
    if need.memory:
        tags["MEMORY"] = float(need.memory) * _MB
    return tags or None


def largest(workers: Iterable[Mapping[str, Any]]) -> dict[str, tuple[float, float, int]]:
    """Per tag: (the largest worker's amount, the sum over workers, how many have it)."""
    out: dict[str, tuple[float, float, int]] = {}
    for w in workers:
        for tag, amount in (w.get("resources") or {}).items():
            top, total, n = out.get(tag, (0.0, 0.0, 0))
            out[tag] = (max(top, float(amount)), total + float(amount), n + 1)
    return out


def _amount(tag: str, amount: float) -> str:
    if tag == "MEMORY":
        return f"{amount / _MB:g} MB of memory"
    if tag in ("CPU", "GPU"):
        return f"{amount:g} {tag}{'s' * (amount != 1)}"
    return f"{tag}={amount:g}"


def check_fits(tags: Mapping[str, float] | None, top: Mapping[str, tuple[float, float, int]],
               n_workers: int, who: str) -> None:
    """``ValueError`` naming both numbers if no worker of the ``n_workers`` read has enough of
    a tag: the trial would wait for ever (nothing when no worker is known yet)."""
    if not tags or not n_workers:
        return
    for tag, amount in tags.items():
        have, total, n = top.get(tag, (0.0, 0.0, 0))
        if amount > have + 1e-9:
            where = (f"the largest dask worker has {_amount(tag, have)} ({tag}={have:g}; "
                     f"{total:g} in all over {n} worker{'s' * (n != 1)})" if n else
                     f"none of the {n_workers} dask workers has the resource {tag}")
            raise ValueError(
                f"{who} needs {_amount(tag, amount)} but {where}; a trial runs on one "
                f"worker: ask for fewer, or start workers with `dask worker ADDR --resources "
                f"{tag}=N`")


WorkerSpec = tuple[dict[str, float], dict[str, str]]
"""One worker of DaskRunner's own LocalCluster: its dask resources and its environment."""


def split_capacity(resources: Any, client: Any, n_workers: int | None
                   ) -> tuple[Any, list[WorkerSpec] | None]:
    """``resources=`` in the runner vocabulary (keys ``cpu``/``gpu``/``memory``: what the runner
    has, DESIGN.md) shared out over the workers of DaskRunner's own LocalCluster: each worker
    started with its part as dask resources and its device ids in ``CUDA_VISIBLE_DEVICES`` (so
    the ids a trial gets are the runner's). Returns ``(raw tags or None, worker specs or
    None)``; other ``resources`` are the deprecated raw tags, returned as they are."""
    if not (isinstance(resources, Mapping) and resources
            and all(k in TAGS for k in resources)):
        return resources, None
    if client is not None:
        raise ValueError(
            "DaskRunner(resources=...) says what the runner has and applies to the LocalCluster "
            "it starts itself (client=None); a cluster's workers say what they have (`dask "
            "worker ADDR --resources \"GPU=2 CPU=8\"`): give trial_resources= only")
    cap = parse_capacity(resources)
    n = n_workers or len(machine_capacity().cpus)  # LocalCluster's default: a worker per core

    def part(ids: tuple[Any, ...], i: int) -> tuple[Any, ...]:
        size, extra = divmod(len(ids), n)
        start = i * size + min(i, extra)
        return ids[start:start + size + (i < extra)]

    specs: list[WorkerSpec] = []
    for i in range(n):
        tags: dict[str, float] = {}
        env: dict[str, str] = {}
        if "gpu" in resources:
            gpus = part(cap.gpus, i)
            tags["GPU"] = float(len(gpus))
            env["CUDA_VISIBLE_DEVICES"] = ",".join(gpus)
        if "cpu" in resources:
            tags["CPU"] = float(len(part(cap.cpus, i)))
        if "memory" in resources and cap.memory is not None:
            tags["MEMORY"] = cap.memory * _MB / n
        specs.append((tags, env))
    return None, specs


class DaskNeeds:
    """Driver side: the tags and the need of each trial, and the workers' largest amounts
    (read by the runner's refresh) that a need is checked against at submit."""

    def __init__(self, resources: Any, trial_resources: TrialResources) -> None:
        if resources is not None:
            if trial_resources is not None:
                raise ValueError("give DaskRunner trial_resources= (what each trial needs) "
                                 "or the deprecated resources= (raw dask tags), not both")
            warnings.warn(
                "DaskRunner(resources=...) as raw dask resource tags per trial is deprecated "
                "and will be removed in the next release: use trial_resources={'gpu': 1} "
                "(what each trial needs; it gets specific device ids within its dask worker)",
                DeprecationWarning, stacklevel=3)
        self.raw: dict[str, float] | None = check_resources(resources, "resources")
        self.needs = None if trial_resources is None else TrialNeeds(trial_resources)
        self.default: Need = self.needs.default if self.needs is not None else Need()
        self.tags = self.raw if self.needs is None else tags_of(self.default)
        """The tags of a trial of the default size (``None``: a worker thread each)."""
        self._default: Any = tuple(self.default) if self.needs and self.tags else None
        self.per_worker = resources is not None or trial_resources is not None
        self._top: dict[str, tuple[float, float, int]] = {}
        self._n_workers = 0

    def saw(self, workers: Iterable[Mapping[str, Any]]) -> None:
        """The workers the runner read last (their resources)."""
        listed = list(workers)
        self._top, self._n_workers = largest(listed), len(listed)

    def check_default(self) -> None:
        """At construction, once workers were read: ``ValueError`` if none fits the default."""
        if self.needs is not None:
            check_fits(self.tags, self._top, self._n_workers, "trial_resources")

    def of(self, info: TrialInfo) -> tuple[dict[str, float] | None,
                                           tuple[int, float, float] | None]:
        """``(dask tags, need)`` of ``info``; ``ValueError`` if no worker read can fit it."""
        extra = info.additional_info
        if "resources" in extra:
            given = extra["resources"]
            what = "the trial's additional_info['resources']"
            if not is_need(given):
                warnings.warn(
                    f"{what} = {given!r} as raw dask resource tags is deprecated: give what the "
                    "trial needs as {'cpu': n, 'gpu': n, 'memory': MB}", DeprecationWarning,
                    stacklevel=3)
                raw = check_resources(given, "additional_info['resources']")
                check_fits(raw, self._top, self._n_workers, trial_name(info))
                return raw, None
            need = parse_need(given, what)
        elif self.needs is None:
            return self.raw, None
        else:
            need = self.needs.of(info)
        if need is self.default:  # checked at construction; made once
            return self.tags, self._default
        tags = tags_of(need)
        if tags is not None:
            check_fits(tags, self._top, self._n_workers, trial_name(info))
        return tags, (tuple(need) if tags is not None else None)  # type: ignore[return-value]


def job_resources(cores: int, gpus: Any, extra: Mapping[str, Any] | None,
                  processes: int) -> list[str]:
    """``dask worker`` options giving each worker of a batch job of ``cores`` cores and
    ``gpus`` devices (split over ``processes`` workers) the matching resources, so that
    ``trial_resources`` hold there as anywhere; ``extra`` adds or overrides tags."""
    if isinstance(gpus, bool) or not isinstance(gpus, int) or gpus < 0:
        raise ValueError(f"gpus must be an int >= 0 (devices per job), got {gpus!r}")
    tags: dict[str, float] = {"CPU": float(cores // max(1, processes))}
    if gpus:
        if processes != 1:
            raise ValueError(f"gpus={gpus} needs processes=1 (one dask worker per job, which "
                             f"hands out the job's devices), got processes={processes}")
        tags["GPU"] = float(gpus)
    tags.update(check_resources(extra, "worker_resources") or {})
    return ["--resources", ",".join(f"{k}={v:g}" for k, v in tags.items())]


# -- inside a dask worker ----------------------------------------------------------------------

_LOCK = threading.Lock()
_FREED = threading.Condition(_LOCK)  # a trial waits on it only for a fractional share
_WAITING = [0]
_WORKERS: dict[str, _Worker] = {}  # dask worker address -> what it has and what is taken


class _Worker:
    """One dask worker's resources as a ResourcePlan (made once from its tags), its name,
    and whether its core ids are cores of its own (bound) or only slots (not bound)."""

    def __init__(self, name: str, tags: Mapping[str, float]) -> None:
        self.name = name
        has: dict[str, Any] = {"cpu": [], "gpu": [], "memory": None}
        gpus = math.ceil(float(tags.get("GPU", 0)) - 1e-9)
        if gpus:
            visible = [d.strip() for d in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")
                       if d.strip()]
            has["gpu"] = visible[:gpus] if len(visible) >= gpus else [str(i) for i in
                                                                       range(gpus)]
        cpus = int(tags.get("CPU", 0))
        own = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
        self.binds = bool(cpus) and len(own) == cpus
        if cpus:
            has["cpu"] = own if self.binds else list(range(cpus))
        if "MEMORY" in tags:
            has["memory"] = float(tags["MEMORY"]) / _MB
        self.plan = ResourcePlan(has, None)
        self._unbound: dict[Assignment, Any] = {}
        self._needs: dict[tuple[int, float, float], Need | None] = {}

    def need(self, wired: tuple[int, float, float]) -> Need | None:
        """The need as sent, or ``None`` if this worker can never give it (dask would not
        place such a trial here; if it does, the trial runs without a share, not never)."""
        try:
            return self._needs[wired]
        except KeyError:
            need: Need | None = Need(*wired)
            try:
                self.plan.allocator.check(need, "the trial")  # type: ignore[arg-type]
            except ValueError:
                need = None
            if len(self._needs) > 4096:
                self._needs.clear()
            self._needs[wired] = need
            return need

    def wire(self, share: Assignment) -> Any:
        """The share as the worker process applies it; core slots are not bound."""
        data = self.plan.wire(share)
        if data is None or self.binds or not data[0]:
            return data
        got = self._unbound.get(share)
        if got is None:
            got = self._unbound[share] = ((), data[1], data[2])
        return got


_LAST: list[Any] = [None, None]  # the dask worker last asked about, and its _Worker


def _this_worker(dask_worker: Any) -> _Worker:
    if dask_worker is None:
        from distributed import get_worker

        dask_worker = get_worker()
    if _LAST[0] is dask_worker:
        return _LAST[1]  # type: ignore[no-any-return]
    address = str(dask_worker.address)
    found = _WORKERS.get(address)
    if found is None:
        found = _WORKERS[address] = _Worker(str(dask_worker.name),
                                            dask_worker.state.total_resources)
    _LAST[:] = [dask_worker, found]
    return found


def run_with_share(worker: Any, info: TrialInfo, need: tuple[int, float, float] | None,
                   on_report: Any = None, wait: bool = False,
                   dask_worker: Any = None) -> TrialValue:
    """Run ``info`` in ``worker`` (a ``BlockingWorker``) with specific ids out of this dask
    worker's resources for ``need``; the assignment lands in ``additional_info["resources"]``
    with the dask worker's name (``dask_worker``: the one of a pilot, whose trial thread is
    not dask's). Without a need, a plain run."""
    wanted = None
    if need is not None:
        with _LOCK:
            mine = _this_worker(dask_worker)
            wanted = mine.need(tuple(need))  # type: ignore[arg-type]  # (a list off the wire)
            if wanted is not None:
                # dask (or the driver) starts a trial only where its tags are free; a
                # fractional share may find the devices split unevenly: it waits for one
                while (share := mine.plan.allocator.allocate(wanted)) is None:
                    _WAITING[0] += 1
                    _FREED.wait(1.0)
                    _WAITING[0] -= 1
                data = mine.wire(share)
    if wanted is None:
        return worker.run(info, on_report, wait)  # type: ignore[no-any-return]
    try:
        value: TrialValue = worker.run(info, on_report, wait, data)
    finally:
        with _LOCK:
            mine.plan.give_back(share)
            if _WAITING[0]:
                _FREED.notify_all()
    stamp(value, share)
    record = value.additional_info.get("resources")
    if isinstance(record, dict):
        record["worker"] = mine.name
    return value
