"""Reports that wait for their decision (``OptimizationLoop(..., wait_for_decisions=True)``):
the books of which running trials hold each report until the loop has decided on it.

    loop._begin -> runner.set_wait_for_decisions(True): trials started from now on wait
    trial: report(n) --(the backend's report channel)--> runner._report: unanswered += 1
           ... blocked (in-process: on `DecisionWaits.wait`; a worker process: on its pipe)
    loop: on_report -> runner.decide(info, d): unanswered -= 1, the answer goes down
           (stop: the channel's stop; continue: the backend's ``_continue`` hook)
    loop._end -> set_wait_for_decisions(False): every report still waiting is answered
           "continue", and later reports of those trials are answered at once

One answer per report, in order: a trial waits for exactly as many answers as it sent
reports, so a worker process can match them without numbering them. Every method is called
with the runner's lock held (``wait`` waits on a condition of that lock).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from trials import TrialInfo

__all__ = ["DecisionWaits", "check_wait_for_decisions"]


class DecisionWaits:
    """Which running trials wait for decisions, and how many of their reports are unanswered."""

    __slots__ = ("deciding", "closed", "_unanswered", "_infos", "_answered")

    def __init__(self, lock: threading.Lock) -> None:
        self.deciding = False  # a loop answers every report (set_wait_for_decisions)
        self.closed = False  # the runner is closing: nothing will be answered any more
        self._unanswered: dict[int, int] = {}  # id(info) of a waiting trial -> reports
        self._infos: dict[int, TrialInfo] = {}
        self._answered = threading.Condition(lock)

    def enrol(self, info: TrialInfo) -> bool:
        """A trial starts: whether its reports are to wait (a loop decides on them now)."""
        if not self.deciding or self.closed:
            return False
        key = id(info)
        self._unanswered[key], self._infos[key] = 0, info
        return True

    def waits(self, info: TrialInfo) -> bool:
        """Whether ``info`` is a running trial whose reports wait."""
        return id(info) in self._unanswered

    def reported(self, info: TrialInfo) -> bool:
        """``info`` reported; whether the runner must answer "continue" itself at once (the
        trial waits but no loop decides any more)."""
        key = id(info)
        if key not in self._unanswered:
            return False
        if not self.deciding or self.closed:
            return True
        self._unanswered[key] += 1
        return False

    def answered(self, info: TrialInfo) -> bool:
        """The loop decided on ``info``'s oldest unanswered report; ``False`` if none waits
        (then nothing is to be sent down for a "continue")."""
        key = id(info)
        if self._unanswered.get(key, 0) <= 0:
            return False
        self._unanswered[key] -= 1
        self._answered.notify_all()
        return True

    def ended(self, info: TrialInfo) -> None:
        """``info`` has its final value: it waits for nothing any more."""
        key = id(info)
        if self._unanswered.pop(key, None) is not None:
            del self._infos[key]
            self._answered.notify_all()

    def release(self) -> list[TrialInfo]:
        """No loop decides any more: every waiting report counts as answered; the trials to
        send a "continue" to, once per report that waited."""
        self.deciding = False
        owed = []
        for key, n in self._unanswered.items():
            owed.extend([self._infos[key]] * n)
            self._unanswered[key] = 0
        self._answered.notify_all()
        return owed

    def wait(self, info: TrialInfo) -> None:
        """Block until every report of ``info`` (an in-process trial) is answered, or no loop
        decides any more, or the runner closes."""
        key = id(info)
        self._answered.wait_for(lambda: self._unanswered.get(key, 0) <= 0 or self.closed
                                or not self.deciding)


def check_wait_for_decisions(wait: object, runner: object) -> Callable[[bool], None] | None:
    """The runner's ``set_wait_for_decisions`` when ``wait`` is ``True``, ``None`` when it is
    ``False``; ``TypeError`` for anything else, and for a runner that cannot make reports wait."""
    if not isinstance(wait, bool):
        raise TypeError(f"wait_for_decisions must be True or False, got {wait!r} "
                        f"(type {type(wait).__name__})")
    if not wait:
        return None
    setter = getattr(runner, "set_wait_for_decisions", None)
    if not callable(setter):
        raise TypeError(
            f"wait_for_decisions=True needs a runner that can hold each report of a trial "
            f"until the optimizer has decided on it (a set_wait_for_decisions() method, as "
            f"every built-in runner has); {type(runner).__name__} has none, so a stop would "
            f"land whenever it arrives. Use a built-in runner, implement it, or pass "
            f"wait_for_decisions=False")
    return setter  # type: ignore[no-any-return]
