"""The dask side of ``DaskRunner`` (its bookkeeping is in ``_dask.py``): the task that runs each
trial in a supervised ``WorkerProcess`` the dask worker keeps between trials, so whatever the
trial does cannot kill the dask worker; the functions run on the scheduler and the workers; and
connecting to dask and reading what it reports.

    dask worker thread                               WorkerProcess (Popen, own session)
    ------------------                               ----------------------------------
    run_trial(key, runner_id, pickled info)
      _CACHE[(runner_id, thread)], or one
      from the scattered shipment         --pipe-->  load payload once (target, shared_data)
      WorkerProcess.run(info)             --pipe-->  run_wrapper under the rlimits
                                          <--pipe--  (status, cost, times, info)  or it died:
      return TrialValue (never raises)               CRASHED/TIMEOUT from the evidence

Because the trial lives in a ``subprocess.Popen`` child rather than a ``multiprocessing`` one,
limits work inside daemonic dask workers (nanny-managed workers are daemonic, and pynisher cannot
start processes there). A ``WorkerProcess`` is cached per runner and per dask worker thread;
``close_runner`` ends a runner's processes on a worker. The task does not depend on the scattered
shipment (a dependency costs the scheduler work on every trial): it reads the worker's broadcast
copy when it starts a process, and returns ``Unrun`` if the worker has none (a worker that joined
later), so that the runner sends that one trial again with the shipment as a dependency.

The nanny watches only the dask worker's own memory, not its children's; so a trial is held to
its share of the dask worker's ``memory_limit`` by a watch thread here (MEMORYOUT beyond it), as
dask would hold a task running in the worker itself.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from concurrent.futures import CancelledError
from typing import Any

from runner._core.limits import Limits
from runner._core.returns import Objectives
from runner._worker.process import WorkerProcess
from runner.errors import PreflightError, WorkerStartError
from trials import StatusType, TrialValue

__all__ = ["Shipment", "Unrun", "allowed_failures_hold", "close_runner", "connect",
           "is_worker_loss", "run_trial", "slots", "worker_probe"]

MAX_CACHED = 4
"""Idle ``WorkerProcess``es one dask worker thread keeps (one per runner sharing the cluster);
the least recently used beyond this are closed, so a driver that died without ``close()``
leaves at most this many idle processes behind per thread."""

_LOCK = threading.Lock()
_CACHE: OrderedDict[tuple[str, int], tuple[WorkerProcess, Any]] = OrderedDict()
_CLOSED: OrderedDict[str, None] = OrderedDict()  # closed runners: late tasks must not restart them


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


def run_trial(key: str, runner_id: str, info: bytes,
              shipment: Shipment | None = None) -> TrialValue | Unrun:
    """The dask task: evaluate the pickled ``TrialInfo`` ``info`` in this thread's cached
    ``WorkerProcess`` of runner ``runner_id``, starting one from the shipment scattered under
    ``key`` (or passed in) if needed; returns the trial's value whatever the trial did, or
    ``Unrun``. (The info travels pickled so the scheduler, which unpickles task arguments,
    neither needs this package nor spends time rebuilding it.)"""
    slot = (runner_id, threading.get_ident())
    with _LOCK:
        if runner_id in _CLOSED:
            return Unrun(None)
        entry = _CACHE.get(slot)
        if entry is not None:
            _CACHE.move_to_end(slot)
    if entry is None:
        shipment = shipment if shipment is not None else _local_shipment(key)
        if shipment is None:
            return Unrun(_worker_address())
        entry = (WorkerProcess(shipment.payload, shipment.objectives, shipment.limits),
                 shipment.objectives.crash_cost)
        with _LOCK:  # the process starts lazily, in run(): nothing to undo if we were closed
            if runner_id in _CLOSED:
                return Unrun(None)
            _CACHE[slot] = entry
            evicted = _evict_locked()
        for old, _ in evicted:
            old.close()
    worker, crash_cost = entry
    start = time.time()
    watch = _watch(worker)
    try:
        value = worker.run(pickle.loads(info))
    except WorkerStartError as exc:
        with _LOCK:
            if _CACHE.get(slot) is entry:
                del _CACHE[slot]
        worker.close()
        now = time.time()
        return TrialValue(cost=crash_cost, time=now - start, status=StatusType.CRASHED,
                          starttime=start, endtime=now, additional_info={
                              "error": "the trial's worker process could not start on this "
                                       f"dask worker: {exc}"})
    finally:
        _unwatch(watch)
    if watch is not None and watch.used is not None and value.status == StatusType.CRASHED:
        # killed by the watch, not by the trial
        now = time.time()
        return TrialValue(cost=crash_cost, time=now - value.starttime, status=StatusType.MEMORYOUT,
                          starttime=value.starttime, endtime=now, additional_info={
                              "error": f"the trial's processes used {watch.used / 2**20:.0f} MB, "
                                       f"over its share of the dask worker's memory_limit "
                                       f"({watch.share})"})
    return value


# -- the dask worker's memory budget, applied to the trials' processes -------------------------

WATCH_INTERVAL = 0.1
"""Seconds between reads of the trials' memory (resident set of each trial's process tree)."""
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

_WATCH_LOCK = threading.Condition()
_WATCHED: dict[int, _Watch] = {}
_WATCHER: list[threading.Thread] = []


class _Watch:
    """One running trial: its worker process, its byte budget, what it used if it went over."""

    __slots__ = ("worker", "budget", "share", "used")

    def __init__(self, worker: WorkerProcess, budget: int, share: str) -> None:
        self.worker, self.budget, self.share = worker, budget, share
        self.used: int | None = None


def _watch(worker: WorkerProcess) -> _Watch | None:
    """Watch a trial when its dask worker has a memory_limit: the nanny measures only the dask
    worker process, not the trial's, so the trial gets its share (limit x the nanny's terminate
    fraction / threads) here and is killed, MEMORYOUT, beyond it."""
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
    watch = _Watch(worker, budget, f"{budget / 2**20:.0f} MB: {float(fraction):.0%} of "
                   f"{limit / 2**20:.0f} MB over {threads} thread{'s' * (threads > 1)}")
    with _WATCH_LOCK:
        _WATCHED[id(watch)] = watch
        if not _WATCHER:
            _WATCHER.append(threading.Thread(target=_watch_loop, daemon=True,
                                             name="trialrunner-memory-watch"))
            _WATCHER[0].start()
        _WATCH_LOCK.notify()
    return watch


def _unwatch(watch: _Watch | None) -> None:
    if watch is not None:
        with _WATCH_LOCK:
            _WATCHED.pop(id(watch), None)


def _tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and its descendants, read from /proc (on Linux: only the trial's
    own tree is read, not every process as ``psutil.children`` does), else with psutil."""
    if not os.path.exists(f"/proc/{pid}/task"):
        import psutil

        proc = psutil.Process(pid)
        return int(proc.memory_info().rss + sum(c.memory_info().rss
                                                for c in proc.children(recursive=True)))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/statm", "rb") as f:
                total += int(f.read().split()[1]) * _PAGE
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children", "rb") as f:
                    todo.extend(int(c) for c in f.read().split())
        except (OSError, ValueError):  # it ended meanwhile
            continue
    return total


