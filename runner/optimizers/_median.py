"""``MedianStopping``: the median stopping rule around any ask/tell optimizer. A running trial
is stopped when its best cost so far is worse than the median, over the other trials that got
that far, of their mean cost up to the same step (the rule of Google Vizier)."""

from __future__ import annotations

import statistics
from typing import Any

from runner import Decision
from trials import Report, TrialInfo, TrialValue

__all__ = ["MedianStopping"]


def _scalar(cost: Any) -> float:
    return float(cost[0] if isinstance(cost, tuple) else cost)


class MedianStopping:
    """Wrap ``optimizer`` (asks, tells and everything else go to it) with the median stopping
    rule: judge a trial only from step ``min_step`` on, and only once ``min_trials`` other
    trials have reported up to that step. The wrapped optimizer's own ``on_report``, if any,
    is asked first; a stop from either stops the trial."""

    def __init__(self, optimizer: Any, *, min_step: float = 1, min_trials: int = 3) -> None:
        """See the class doc."""
        if not callable(getattr(optimizer, "ask", None)) or not callable(
                getattr(optimizer, "tell", None)):
            raise TypeError(f"optimizer must have ask() and tell(), got "
                            f"{type(optimizer).__name__}")
        if isinstance(min_trials, bool) or not isinstance(min_trials, int) or min_trials < 1:
            raise ValueError(f"min_trials must be an int >= 1, got {min_trials!r}")
        if isinstance(min_step, bool) or not isinstance(min_step, (int, float)) or min_step < 0:
            raise ValueError(f"min_step must be a number >= 0, got {min_step!r}")
        self.optimizer = optimizer
        self.min_step, self.min_trials = min_step, min_trials
        self._curves: dict[int, tuple[TrialInfo, list[tuple[float, float]]]] = {}
        self.n_stopped = 0

    def ask(self) -> TrialInfo | None:
        return self.optimizer.ask()  # type: ignore[no-any-return]

    def tell(self, info: TrialInfo, value: TrialValue) -> None:
        self.optimizer.tell(info, value)

    def on_report(self, info: TrialInfo, report: Report) -> Decision:
        """Record the report; stop the trial if the wrapped optimizer or the rule says so."""
        inner = getattr(self.optimizer, "on_report", None)
        decision = Decision.of(inner(info, report)) if callable(inner) else Decision.CONTINUE
        entry = self._curves.get(id(info))
        if entry is None or entry[0] is not info:
            entry = self._curves[id(info)] = (info, [])
        entry[1].append((float(report.step), _scalar(report.cost)))
        if decision is Decision.CONTINUE and self._below_median(info, entry[1]):
            decision = Decision.STOP
        if decision is not Decision.CONTINUE:
            self.n_stopped += 1
        return decision

    def _below_median(self, info: TrialInfo, curve: list[tuple[float, float]]) -> bool:
        step = curve[-1][0]
        if step < self.min_step:
            return False
        means = []
        for other, points in self._curves.values():
            if other is info or points[-1][0] < step:
                continue  # only trials that got at least as far
            upto = [c for s, c in points if s <= step]
            means.append(sum(upto) / len(upto))
        if len(means) < self.min_trials:
            return False
        return min(c for _, c in curve) > statistics.median(means)

    def __getattr__(self, name: str) -> Any:
        # restore, restore_pending, fingerprint ... of the wrapped optimizer
        if name == "optimizer":
            raise AttributeError(name)
        return getattr(self.optimizer, name)

    def __repr__(self) -> str:
        return (f"MedianStopping({self.optimizer!r}, min_step={self.min_step}, "
                f"min_trials={self.min_trials})")
