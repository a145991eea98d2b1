"""The dask-worker side of ``DaskRunner``: run each trial in a supervised ``WorkerProcess`` that
the dask worker keeps between trials, so whatever the trial does cannot kill the dask worker.

    dask worker thread                               WorkerProcess (Popen, own session)
    ------------------                               ----------------------------------
    run_trial(shipment, key, info)
      _CACHE[(key, thread)] or start one  --pipe-->  load payload once (target, shared_data)
      WorkerProcess.run(info)             --pipe-->  run_wrapper under the rlimits
                                          <--pipe--  (status, cost, times, info)  or it died:
      return TrialValue (never raises)               CRASHED/TIMEOUT from the evidence

Because the trial lives in a ``subprocess.Popen`` child rather than a ``multiprocessing`` one,
limits work inside daemonic dask workers (nanny-managed workers are daemonic, and pynisher cannot
start processes there). A ``WorkerProcess`` is cached per runner (the key of its scattered
shipment) and per dask worker thread; ``close_runner`` ends a runner's processes on a worker.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from typing import Any

from runner._limits import Limits
from runner._outcome import Objectives
from runner._supervisor import WorkerProcess
from runner.errors import WorkerStartError
from trials import StatusType, TrialInfo, TrialValue

__all__ = ["Shipment", "allowed_failures_hold", "close_runner", "run_trial", "worker_probe"]

MAX_CACHED = 4
"""Idle ``WorkerProcess``es one dask worker thread keeps (one per runner sharing the cluster);
the least recently used beyond this are closed, so a driver that died without ``close()``
leaves at most this many idle processes behind per thread."""

_LOCK = threading.Lock()
_CACHE: OrderedDict[tuple[str, int], WorkerProcess] = OrderedDict()
_CLOSED: deque[str] = deque(maxlen=256)  # runners that closed: late tasks must not restart them


class Shipment:
    """What a runner scatters once to every dask worker: the cloudpickled evaluator with the
    shared data (opaque bytes, unpickled only inside the ``WorkerProcess``), plus the plain
    objectives and limits the supervisor needs."""

    __slots__ = ("payload", "objectives", "limits")

    def __init__(self, payload: bytes, objectives: Objectives, limits: Limits) -> None:
        self.payload = payload
        self.objectives = objectives
        self.limits = limits

    def __getstate__(self) -> tuple[bytes, Objectives, Limits]:
        return self.payload, self.objectives, self.limits

    def __setstate__(self, state: tuple[bytes, Objectives, Limits]) -> None:
        self.payload, self.objectives, self.limits = state

    def __sizeof__(self) -> int:  # what dask's memory accounting sees
        return len(self.payload) + 256


def _plain(status: StatusType, error: str, crash_cost: Any, start: float) -> TrialValue:
    now = time.time()
    return TrialValue(cost=crash_cost, time=now - start, status=status, starttime=start,
                      endtime=now, additional_info={"error": error})


def run_trial(shipment: Shipment, key: str, info: TrialInfo) -> TrialValue:
    """The dask task: evaluate ``info`` in this thread's cached ``WorkerProcess``; returns the
    trial's value for whatever the trial did (it only raises if this dask worker is broken)."""
    start = time.time()
    crash_cost = shipment.objectives.crash_cost
    slot = (key, threading.get_ident())
    with _LOCK:
        if key in _CLOSED:
            return _plain(StatusType.CANCELLED, "cancelled: the runner was closed", crash_cost,
                          start)
        worker = _CACHE.get(slot)
        evicted: list[WorkerProcess] = []
        if worker is None:
            worker = WorkerProcess(shipment.payload, shipment.objectives, shipment.limits)
            _CACHE[slot] = worker
            evicted = _evict_locked()
        else:
            _CACHE.move_to_end(slot)
    for old in evicted:
        old.close()
    try:
        return worker.run(info)
    except WorkerStartError as exc:
        with _LOCK:
            if _CACHE.get(slot) is worker:
                del _CACHE[slot]
        worker.close()
        return _plain(StatusType.CRASHED, f"the trial's worker process could not start on "
                      f"this dask worker: {exc}", crash_cost, start)


def _evict_locked() -> list[WorkerProcess]:
    """Drop the least recently used entries beyond ``MAX_CACHED`` per thread (lock held)."""
    per_thread: dict[int, int] = {}
    for _, ident in _CACHE:
        per_thread[ident] = per_thread.get(ident, 0) + 1
    evicted = []
    for slot in list(_CACHE):
        if per_thread[slot[1]] <= MAX_CACHED:
            continue
        per_thread[slot[1]] -= 1
        evicted.append(_CACHE.pop(slot))
    return evicted


def close_runner(key: str) -> int:
    """Close every ``WorkerProcess`` of runner ``key`` on this dask worker (a trial running in
    one comes back CANCELLED) and refuse its late tasks; returns how many were closed."""
    with _LOCK:
        _CLOSED.append(key)
        mine = [slot for slot in _CACHE if slot[0] == key]
        workers = [_CACHE.pop(slot) for slot in mine]
    for worker in workers:
        worker.close()
    return len(workers)


def cached_pids(key: str) -> list[int]:
    """The pids of runner ``key``'s worker processes on this dask worker (tests, diagnostics)."""
    with _LOCK:
        return [w.pid for (k, _), w in _CACHE.items() if k == key and w.pid is not None]


# -- functions shipped by value: the scheduler (and a broken worker) need not have this package --


def allowed_failures_hold() -> Any:
    """A function for ``run_on_scheduler``: hold or release ``allowed_failures = 0`` for one
    runner, restoring the scheduler's own value when the last runner using it releases it.
    Made in a closure so cloudpickle ships it by value."""

    def hold(runner_id: str, on: bool, dask_scheduler: Any = None) -> int:
        holders = getattr(dask_scheduler, "_trialrunner_holders", None)
        if holders is None:
            holders = dask_scheduler._trialrunner_holders = {}
        if on:
            if not holders:
                dask_scheduler._trialrunner_saved = dask_scheduler.allowed_failures
            holders[runner_id] = True
            dask_scheduler.allowed_failures = 0
        elif holders.pop(runner_id, None) and not holders:
            dask_scheduler.allowed_failures = dask_scheduler._trialrunner_saved
        return int(dask_scheduler.allowed_failures)

    return hold


def worker_probe() -> Any:
    """A function for ``client.run``: why this dask worker cannot run the trials (it cannot
    import this package, or a memory limit needs Linux), or None. Shipped by value."""

    def probe(memory_limited: bool) -> str | None:
        import importlib
        import sys

        try:
            importlib.import_module("runner._dask_task")
        except Exception as exc:
            return (f"it cannot import this package ({exc!r}); install trialrunner in the "
                    "workers' Python environment")
        if memory_limited and not sys.platform.startswith("linux"):
            return f"memory_limit cannot be enforced on {sys.platform}: it needs Linux's RLIMIT_AS"
        return None

    return probe
