"""``BookkeepingRunner``: the queue-and-results half of the contract that every built-in backend
shares, so a backend only starts trials and reports them done.

One lock guards three numbers and two FIFOs: trials waiting to start (``_pending``), trials
executing (``_executing``), finished pairs not yet yielded (``_finished``). All O(1) per trial.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from typing import Any

from runner._core import verdicts
from runner._core.contract import AbstractRunner
from trials import TrialInfo, TrialValue

__all__ = ["BookkeepingRunner"]


class BookkeepingRunner(AbstractRunner):
    """Implements ``iter_results``, ``wait``, ``is_running`` and ``count_available_workers``
    on top of ``_deliver`` calls made by the backend (from any thread)."""

    def __init__(self, target: Any = None, **kwargs: Any) -> None:
        super().__init__(target, **kwargs)
        self._lock = threading.Lock()
        self._done = threading.Condition(self._lock)
        self._pending: deque[TrialInfo] = deque()
        self._finished: deque[tuple[TrialInfo, TrialValue]] = deque()
        self._executing = 0
        self._capacity = 1

    def iter_results(self) -> Iterator[tuple[TrialInfo, TrialValue]]:
        finished = self._finished
        while True:
            try:
                yield finished.popleft()
            except IndexError:
                return

    def wait(self, timeout: float | None = None) -> None:
        with self._done:
            self._done.wait_for(
                lambda: bool(self._finished) or (self._executing == 0 and not self._pending),
                timeout,
            )

    def is_running(self) -> bool:
        return self._executing > 0 or bool(self._pending)

    def count_available_workers(self) -> int:
        return max(0, self._capacity - self._executing - len(self._pending))

    def _deliver(self, info: TrialInfo, value: TrialValue, *, started: bool = True) -> None:
        """Record a finished trial (``started=False``: it never left the queue)."""
        with self._done:
            if started:
                self._executing -= 1
            self._finished.append((info, value))
            self._done.notify_all()

    def _cancel_pending(self) -> None:
        """Report every trial still queued as CANCELLED (on close): none is silently lost."""
        with self._done:
            while self._pending:
                info = self._pending.popleft()
                self._finished.append((info, self._cancelled_value()))
            self._done.notify_all()

    def _cancelled_value(self) -> TrialValue:
        return verdicts.cancelled(self._objectives.crash_cost)
