"""``MedianStopping``: the median stopping rule around any ask/tell optimizer. A running trial
is stopped when its best cost so far is worse than the median, over the other trials that got
that far, of their mean cost up to the same step (the rule of Google Vizier)."""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from typing import Any

import attrs

from runner import Decision, Optimizer, OptimizerCapabilities
from runner.lowlevel import check_optimizer
from trials import Report, TrialInfo, TrialValue

__all__ = ["MedianStopping"]


def _scalar(cost: Any) -> float:
    return float(cost[0] if isinstance(cost, tuple) else cost)


class MedianStopping:
    """Wrap ``optimizer`` with the median stopping rule (asks and tells go to it, and so do
    its ``ask_batch``, ``restore``, ``restore_pending``, ``drop_checkpoints`` and
    ``fingerprint`` when it has them: `optimizer_capabilities`): judge a trial only from step
    ``min_step`` on, and only once ``min_trials`` other trials have reported up to that step. The wrapped optimizer's own ``on_report``, if any,
    is asked first; a stop from either stops the trial."""

    def __init__(self, optimizer: Optimizer, *, min_step: float = 1, min_trials: int = 3) -> None:
        """See the class doc."""
        check_optimizer(optimizer)
        if isinstance(min_trials, bool) or not isinstance(min_trials, int) or min_trials < 1:
            raise ValueError(f"min_trials must be an int >= 1, got {min_trials!r}")
        if isinstance(min_step, bool) or not isinstance(min_step, (int, float)) or min_step < 0:
            raise ValueError(f"min_step must be a number >= 0, got {min_step!r}")
        self.optimizer = optimizer
        self._inner = OptimizerCapabilities.of(optimizer)
        self.min_step, self.min_trials = min_step, min_trials
        self._curves: dict[int, tuple[TrialInfo, list[tuple[float, float]]]] = {}
        self.n_stopped = 0

    def ask(self) -> TrialInfo | None:
        return self.optimizer.ask()

    def tell(self, info: TrialInfo, value: TrialValue) -> None:
        self.optimizer.tell(info, value)

    def on_report(self, info: TrialInfo, report: Report) -> Decision:
        """Record the report; stop the trial if the wrapped optimizer or the rule says so."""
        inner = self._inner.on_report
        decision = Decision.of(inner(info, report)) if inner is not None else Decision.CONTINUE
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

    def fingerprint(self) -> Mapping[str, Any]:
        """The wrapped optimizer's fingerprint (its space and settings), ``{}`` if it has none."""
        inner = self._inner.fingerprint
        return inner() if inner is not None else {}

    def optimizer_capabilities(self) -> OptimizerCapabilities:
        """Its own ``on_report``, and what it forwards of the wrapped optimizer's capabilities
        (each one the wrapped optimizer has, called on it directly)."""
        return attrs.evolve(self._inner, on_report=self.on_report, fingerprint=self.fingerprint)

    def __repr__(self) -> str:
        return (f"MedianStopping({self.optimizer!r}, min_step={self.min_step}, "
                f"min_trials={self.min_trials})")
