"""``BackendRunner``: the queue-and-results half of the contract that every built-in backend
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

__all__ = ["BackendRunner"]


class BackendRunner(AbstractRunner):
    """The base of every built-in backend: it owns the books (trials queued, the number
    executing, finished pairs not yet yielded) and is the only code that changes them, through
    the ``_enqueue``/``_dequeue``/``_started``/``_unstarted``/``_record`` steps below (all with
    ``self._lock`` held). It implements ``iter_results``, ``wait``, ``is_running`` and
    ``count_available_workers``; a backend starts trials, reports them done, counts its
    workers (``_capacity``) and closes."""

    def __init__(self, target: Any = None, **kwargs: Any) -> None:
        super().__init__(target, **kwargs)
        self._lock = threading.Lock()
        self._done = threading.Condition(self._lock)
        self._pending: deque[Any] = deque()  # what the backend queues: trials, or its records
        self._finished: deque[tuple[TrialInfo, TrialValue]] = deque()
        self._executing = 0
        self._capacity = 1

    # -- the contract ------------------------------------------------------------------------

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

    # -- the steps a backend takes (self._lock held) -----------------------------------------

    def _enqueue(self, item: Any, *, front: bool = False) -> None:
        """Queue ``item`` (a trial, or the backend's record of one); ``front``: next to go."""
        if front:
            self._pending.appendleft(item)
        else:
            self._pending.append(item)

    def _dequeue(self) -> Any:
        """The next queued item (the caller checked there is one)."""
        return self._pending.popleft()

    def _dequeue_all(self) -> list[Any]:
        """Every queued item, the queue left empty."""
        items = list(self._pending)
        self._pending.clear()
        return items

    def _started(self) -> None:
        """A trial began executing."""
        self._executing += 1

    def _unstarted(self) -> None:
        """A trial counted as executing never ran (it goes back to the queue)."""
        self._executing -= 1

    def _record(self, info: TrialInfo, value: TrialValue, *, started: bool = True,
                notify: bool = True) -> None:
        """A trial's final value (``started=False``: it never left the queue); ``notify``
        wakes threads in ``wait`` (skip it when none can be waiting)."""
        if started:
            self._executing -= 1
        self._finished.append((info, value))
        if notify:
            self._done.notify_all()

    # -- helpers ----------------------------------------------------------------------------

    def _deliver(self, info: TrialInfo, value: TrialValue, *, started: bool = True) -> None:
        """:meth:`_record` from any thread (takes the lock)."""
        with self._done:
            self._record(info, value, started=started)

    def _item_info(self, item: Any) -> TrialInfo:
        """The trial of a queued item (a backend that queues records of its own overrides it)."""
        return item  # type: ignore[no-any-return]

    def _cancel_pending(self) -> None:
        """Report every trial still queued as CANCELLED (on close): none is silently lost."""
        with self._done:
            for item in self._dequeue_all():
                self._record(self._item_info(item), self._cancelled_value(), started=False,
                             notify=False)
            self._done.notify_all()

    def _cancelled_value(self) -> TrialValue:
        return verdicts.cancelled(self._objectives.crash_cost)
