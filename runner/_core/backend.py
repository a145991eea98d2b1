"""``BackendRunner``: the queue-and-results half of the contract that every built-in backend
shares, so a backend only starts trials and reports them done.

One lock guards three numbers and two FIFOs: trials waiting to start (``_pending``), trials
executing (``_executing``), finished pairs not yet yielded (``_finished``). All O(1) per trial.
Reports of running trials have books of their own: ``_reports`` (not yet yielded by
``iter_reports``) and ``_reporting`` (the trials that reported and still run, with whether
they are to stop), written only by ``_report``, ``decide`` and ``_record``. Trials whose
reports wait for their decision (``set_wait_for_decisions``) are in ``_waits``
(runner/_core/waiting.py).
"""

from __future__ import annotations

import functools
import threading
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import attrs

from runner._core import verdicts
from runner._core.contract import AbstractRunner
from runner._core.reporting import Decision, InlineReporter, Reporter, Send
from runner._core.waiting import DecisionWaits
from trials import Report, TrialInfo, TrialValue

__all__ = ["BackendRunner", "Interruption", "drain"]


@attrs.frozen
class Interruption:
    """A trial's run was lost for a reason outside the trial (its worker, node or batch job
    went away) and the backend runs it again, without spending a retry: the loop journals it
    as an interrupted attempt. ``requeue``: how often this trial was re-run so far (1 the first
    time); ``job``: the batch job that hosted it, where known."""

    reason: str
    requeue: int
    job: str | None = None


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
        self._interruptions: deque[tuple[TrialInfo, Interruption]] = deque()
        self._waits = DecisionWaits(self._lock)

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
        with self._lock:
            answer = self._waits.answered(info)  # a waiting report has its decision
            if decision is Decision.CONTINUE:
                if not answer:
                    return
            else:
                key = id(info)
                if key not in self._reporting:  # it ended meanwhile (or never reported)
                    return
                self._reporting[key] = True
        if decision is Decision.CONTINUE:
            self._continue(info)
        else:
            self._decide(info, decision)

    def set_wait_for_decisions(self, wait: bool) -> None:
        """``True``: trials started from now on hold each report until ``decide`` answered it
        (the loop answers every report); ``False``: reports still waiting go on, and trials
        started meanwhile are answered "continue" by the runner itself."""
        with self._lock:
            if wait:
                self._waits.deciding = True
                return
            owed = self._waits.release()
        for info in owed:
            self._continue(info)

    def close(self) -> None:
        with self._lock:  # first: a trial waiting for a decision must not hold close() up
            self._waits.closed = True
            owed = self._waits.release()
        for info in owed:
            self._continue(info)
        super().close()

    def set_report_pump(self, pump: Callable[[], None] | None) -> None:
        self._report_pump = pump

    def is_running(self) -> bool:
        return self._executing > 0 or bool(self._pending)

    def _backend_meta(self) -> dict[str, Any]:
        """What ``meta`` adds for this backend: its workers; a backend adds its own settings."""
        return {"n_workers": self._capacity}

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
        self._waits.ended(info)
        self._finished.append((info, value))
        if notify:
            self._done.notify_all()

    def _add_report(self, info: TrialInfo, report: Report) -> bool:
        """A running trial reported; whether it is to stop (decided on an earlier report)."""
        self._reports.append((info, report))
        self._done.notify_all()
        return self._reporting.setdefault(id(info), False)

    def iter_interruptions(self) -> Iterator[tuple[TrialInfo, Interruption]]:
        """Trials whose run was lost outside the trial and run again since last asked (the
        loop journals each as an interrupted attempt); each pair once, never blocking."""
        return drain(self._interruptions)

    # -- helpers ----------------------------------------------------------------------------

    def _interrupted(self, info: TrialInfo, requeue: int, reason: str,
                     job: str | None = None) -> None:
        """Backend hook, from any thread: ``info``'s run was lost outside the trial and is
        requeued (``requeue``-th time); the loop learns it from `iter_interruptions`."""
        self._interruptions.append((info, Interruption(reason, requeue, job)))

    def _report(self, info: TrialInfo, report: Report) -> bool:
        """`_add_report` from any thread (takes the lock); a report that waits for its
        decision while no loop decides is answered "continue" here."""
        with self._done:
            stop = self._add_report(info, report)
            orphan = self._waits.reported(info)
        if orphan:
            self._continue(info)
        return stop

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
        return cls(self._held(info, sink),
                   lambda: reporting.get(key, False))  # a dict read: no lock needed

    def _waiting(self, info: TrialInfo) -> bool:
        """Whether ``info``, starting now, is to hold each report until it is decided (a loop
        with ``wait_for_decisions`` is deciding); enrols it if so."""
        with self._lock:
            return self._waiting_locked(info)

    def _waiting_locked(self, info: TrialInfo) -> bool:
        """`_waiting` with ``self._lock`` held."""
        return bool(self._target.wants_report) and self._waits.enrol(info)

    def _held(self, info: TrialInfo, sink: Send) -> Send:
        """``sink`` for an in-process trial: when ``info`` waits for decisions, each report
        returns only once the loop has decided on it."""
        if not self._waiting(info):
            return sink

        def send(report: Report) -> bool:
            stop = sink(report)
            with self._lock:
                self._waits.wait(info)
                return stop or self._reporting.get(id(info), False) or self._waits.closed

        return send

    def _inline_report(self, info: TrialInfo, report: Report) -> bool:
        """A report from a trial running in the caller's own thread (serial): the loop's pump,
        if it set one, decides on it now; whether the trial is to stop."""
        self._report(info, report)
        pump = self._report_pump
        if pump is not None:
            pump()
        with self._lock:  # nobody else can decide while this thread runs the trial
            unanswered = self._waits.answered(info)
            stop = self._reporting.get(id(info), False)
        if unanswered:
            self._continue(info)
        return stop

    def _decide(self, info: TrialInfo, decision: Decision) -> None:  # noqa: B027 - hook
        """Backend hook: make a stop decision reach the trial ``info`` (it is in
        ``_reporting`` now, flagged to stop); in-process trials read the flag at their next
        report, so only backends whose trials run elsewhere need it."""

    def _continue(self, info: TrialInfo) -> None:  # noqa: B027 - hook
        """Backend hook: answer "continue" to the waiting report of ``info`` (a trial that
        waits for decisions); in-process trials are woken by the books, so only backends
        whose trials run elsewhere need it."""

    def _deliver(self, info: TrialInfo, value: TrialValue, *, started: bool = True) -> None:
        """`_record` from any thread (takes the lock)."""
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
