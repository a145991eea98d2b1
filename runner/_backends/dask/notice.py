"""Preemption notices: a batch job told it will be killed soon (SLURM's ``--signal=USR1@60``,
``scancel --full --signal=USR1 JOB``) saves its work instead of losing it.

    job script (DaskRunner.slurm): export TRIALRUNNER_NOTICE_SIGNALS=SIGUSR1; trap '' USR1
      | the batch shell and the dask nanny survive the signal (ignored, inherited)
    pilot (pilot.py) on the dask worker: install(worker) puts a handler on the worker's event
      | loop (the process's main thread) that records the signal; the pilot sees it within
      | POLL, drains (no new trial, the waiting one handed back) and tells the driver "notice"
    supervised trial processes (runner/_worker/child.py) ignore the signals the variable
      | names (SIGTERM excepted), so ``--full`` does not kill the trial itself
    driver (stream.py -> Notices.on_notice): the worker takes no new pilot; its running trial
      - takes ``checkpoint``: told to stop at its next report; when it comes back STOPPED it
        is requeued (the checkpoint is kept: the next run resumes from the saved step)
      - does not: its process is killed now and the trial requeued at once
      either way journaled as interrupted, reason "preemption notice (SIG...)" and the job id,
      never a failure and never counted against ``max_requeues``.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runner._backends.dask.fleet import Pilot, StreamHost
    from runner._backends.dask.flight import Flight

__all__ = ["NOTICE_ENV", "PREEMPTION", "Notices", "check_notice_signals", "install",
           "job_prologue", "noticed"]

NOTICE_ENV = "TRIALRUNNER_NOTICE_SIGNALS"
"""Environment variable of a job: the comma-separated signal names that count as a notice."""
PREEMPTION = "preemption notice"
"""The start of the reason journaled for a run a notice interrupted."""

_received: list[str] = []  # the notices this process received (signal names)
_installed: list[bool] = []


def check_notice_signals(value: Any) -> tuple[str, ...]:
    """``value`` (signal names like ``"SIGUSR1"``, or ``"USR1"``) as full names."""
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise TypeError(f"notice_signals must be a sequence of signal names such as "
                        f"('SIGUSR1',), got {value!r}")
    out = []
    for name in value:
        full = name if isinstance(name, str) and name.startswith("SIG") else f"SIG{name}"
        if not isinstance(name, str) or full in ("SIGKILL", "SIGSTOP") \
                or not isinstance(getattr(signal, full, None), signal.Signals):
            raise ValueError(f"notice_signals: {name!r} is not a signal a job can catch "
                             "(e.g. 'SIGUSR1', 'SIGUSR2', 'SIGTERM')")
        out.append(full)
    return tuple(dict.fromkeys(out))


def job_prologue(signals: tuple[str, ...]) -> list[str]:
    """Job script lines: name the notice signals for the job's processes, and keep the batch
    shell (and so the dask nanny, which inherits it) from dying of them."""
    if not signals:
        return []
    return [f"export {NOTICE_ENV}={','.join(signals)}",
            "trap '' " + " ".join(s[3:] for s in signals)]


def _signals() -> list[signal.Signals]:
    names = os.environ.get(NOTICE_ENV, "")
    return [getattr(signal, n) for n in names.split(",") if isinstance(
        getattr(signal, n, None), signal.Signals)]


def install(dask_worker: Any) -> None:
    """Have this process record the notice signals (once; a no-op without any named, or
    where the dask worker's event loop is not the main thread's)."""
    if _installed or not _signals():
        return
    _installed.append(True)
    dask_worker.loop.add_callback(_install)


def _install() -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in _signals():
        previous = signal.getsignal(sig)

        def handler(signum: int, frame: Any, previous: Any = previous) -> None:
            _received.append(signal.Signals(signum).name)
            if callable(previous):  # e.g. dask's own SIGTERM handler
                previous(signum, frame)

        signal.signal(sig, handler)


def noticed() -> str | None:
    """The first notice signal this process received, if any."""
    return _received[0] if _received else None


# -- the driver's side (the pilot fleet, stream.py, owns one; on the client's event loop) -------

class Notices:
    """The notices the driver heard: the workers whose job got one (they take no new pilot)
    and what becomes of their trials. Given the fleet's host (``StreamHost``), the runner's
    lock, how to read its cluster (a ``SlurmJobs``, set once the jobs run, names the job) and
    how to write to a pilot."""

    def __init__(self, host: StreamHost, lock: threading.Lock, cluster: Callable[[], Any],
                 send: Callable[[Pilot, dict[str, Any]], None]) -> None:
        self._host, self._lock, self._cluster, self._send = host, lock, cluster, send
        self.workers: set[str] = set()  # dask worker addresses whose job got a notice

    def on_notice(self, pilot: Pilot, signame: str) -> None:
        """``pilot``'s worker got a notice: it takes no new trial or pilot; its running trial
        is paused (it takes ``checkpoint``: stopped at its next report, then requeued) or
        requeued now (its process killed)."""
        from runner._backends.dask.slurm import SlurmJobs
        from runner._core.checkpoints import checkpoint_dir

        pilot.draining = True
        self.workers.add(pilot.worker)
        cluster, name = self._cluster(), pilot.worker_name
        job = cluster.job_of(str(name)) if isinstance(cluster, SlurmJobs) and name else None
        reason = f"{PREEMPTION} ({signame})"
        with self._lock:
            running = sorted(pilot.flights.items())[:1]  # those waiting come back unrun
        for n, flight in running:
            if checkpoint_dir(flight.info) is not None:
                flight.notice = (reason, job)
                self._send(pilot, {"op": "stop", "n": n})
                continue
            with self._lock:
                pilot.flights.pop(n, None)
            self._send(pilot, {"op": "abandon", "n": n})
            self._requeue(flight, reason, job)

    def paused(self, flight: Flight, value: Any) -> bool:
        """Whether ``value`` ends a run a notice paused (STOPPED): then ``flight`` is
        requeued."""
        from trials import StatusType

        if flight.notice is None or getattr(value, "status", None) is not StatusType.STOPPED:
            return False
        self._requeue(flight, *flight.notice)
        return True

    def _requeue(self, flight: Flight, reason: str, job: str | None) -> None:
        """``flight``, paused or abandoned for a notice: to the front of the queue, journaled
        as interrupted, no requeue of ``max_requeues`` spent."""
        with self._lock:
            if flight.done:
                return
            flight.losses += 1
            flight.notices += 1
            flight.notice = None
            self._host._put_back(flight)
            self._host._interrupted(flight.info, flight.losses, reason, job)
        self._host._dispatch()
