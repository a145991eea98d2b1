"""The process pool's poll: which workers' descriptors fired (a result on the pipe, or the
process's exit on its pidfd), in one ``poll()`` over every live worker plus a wake-up pipe that
`interrupt` writes to (a thread blocked in the poll then takes the new set of descriptors).
The poll set is rebuilt only when `PoolState.generation` moved."""

from __future__ import annotations

import math
import os
import select

import runner._worker.process as supervisor
from runner._backends.pool_slots import BROKEN, BUSY, IDLE, PoolState

__all__ = ["WorkerPoll"]


class WorkerPoll:
    """Polls the workers of a `PoolState`; only the thread holding ``state.pump_lock`` calls
    `ready`."""

    __slots__ = ("_state", "_wake_r", "_wake_w", "_generation", "_poller", "_fd_slot",
                 "_no_pidfd")

    def __init__(self, state: PoolState) -> None:
        self._state = state
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._generation = -1
        self._poller: select.poll | None = None
        self._fd_slot: dict[int, tuple[int, bool]] = {}
        self._no_pidfd: list[int] = []

    def ready(self, timeout: float | None) -> dict[int, bool]:
        """Wait up to ``timeout`` seconds; the slots whose worker has news, each with whether
        its result descriptor (not only its pidfd) fired."""
        poller = self._poll_set()
        ms = None if timeout is None else max(0, math.ceil(timeout * 1000))
        if self._no_pidfd:
            check = supervisor.DEATH_CHECK_MS  # read here: tests shorten it
            ms = check if ms is None else min(ms, check)
        ready: dict[int, bool] = {}
        fd_slot = self._fd_slot
        for fd, _ in poller.poll(ms):
            if fd == self._wake_r:
                try:
                    os.read(fd, 4096)
                except BlockingIOError:
                    pass
                continue
            i, is_result = fd_slot[fd]
            ready[i] = ready.get(i, False) or is_result
        slots = self._state.slots
        for i in self._no_pidfd:
            if i not in ready and not slots[i].worker.alive:
                ready[i] = False
        return ready

    def _poll_set(self) -> select.poll:
        state = self._state
        with state.lock:
            if self._poller is not None and self._generation == state.generation:
                return self._poller
            poller = select.poll()
            poller.register(self._wake_r, select.POLLIN)
            fd_slot: dict[int, tuple[int, bool]] = {}
            no_pidfd = []
            for slot in state.slots:
                if slot.state not in (IDLE, BUSY, BROKEN):
                    continue
                fds = slot.worker.fds
                if fds is None:
                    continue
                result_fd, pidfd = fds
                poller.register(result_fd, select.POLLIN)
                fd_slot[result_fd] = (slot.index, True)
                if pidfd is None:
                    no_pidfd.append(slot.index)
                else:
                    poller.register(pidfd, select.POLLIN)
                    fd_slot[pidfd] = (slot.index, False)
            self._poller, self._fd_slot, self._no_pidfd = poller, fd_slot, no_pidfd
            self._generation = state.generation
            return poller

    def interrupt(self) -> None:
        """Wake a thread blocked in `ready` (it returns, possibly with nothing)."""
        try:
            os.write(self._wake_w, b"x")
        except (BlockingIOError, OSError):
            pass  # full (a wake-up is pending anyway) or closed

    def close(self) -> None:
        """Close the wake-up pipe (only once nothing polls or interrupts any more)."""
        for fd in (self._wake_r, self._wake_w):
            os.close(fd)
