"""The dask side of ``DaskRunner`` (the driver is ``driver.py``): the task that runs each trial
in a supervised ``BlockingWorker`` the dask worker keeps between trials, so whatever the trial
does cannot kill the dask worker, and the functions run on the scheduler and the workers.

    dask worker thread                               BlockingWorker (Popen, own session)
    ------------------                               ----------------------------------
    run_trial(key, runner_id, pickled info)
      _CACHE[(runner_id, thread)], or one
      from the scattered shipment         --pipe-->  load payload once (target, shared_data)
      BlockingWorker.run(info)            --pipe-->  the evaluator, under the rlimits
                                          <-frame--  (status, cost, times, info)  or it died:
      return TrialValue (never raises)               a verdict from the evidence

Because the trial lives in a ``subprocess.Popen`` child rather than a ``multiprocessing`` one,
limits work inside daemonic dask workers (nanny-managed workers are daemonic, and pynisher cannot
start processes there). A ``BlockingWorker`` is cached per runner and per dask worker thread;
``close_runner`` ends a runner's processes on a worker. The task does not depend on the scattered
shipment (a dependency costs the scheduler work on every trial): it reads the worker's broadcast
copy when it starts a process, and returns ``Unrun`` if the worker has none (a worker that joined
later), so that the runner sends that one trial again with the shipment as a dependency.

The nanny watches only the dask worker's own memory, not its children's; so a trial is held to
its share of the dask worker's ``memory_limit`` by the watchdog (runner/_worker/watchdog.py,
MEMORYOUT beyond it), as dask would hold a task running in the worker itself.
"""

from __future__ import annotations

import pickle
import threading
from collections import OrderedDict
from typing import Any

from runner._core import verdicts
from runner._core.limits import Limits
from runner._core.returns import Objectives
from runner._worker.blocking import BlockingWorker
from runner.errors import WorkerStartError
from trials import TrialValue

__all__ = ["Shipment", "Unrun", "allowed_failures_hold", "cached_pids", "close_runner",
           "drop_entry", "run_trial", "worker_entry", "worker_probe"]

MAX_CACHED = 4
"""Idle ``BlockingWorker``es one dask worker thread keeps (one per runner sharing the cluster);
the least recently used beyond this are closed, so a driver that died without ``close()``
leaves at most this many idle processes behind per thread."""

_LOCK = threading.Lock()
_CACHE: OrderedDict[tuple[str, int], tuple[BlockingWorker, Any]] = OrderedDict()
_CLOSED: OrderedDict[str, None] = OrderedDict()  # closed runners: late tasks must not restart them


