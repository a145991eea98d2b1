"""Intermediate results of a running trial: the ``Decision`` an optimizer returns on a report,
and the ``report(step, cost, **metrics)`` callable a target receives (``Reporter``).

    target: report(3, 0.5) -> Reporter -> send(Report) -> the runner's books / the worker pipe
                                  ^                            |
                                  └── True: stop ─────────────-┘ (decided by the loop)
                           raise TrialStopped -> the evaluator records STOPPED (verdicts.py)

Where ``send`` goes is the backend's business; what a report is and when the target must
unwind is decided here, the same on every backend.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Generator
from enum import Enum
from typing import Any

from runner.errors import TrialEndedError, TrialStopped
from trials import Report
from trials._numbers import describe

__all__ = ["Decision", "Reporter", "AsyncReporter", "InlineReporter", "Send", "no_send"]

log = logging.getLogger(__name__)

Send = Callable[[Report], bool]
"""Where a trial's report goes; returns whether the trial is to stop now."""


class Decision(str, Enum):
    """What an optimizer's ``on_report`` decides for a running trial; a member equals its name
    (``Decision.STOP == "stop"``), so an optimizer may return the plain string."""

    CONTINUE = "continue"
    STOP = "stop"
    PAUSE = "pause"

    @classmethod
    def of(cls, value: Any) -> Decision:
        """``value`` (a member, its name in any case, or ``None`` for continue) as a member."""
        if value is None:
            return cls.CONTINUE
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            try:
                return cls(value.lower())
            except ValueError:
                pass
        raise ValueError(f"a report decision must be one of {[d.value for d in cls]} (or None "
                         f"for 'continue'), got {value!r} (type {type(value).__name__})")


def no_send(report: Report) -> bool:
    """Reports to nowhere (a direct ``runner.run`` call): the trial is never stopped."""
    return False


class Reporter:
    """The ``report(step, cost, **metrics)`` a target receives: validates the report (a bad one
    raises ``TypeError``/``ValueError`` in the target), sends it, and raises ``TrialStopped``
    when the trial is to stop, and on every call after that.

    ``stop_arrived()`` (optional, never blocking) says whether a stop decision reached the trial
    since its last report: then this call raises *before* sending, so the trial ends at the
    step the decision was made on, with that step's cost, not one step later.

    Calls from several threads of the trial take turns (one report at a time goes through
    ``send``). Once the trial has answered, `close` makes every later call (a thread or
    a forked child the trial left behind) a no-op: the report is dropped, counted in
    ``dropped`` and logged once, and never reaches another trial; in the thread that made it
    it raises ``TrialEndedError`` (in a forked child it is dropped silently)."""

    __slots__ = ("_send", "_arrived", "_t0", "_lock", "last", "stopped", "closed", "forked",
                 "dropped", "outside", "outside_cpu")

    def __init__(self, send: Send = no_send,
                 stop_arrived: Callable[[], bool] | None = None) -> None:
        self._send = send
        self._arrived = stop_arrived
        self._t0 = time.perf_counter()
        self._lock = threading.Lock()
        self.last: Report | None = None
        self.stopped = False
        self.closed = False
        self.forked = False
        self.dropped = 0
        self.outside = 0.0
        self.outside_cpu = 0.0

    def __call__(self, step: Any, cost: Any, **metrics: Any) -> Any:
        lock = self._lock
        lock.acquire()  # (not ``with``: 0.1 µs less per report on Python 3.11)
        try:
            if self.closed:
                return self._drop(step, cost)
            if self.stopped or (self.last is not None and self._arrived is not None
                                and self._arrived()):
                self.stopped = True
                last = self.last
                raise TrialStopped(last.step if last else step, last.cost if last else cost)
            if self._inline:
                return self._send_inline(step, cost, metrics)
            report = Report(step, cost, metrics, time.perf_counter() - self._t0)
            stop = self._send(report)  # a report it refuses (too large) raises: not the last
            self.last = report
            if stop:
                self.stopped = True
                raise TrialStopped(report.step, report.cost)
            return None
        finally:
            lock.release()

    _inline = False

    def _send_inline(self, step: Any, cost: Any, metrics: dict[str, Any]) -> None:
        raise NotImplementedError  # pragma: no cover - InlineReporter's

    def close(self) -> None:
        """The trial has answered: from now on every call is dropped (waits for a call that is
        sending, so nothing of this trial is sent after its answer)."""
        with self._lock:
            self.closed = True

    end = close
    """The trial is over (the target returned or raised): later calls raise (see `close`)."""

    def closed_by_fork(self) -> None:
        """In a process forked from the trial's: every call is dropped (without the lock, which
        another thread of the parent may have held at the fork)."""
        self._lock = threading.Lock()
        self.closed = self.forked = True

    def _drop(self, step: Any, cost: Any) -> None:
        self.dropped += 1
        if self.dropped == 1:
            log.warning("a report (step %s) came after its trial answered, from a thread or a "
                        "process the trial left running; it is dropped, as are later ones",
                        describe(step))
        if self.forked:
            return None
        raise TrialEndedError(
            f"report({_shown(step)}, {cost!r}) was called after its trial ended (the target "
            "had returned or raised): nothing receives it. Report while the target runs: not "
            "from a thread it leaves running, nor through a report kept for later")


def _shown(step: Any) -> str:
    """``step`` as written, unless it is an int too long to print (then described)."""
    return describe(step) if type(step) is int and step.bit_length() > 200 else repr(step)


class InlineReporter(Reporter):
    """The ``report`` of a trial whose ``send`` runs the optimizer's decision in the trial's own
    thread (serial): the wall and CPU time ``send`` takes are kept in ``outside`` and
    ``outside_cpu`` and are not the trial's (``Report.time`` excludes them too)."""

    __slots__ = ()
    _inline = True

    def _send_inline(self, step: Any, cost: Any, metrics: dict[str, Any]) -> None:
        t = time.perf_counter()
        report = Report(step, cost, metrics, t - self._t0 - self.outside)
        c = time.thread_time()
        try:
            stop = self._send(report)
        finally:
            self.outside_cpu += time.thread_time() - c
            self.outside += time.perf_counter() - t
        self.last = report
        if stop:
            self.stopped = True
            raise TrialStopped(report.step, report.cost)


class _Done:
    """An awaitable that is already done: ``await report(...)`` works as ``report(...)``."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, None, None]:
        return
        yield  # pragma: no cover - makes this a generator


_DONE = _Done()


class AsyncReporter(Reporter):
    """The ``report`` of an ``async def`` target: call it plainly or ``await`` it."""

    __slots__ = ()

    def __call__(self, step: Any, cost: Any, **metrics: Any) -> Any:
        super().__call__(step, cost, **metrics)
        return _DONE
