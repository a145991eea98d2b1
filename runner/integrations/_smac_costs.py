"""The cost SMAC3 is told for a failed trial, and our ``TrialValue`` as SMAC3's.

SMAC3 2.4's default ``crash_cost`` is ``inf``; its run-history encoders scale costs by their
range, so one infinite cost turns every target value into NaN and the random forest raises
``ValueError: Input y contains NaN.``, ending the study at its first crash. The adapters
therefore tell SMAC3 a finite cost for every failed trial (any status but SUCCESS and STOPPED,
or a cost that is not finite), keeping its real status:

* the scenario's ``crash_cost`` where it is finite (per objective);
* else the worst finite cost seen so far plus the spread of the costs seen (worst - best), or
  plus ``|worst|`` (``1`` when that is 0) while all costs seen are equal: a failure always
  counts as worse than every result seen when it is told.

A failure that arrives before any finite cost has been seen is held back and told right after
the first finite cost (a study in which nothing ever succeeds tells SMAC3 no failure at all:
there is nothing to derive a cost from).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Generic, TypeVar

from smac.runhistory import StatusType as SMACStatus
from smac.runhistory import TrialValue as SMACTrialValue

from runner.integrations._convert import cost_list, json_safe
from trials import StatusType, TrialValue

__all__ = ["FailureCosts", "to_smac_value"]

K = TypeVar("K")


def to_smac_value(value: TrialValue, order: list[int] | None,
                  cost: float | list[float] | None = None) -> SMACTrialValue:
    """SMAC3's ``TrialValue`` for ours (``cost`` replaces its cost when given): the first five
    statuses carry the same numbers; CANCELLED becomes CRASHED and STOPPED SUCCESS (SMAC3 has
    neither)."""
    status = value.status
    if status == StatusType.CANCELLED:
        status = StatusType.CRASHED
    elif status.name == "STOPPED":  # ended early by a decision on its reports: a result
        status = StatusType.SUCCESS
    return SMACTrialValue(cost=cost_list(value, order) if cost is None else cost,
                          time=value.time, cpu_time=value.cpu_time,
                          status=SMACStatus(int(status)), starttime=value.starttime,
                          endtime=value.endtime, additional_info=json_safe(value.additional_info))


def _as_list(cost: float | list[float]) -> list[float]:
    return [float(c) for c in cost] if isinstance(cost, list) else [float(cost)]


class FailureCosts(Generic[K]):
    """Converts finished trials for SMAC3, failures with a finite cost (see the module's
    docstring); ``K`` is what the caller tells SMAC3 alongside (its ``TrialInfo``)."""

    def __init__(self, crash_cost: float | Sequence[float], order: list[int] | None) -> None:
        self._order = order
        n = 1 if order is None else len(order)
        fixed = [float(c) for c in crash_cost] if isinstance(crash_cost, Sequence) \
            else [float(crash_cost)] * n
        self._fixed: list[float | None] = [c if math.isfinite(c) else None for c in fixed]
        self._best: list[float] | None = None
        self._worst: list[float] | None = None
        self._held: list[tuple[K, TrialValue]] = []

    def failure_cost(self) -> float | list[float] | None:
        """The cost a failure is told now (``None``: none derivable yet)."""
        if None in self._fixed and self._worst is None:
            return None
        costs: list[float] = []
        for i, fixed in enumerate(self._fixed):
            if fixed is not None:
                costs.append(fixed)
                continue
            assert self._worst is not None and self._best is not None
            worst, best = self._worst[i], self._best[i]
            costs.append(worst + ((worst - best) or abs(worst) or 1.0))
        return costs[0] if self._order is None else costs

    def convert(self, key: K, value: TrialValue) -> list[tuple[K, SMACTrialValue]]:
        """What to tell SMAC3 now: this trial (a failure with its finite cost), after it any
        failure held back until a finite cost was seen; nothing while this failure is held."""
        cost = cost_list(value, self._order)
        if value.status in (StatusType.SUCCESS, StatusType.STOPPED) \
                and all(math.isfinite(c) for c in _as_list(cost)):
            self._observe(_as_list(cost))
            ready = [(key, to_smac_value(value, self._order))]
            held, self._held = self._held, []
            return ready + [(k, self._failed(v)) for k, v in held]
        if self.failure_cost() is None:
            self._held.append((key, value))
            return []
        return [(key, self._failed(value))]

    def _failed(self, value: TrialValue) -> SMACTrialValue:
        cost = self.failure_cost()
        assert cost is not None
        return to_smac_value(value, self._order, cost)

    def _observe(self, costs: list[float]) -> None:
        if self._worst is None or self._best is None:
            self._worst, self._best = list(costs), list(costs)
            return
        self._worst = [max(w, c) for w, c in zip(self._worst, costs, strict=True)]
        self._best = [min(b, c) for b, c in zip(self._best, costs, strict=True)]
