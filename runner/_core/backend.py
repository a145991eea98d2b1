"""``BackendRunner``: the queue-and-results half of the contract that every built-in backend
shares, so a backend only starts trials and reports them done.

One lock guards three numbers and two FIFOs: trials waiting to start (``_pending``), trials
executing (``_executing``), finished pairs not yet yielded (``_finished``). All O(1) per trial.
Reports of running trials have books of their own: ``_reports`` (not yet yielded by
``iter_reports``) and ``_reporting`` (the trials that reported and still run, with whether
they are to stop), written only by ``_report``, ``decide`` and ``_record``.
"""

from __future__ import annotations

import functools
import threading
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from runner._core import verdicts
from runner._core.contract import AbstractRunner
from runner._core.reporting import Decision, InlineReporter, Reporter, Send
from trials import Report, TrialInfo, TrialValue

__all__ = ["BackendRunner", "drain"]


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
        self._reports: deque[tuple[TrialInfo, Report]] = deque()
        self._reporting: dict[int, bool] = {}  # id(info) of a running trial that reported -> stop
        self._report_pump: Callable[[], None] | None = None

    _decides_inline = False
    """Whether a report of a trial running here runs the loop's pump in the trial's thread
    (serial): the time that takes is then not the trial's."""

    # -- the contract ------------------------------------------------------------------------

    def iter_results(self) -> Iterator[tuple[TrialInfo, TrialValue]]:
        return drain(self._finished)

    def wait(self, timeout: float | None = None) -> None:
        with self._done:
            self._done.wait_for(
                lambda: bool(self._finished) or bool(self._reports)
                or (self._executing == 0 and not self._pending),
                timeout,
            )

    @property
    def wants_checkpoint(self) -> bool:
        """Whether the target takes ``checkpoint``: the loop then gives every trial a checkpoint
        directory (``additional_info["checkpoint_dir"]``, runner/_core/checkpoints.py)."""
        return bool(self._target.wants_checkpoint)

    def iter_reports(self) -> Iterator[tuple[TrialInfo, Report]]:
        return drain(self._reports)

    def decide(self, info: TrialInfo, decision: Decision | str) -> None:
        decision = Decision.of(decision)
        if decision is Decision.CONTINUE:
            return
        with self._lock:
            key = id(info)
            if key not in self._reporting:  # it ended meanwhile (or never reported): too late
                return
            self._reporting[key] = True
        self._decide(info, decision)

    def set_report_pump(self, pump: Callable[[], None] | None) -> None:
        self._report_pump = pump

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

    def _start_next(self) -> Any:
        """The next queued item, counted as executing, if a worker is free (takes the lock);
        ``None`` when closed, nothing is queued or every worker is busy."""
        with self._lock:
            if self._closed or not self._pending or self._executing >= self._capacity:
                return None
            self._executing += 1
            return self._pending.popleft()

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
        if self._reporting:
            self._reporting.pop(id(info), None)
        self._finished.append((info, value))
        if notify:
            self._done.notify_all()

    def _add_report(self, info: TrialInfo, report: Report) -> bool:
        """A running trial reported; whether it is to stop (decided on an earlier report)."""
        self._reports.append((info, report))
        self._done.notify_all()
        return self._reporting.setdefault(id(info), False)

    # -- helpers ----------------------------------------------------------------------------

    def _report(self, info: TrialInfo, report: Report) -> bool:
        """:meth:`_add_report` from any thread (takes the lock)."""
        with self._done:
            return self._add_report(info, report)

    def _report_sink(self, info: TrialInfo) -> Send | None:
        """Where ``info``'s reports go (``None`` when its target takes no ``report``)."""
        if not self._target.wants_report:
            return None
        return functools.partial(self._report, info)

    def _reporter(self, info: TrialInfo) -> Reporter | None:
        sink = self._report_sink(info)
        if sink is None:
            return None
        key, reporting = id(info), self._reporting
        cls = InlineReporter if self._decides_inline else Reporter
        return cls(sink, lambda: reporting.get(key, False))  # a dict read: no lock needed

    def _inline_report(self, info: TrialInfo, report: Report) -> bool:
        """A report from a trial running in the caller's own thread (serial): the loop's pump,
        if it set one, decides on it now; whether the trial is to stop."""
        self._report(info, report)
        pump = self._report_pump
        if pump is not None:
            pump()
        with self._lock:
            return self._reporting.get(id(info), False)

    def _decide(self, info: TrialInfo, decision: Decision) -> None:  # noqa: B027 - hook
        """Backend hook: make a stop decision reach the trial ``info`` (it is in
        ``_reporting`` now, flagged to stop); in-process trials read the flag at their next
        report, so only backends whose trials run elsewhere need it."""

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


def drain(queue: Any) -> Iterator[Any]:
    """Yield from the left of ``queue`` (a deque other threads append to) until it is empty at
    the moment of asking: each item once, never blocking."""
    while True:
        try:
            yield queue.popleft()
        except IndexError:
            return