class Shipment:
    """What a runner scatters once to every dask worker: the cloudpickled evaluator with the
    shared data (opaque bytes, unpickled only inside the ``BlockingWorker``), plus the plain
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


class Unrun:
    """What a task returns when it did not run the trial: the runner was closed (``address``
    None), or this dask worker holds no copy of the shipment (the runner then sends the trial
    again with the shipment as a dependency, pinned to ``address``)."""

    __slots__ = ("address",)

    def __init__(self, address: str | None) -> None:
        self.address = address

    def __getstate__(self) -> str | None:
        return self.address

    def __setstate__(self, state: str | None) -> None:
        self.address = state


def _local_shipment(key: str) -> Shipment | None:
    """The scattered shipment if this dask worker holds a copy (it does after the broadcast)."""
    try:
        from distributed import get_worker

        value = get_worker().data.get(key)
    except Exception:  # not in a dask worker, or the data store refused
        return None
    return value if isinstance(value, Shipment) else None


def _worker_address() -> str | None:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except Exception:
        return None


def run_trial(key: str, runner_id: str, info: bytes, shipment: Shipment | None = None,
              waits: bool = False, need: Any = None) -> TrialValue | Unrun:
    """The dask task: evaluate the pickled ``TrialInfo`` ``info`` in this thread's cached
    ``BlockingWorker`` of runner ``runner_id``, starting one from the shipment scattered under
    ``key`` (or passed in) if needed; returns the trial's value whatever the trial did, or
    ``Unrun``. (The info travels pickled so the scheduler, which unpickles task arguments,
    neither needs this package nor spends time rebuilding it.) ``waits``: each report of the
    trial waits for the driver's decision (runner/_backends/dask/reports.py); ``need``: the
    trial's cores, devices and memory, given specific ids of this worker's (devices.py)."""
    entry = worker_entry(shipment if shipment is not None else key, runner_id)
    if isinstance(entry, Unrun):
        return entry
    worker, crash_cost = entry
    from runner._backends.dask.devices import run_with_share
    from runner._backends.dask.reports import running, sink

    task, on_report = sink(runner_id, waits)
    try:
        with running(task, worker):
            return run_with_share(worker, pickle.loads(info), need, on_report,
                                  waits and on_report is not None)
    except WorkerStartError as exc:
        drop_entry(runner_id, entry)
        return verdicts.not_run(crash_cost, "the trial's worker process could not start on "
                                f"this dask worker: {exc}", exc)


def worker_entry(shipment: Shipment | str, runner_id: str) -> tuple[BlockingWorker, Any] | Unrun:
    """``(BlockingWorker, crash cost)`` of runner ``runner_id`` for this dask worker thread,
    made from ``shipment`` (or the broadcast copy scattered under that key) if there is none
    yet; ``Unrun`` if the runner was closed or this dask worker holds no shipment."""
    slot = (runner_id, threading.get_ident())
    with _LOCK:
        if runner_id in _CLOSED:
            return Unrun(None)
        entry = _CACHE.get(slot)
        if entry is not None:
            _CACHE.move_to_end(slot)
            return entry
    found = _local_shipment(shipment) if isinstance(shipment, str) else shipment
    if found is None:
        return Unrun(_worker_address())
    entry = (BlockingWorker(found.payload, found.objectives, found.limits,
                            budget=_memory_budget()), found.objectives.crash_cost)
    with _LOCK:  # the process starts lazily, in run(): nothing to undo if we were closed
        if runner_id in _CLOSED:
            return Unrun(None)
        _CACHE[slot] = entry
        evicted = _evict_locked()
    for old, _ in evicted:
        old.close()
    return entry


def drop_entry(runner_id: str, entry: tuple[BlockingWorker, Any]) -> None:
    """Close ``entry``, this thread's worker of runner ``runner_id``, and forget it."""
    slot = (runner_id, threading.get_ident())
    with _LOCK:
        if _CACHE.get(slot) is entry:
            del _CACHE[slot]
    entry[0].close()


# -- the dask worker's memory budget, applied to the trials' processes -------------------------

def _memory_budget() -> tuple[int, str] | None:
    """A trial's share of this dask worker's memory_limit (limit x the nanny's terminate
    fraction / threads), as ``(bytes, description)``: the nanny measures only the dask worker
    process, not the trial's, so the watchdog holds the trial's tree to it (MEMORYOUT beyond)."""
    try:
        import dask
        from distributed import get_worker

        dask_worker = get_worker()
        limit = dask_worker.memory_manager.memory_limit
        fraction = dask.config.get("distributed.worker.memory.terminate")
        threads = max(1, int(dask_worker.state.nthreads))
    except Exception:
        return None
    if not limit or not fraction:
        return None
    budget = int(limit * float(fraction) / threads)
    return budget, (f"its share of the dask worker's memory_limit ({budget / 2**20:.0f} MB: "
                    f"{float(fraction):.0%} of {limit / 2**20:.0f} MB over {threads} "
                    f"thread{'s' * (threads > 1)})")


def _evict_locked() -> list[tuple[BlockingWorker, Any]]:
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
    """Close every ``BlockingWorker`` of runner ``key`` on this dask worker (a trial running in
    one comes back CANCELLED) and refuse its late tasks; returns how many were closed."""
    with _LOCK:
        _CLOSED[key] = None
        while len(_CLOSED) > 256:
            _CLOSED.popitem(last=False)
        mine = [slot for slot in _CACHE if slot[0] == key]
        entries = [_CACHE.pop(slot) for slot in mine]
    for worker, _ in entries:
        worker.close()
    return len(entries)


def cached_pids(key: str) -> list[int]:
    """The pids of runner ``key``'s worker processes on this dask worker (tests, diagnostics)."""
    with _LOCK:
        return [w.pid for (k, _), (w, _) in _CACHE.items() if k == key and w.pid is not None]


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
            importlib.import_module("runner._backends.dask.task")
        except Exception as exc:
            return (f"it cannot import this package ({exc!r}); install trialrunner in the "
                    "workers' Python environment")
        if memory_limited and not sys.platform.startswith("linux"):
            return f"memory_limit cannot be enforced on {sys.platform}: it needs Linux's RLIMIT_AS"
        return None

    return probe


