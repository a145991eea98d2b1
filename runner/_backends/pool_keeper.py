"""The process pool's keeper thread: it starts and restarts the pool's worker processes, fails
queued trials when no worker can start, and feeds queued trials to workers while nobody is in
``wait()``. It is given the pool's shared `PoolState`, its `WorkerPoll` and the pool itself for
the few steps only the pool may take (`KeptPool`), as ``concurrent.futures``' manager thread is
given its executor. (Wall-time limits are the watchdog's: runner/_worker/watchdog.py.)"""

from __future__ import annotations

import math
import threading
import time
from typing import Protocol

from runner._backends.pool_poll import WorkerPoll
from runner._backends.pool_slots import BROKEN, BUSY, DEAD, FAILED, IDLE, STARTING, PoolState, Slot

__all__ = ["KeptPool", "PoolKeeper"]

RETRY_START = 1.0
"""Seconds before the keeper tries again to start a worker that failed to start."""


class KeptPool(Protocol):
    """The steps the keeper asks of its pool (``ProcessPoolRunner``)."""

    @property
    def closed(self) -> bool: ...

    def _start_queued(self, i: int) -> None:
        """(lock held) Send the next queued trial to idle slot ``i``."""

    def _fail_queued(self, error: BaseException | None) -> None:
        """(lock held) Every queued trial ends CRASHED: no worker can be started."""

    def _pump(self, timeout: float | None) -> None:
        """(pump lock held) Read results and deaths for up to ``timeout`` seconds."""

    def _release_pump(self) -> None:
        """Give the pump lock back (and hand the pump to a waiting thread)."""


class PoolKeeper:
    """Keeps the pool's workers running, in a thread of its own (`start`, then `join` once the
    pool is closed); the processes themselves are started from one long-lived thread
    (runner/_worker/spawn.py), which PR_SET_PDEATHSIG ties them to."""

    def __init__(self, state: PoolState, poll: WorkerPoll, pool: KeptPool, name: str) -> None:
        self._state = state
        self._poll = poll
        self._pool = pool
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._keep, daemon=True, name=name)

    def start(self) -> None:
        """Start the thread and wait until every worker has started or failed to."""
        self._thread.start()
        self._started.wait()

    def join(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for the thread to end (the pool is closed)."""
        self._thread.join(timeout=timeout)

    def _keep(self) -> None:
        state, pool = self._state, self._pool
        try:
            self._start_all()
        finally:
            self._started.set()
        while True:
            with state.lock:
                if pool.closed:
                    return
                now = time.monotonic()
                to_start = [s for s in state.slots if s.state == DEAD
                            or (s.state == FAILED and s.retry_at <= now and state.queued)]
                for slot in to_start:
                    slot.state = STARTING
            for slot in to_start:
                self._restart(slot)
            wake_at = math.inf
            with state.lock:
                if pool.closed:
                    return
                if any(s.state == DEAD for s in state.slots):
                    continue
                self._fail_unrunnable()
                wake_at = min(wake_at, self._next_retry())
                feed = (bool(state.queued) and any(s.state in (IDLE, BUSY)
                                                   for s in state.slots)) or any(
                    s.state == BROKEN for s in state.slots)
                if not (feed and state.pump_lock.acquire(blocking=False)):
                    left = wake_at - time.monotonic()
                    if left > 0:
                        state.keeper_wake.wait(None if wake_at == math.inf else left)
                    continue
            # trials are queued and nobody reads results: read them here, so the queue moves
            try:
                left = wake_at - time.monotonic()
                pool._pump(None if wake_at == math.inf else max(0.0, left))
            finally:
                pool._release_pump()

    def _start_all(self) -> None:
        """Spawn every worker, then wait for each: the imports of all overlap."""
        state = self._state
        for slot in state.slots:
            try:
                slot.worker.spawn()
            except Exception as exc:
                slot.error = exc
        for slot in state.slots:
            if slot.error is None:
                try:
                    slot.worker.handshake()
                except Exception as exc:
                    slot.error = exc
        with state.lock:
            for slot in state.slots:
                if slot.error is None and not self._pool.closed:
                    slot.state = IDLE
                    state.idle.append(slot.index)
            state.generation += 1

    def _restart(self, slot: Slot) -> None:
        state = self._state
        try:
            slot.worker.start()
        except Exception as exc:
            with state.lock:
                slot.state, slot.error = FAILED, exc
                slot.retry_at = time.monotonic() + RETRY_START
            return
        with state.lock:
            slot.error = None
            if self._pool.closed:
                return
            slot.state = IDLE
            state.generation += 1
            if state.queued:
                self._pool._start_queued(slot.index)
            else:
                state.idle.append(slot.index)
        self._poll.interrupt()  # a waiting caller polls the old set: make it take the new one

    def _fail_unrunnable(self) -> None:
        """(lock held) When no worker could be started, queued trials cannot run: each is
        CRASHED with the reason rather than waiting forever."""
        state = self._state
        if not state.queued or not all(s.state == FAILED for s in state.slots):
            return
        self._pool._fail_queued(state.slots[0].error)
        self._poll.interrupt()  # a caller blocked in poll() must see these too

    def _next_retry(self) -> float:
        """(lock held) When the keeper should next try to start a failed worker."""
        if not self._state.queued:
            return math.inf
        return min((s.retry_at for s in self._state.slots if s.state == FAILED),
                   default=math.inf)
