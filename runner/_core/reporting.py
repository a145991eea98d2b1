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

import time
from collections.abc import Callable, Generator
from enum import Enum
from typing import Any

from runner.errors import TrialEndedError, TrialStopped
from trials import Report

__all__ = ["Decision", "Reporter", "AsyncReporter", "Send", "no_send"]

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
    step the decision was made on, with that step's cost, not one step later. After
    `end` (the target returned or raised) a call raises ``TrialEndedError``."""

    __slots__ = ("_send", "_arrived", "_t0", "last", "stopped", "ended")

    def __init__(self, send: Send = no_send,
                 stop_arrived: Callable[[], bool] | None = None) -> None:
        self._send = send
        self._arrived = stop_arrived
        self._t0 = time.perf_counter()
        self.last: Report | None = None
        self.stopped = False
        self.ended = False

    def end(self) -> None:
        """The trial is over: a later report would reach no one, so it raises."""
        self.ended = True

    def __call__(self, step: Any, cost: Any, **metrics: Any) -> Any:
        if self.ended:
            raise TrialEndedError(
                f"report({step!r}, {cost!r}) was called after its trial ended (the target had "
                "returned or raised): nothing receives it. Report while the target runs: not "
                "from a thread it leaves running, nor through a report kept for later")
        if self.stopped or (self.last is not None and self._arrived is not None
                            and self._arrived()):
            self.stopped = True
            last = self.last
            raise TrialStopped(last.step if last else step, last.cost if last else cost)
        report = Report(step, cost, metrics, time.perf_counter() - self._t0)
        self.last = report
        if self._send(report):
            self.stopped = True
            raise TrialStopped(report.step, report.cost)
        return None


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