def _watch_loop() -> None:
    while True:
        with _WATCH_LOCK:
            _WATCH_LOCK.wait_for(lambda: bool(_WATCHED))
            watches = list(_WATCHED.values())
        for watch in watches:
            pid = watch.worker.pid
            if pid is None or watch.used is not None:
                continue
            try:
                used = _tree_rss(pid)
            except Exception:  # the process is gone: nothing to watch
                continue
            if used > watch.budget:
                watch.used = used
                watch.worker.kill()
        time.sleep(WATCH_INTERVAL)


def _evict_locked() -> list[tuple[WorkerProcess, Any]]:
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


# -- connecting (driver side) -----------------------------------------------------------------


def connect(client: Any, n_workers: int | None, connect_timeout: float,
            security: Any) -> tuple[Any, Any, bool]:
    """``(client, cluster we started or None, whether we own the client)`` for DaskRunner's
    ``client`` argument: start a LocalCluster, connect to an address, or check a Client."""
    import dask
    import distributed

    Client: Any = distributed.Client  # noqa: N806 - untyped upstream
    LocalCluster: Any = distributed.LocalCluster  # noqa: N806
    if client is None:
        config = {"distributed.scheduler.allowed-failures": 0,
                  # the cluster holds only our shipment: keep its replica on every worker
                  "distributed.scheduler.active-memory-manager.start": False}
        with dask.config.set(config):
            cluster = LocalCluster(
                n_workers=n_workers, threads_per_worker=1, processes=True,
                dashboard_address=None, security=security,
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})  # no 8787 clash
        try:  # gather results straight from the workers: they are on this machine
            return Client(cluster, security=security, set_as_default=False,
                          direct_to_workers=True), cluster, True
        except BaseException:
            cluster.close()
            raise
    if isinstance(client, str):
        if not client:
            raise ValueError("client must be a scheduler address like 'tcp://host:8786', "
                             "got ''")
        try:
            return Client(client, timeout=connect_timeout, security=security,
                          set_as_default=False), None, True
        except Exception as exc:
            raise PreflightError(
                f"cannot connect to the dask scheduler at {client!r} within "
                f"connect_timeout={connect_timeout:g} s: {exc}; is `dask scheduler` "
                "running there and reachable?") from exc
    if isinstance(client, Client):
        if client.asynchronous:
            raise TypeError("DaskRunner needs a synchronous distributed.Client, got an "
                            "asynchronous one")
        if client.status != "running":
            raise PreflightError(f"the dask Client given is {client.status}, not running")
        return client, None, False
    raise TypeError("client must be None, a scheduler address string or a "
                    f"distributed.Client, got {type(client).__name__}")


# -- reading what dask reports (driver side) ---------------------------------------------------


def slots(workers: Iterable[Mapping[str, Any]], need: Mapping[str, float] | None) -> int:
    """Trials that fit at once: worker threads, capped per worker by ``need`` of its resources."""
    return sum(min([int(w.get("nthreads", 1))] + [int((w.get("resources") or {}).get(r, 0) // n)
                                                   for r, n in (need or {}).items()])
               for w in workers)


def is_worker_loss(exc: BaseException) -> bool:
    """Whether a task's error means its dask worker (or the way to it) was lost."""
    from distributed import KilledWorker
    from distributed.comm.core import CommClosedError

    # dask cancels a future (FutureCancelledError) when the scheduler connection or its input
    # is lost; the runner's own cancellations are settled before this is asked
    return isinstance(exc, (KilledWorker, CommClosedError, OSError, TimeoutError,
                            asyncio.CancelledError, CancelledError))
