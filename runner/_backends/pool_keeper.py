"""The process pool's keeper thread and its worker records: the keeper starts and restarts the
pool's worker processes, fails queued trials when no worker can start, and feeds queued
trials to workers while nobody is in ``wait()``. (Wall-time limits are the watchdog's:
runner/_worker/watchdog.py.)"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from runner._core import verdicts
from runner._worker.process import WorkerProcess
from trials import TrialInfo

__all__ = ["BROKEN", "BUSY", "DEAD", "FAILED", "IDLE", "STARTING", "PoolKeeper", "Slot",
           "WorkerEnv", "resolve_worker_env"]

WorkerEnv = Sequence[Mapping[str, str]] | Callable[[int], Mapping[str, str]] | None

RETRY_START = 1.0
"""Seconds before the keeper tries again to start a worker that failed to start."""


def resolve_worker_env(worker_env: WorkerEnv, n_workers: int) -> list[dict[str, str] | None]:
    """One environment overlay per worker, from a list or a function of the worker index."""
    if worker_env is None:
        return [None] * n_workers
    if callable(worker_env):
        envs = [dict(worker_env(i)) for i in range(n_workers)]
    elif isinstance(worker_env, Sequence) and not isinstance(worker_env, str):
        if len(worker_env) != n_workers:
            raise ValueError(f"worker_env has {len(worker_env)} entries for n_workers="
                             f"{n_workers}; give one mapping per worker")
        envs = [dict(e) for e in worker_env]
    else:
        raise TypeError("worker_env must be a list of one mapping per worker or a function "
                        f"of the worker index, got {type(worker_env).__name__}")
    for env in envs:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
            raise TypeError("worker_env values must map str to str, e.g. "
                            "{'CUDA_VISIBLE_DEVICES': '0'}")
    return list(envs)


# A slot's states. Only the thread holding the pump lock closes a worker's descriptors (it is
# the only one polling them); the keeper only starts processes and sends signals.
STARTING = "starting"  # the keeper is starting its process
IDLE = "idle"          # alive, waiting for a trial
BUSY = "busy"          # running ``info``
BROKEN = "broken"      # found dead while idle; the pump cleans it up
DEAD = "dead"          # cleaned up; the keeper starts a new process
FAILED = "failed"      # could not start; the keeper retries at ``retry_at``


class Slot:
    """One worker of the pool: its process, its state, the trial it runs."""

    __slots__ = ("index", "worker", "state", "info", "retry_at", "error")

    def __init__(self, index: int, worker: WorkerProcess) -> None:
        self.index = index
        self.worker = worker
        self.state = STARTING
        self.info: TrialInfo | None = None
        self.retry_at = 0.0
        self.error: BaseException | None = None


class PoolKeeper:
    """The keeper's half of ``ProcessPoolRunner`` (it shares the runner's lock and state)."""

    _lock: threading.Lock
    _done: threading.Condition
    _keeper_wake: threading.Condition
    _pump_lock: threading.Lock
    _slots: list[Slot]
    _idle: list[int]
    _pending: Any
    _generation: int
    _closed: bool
    _workers_started: threading.Event
    _objectives: Any

    if TYPE_CHECKING:  # the runner's, declared for the type checker only
        def _dispatch(self, i: int, info: TrialInfo) -> None: ...
        def _pump(self, timeout: float | None) -> None: ...
        def _release_pump(self) -> None: ...
        def _interrupt_pump(self) -> None: ...
        def _dequeue(self) -> Any: ...
        def _record(self, info: TrialInfo, value: Any, *, started: bool = True,
                    notify: bool = True) -> None: ...

    def _keep(self) -> None:
        try:
            self._start_all()
        finally:
            self._workers_started.set()
        while True:
            with self._lock:
                if self._closed:
                    return
                now = time.monotonic()
                to_start = [s for s in self._slots if s.state == DEAD
                            or (s.state == FAILED and s.retry_at <= now and self._pending)]
                for slot in to_start:
                    slot.state = STARTING
            for slot in to_start:
                self._restart(slot)
            wake_at = math.inf
            with self._lock:
                if self._closed:
                    return
                if any(s.state == DEAD for s in self._slots):
                    continue
                self._fail_unrunnable()
                wake_at = min(wake_at, self._next_retry())
                feed = (bool(self._pending) and any(s.state in (IDLE, BUSY)
                                                    for s in self._slots)) or any(
                    s.state == BROKEN for s in self._slots)
                if not (feed and self._pump_lock.acquire(blocking=False)):
                    left = wake_at - time.monotonic()
                    if left > 0:
                        self._keeper_wake.wait(None if wake_at == math.inf else left)
                    continue
            # trials are queued and nobody reads results: read them here, so the queue moves
            try:
                left = wake_at - time.monotonic()
                self._pump(None if wake_at == math.inf else max(0.0, left))
            finally:
                self._release_pump()

    def _start_all(self) -> None:
        """Spawn every worker, then wait for each: the imports of all overlap."""
        for slot in self._slots:
            try:
                slot.worker.spawn()
            except Exception as exc:
                slot.error = exc
        for slot in self._slots:
            if slot.error is None:
                try:
                    slot.worker.handshake()
                except Exception as exc:
                    slot.error = exc
        with self._lock:
            for slot in self._slots:
                if slot.error is None and not self._closed:
                    slot.state = IDLE
                    self._idle.append(slot.index)
            self._generation += 1

    def _restart(self, slot: Slot) -> None:
        try:
            slot.worker.start()
        except Exception as exc:
            with self._lock:
                slot.state, slot.error = FAILED, exc
                slot.retry_at = time.monotonic() + RETRY_START
            return
        with self._lock:
            slot.error = None
            if self._closed:
                return
            slot.state = IDLE
            self._generation += 1
            if self._pending:
                self._dispatch(slot.index, self._dequeue())
            else:
                self._idle.append(slot.index)
        self._interrupt_pump()  # a waiting caller polls the old set: make it take the new one

    def _fail_unrunnable(self) -> None:
        """(self._lock held) When no worker could be started, queued trials cannot run: each
        is CRASHED with the reason rather than waiting forever."""
        if not self._pending or not all(s.state == FAILED for s in self._slots):
            return
        error = self._slots[0].error
        while self._pending:
            self._record(self._dequeue(), verdicts.not_run(
                self._objectives.crash_cost, "the runner could not run the trial: no worker "
                f"process could be started ({error!r})", error), started=False, notify=False)
        self._done.notify_all()
        self._interrupt_pump()  # a caller blocked in poll() must see these too

    def _next_retry(self) -> float:
        """(self._lock held) When the keeper should next try to start a failed worker."""
        if not self._pending:
            return math.inf
        return min((s.retry_at for s in self._slots if s.state == FAILED), default=math.inf)
