"""``ASHA``: asynchronous successive halving of the stopping type. Every trial is asked at
``max_budget`` and reports as it goes (``report.step``: the budget used so far, e.g. epochs);
when it first reaches a rung (``min_budget * eta**k``) its cost there is ranked against every
cost recorded at that rung so far, and it is stopped unless it is in the best ``1/eta``.

No rung ever waits for another trial (that is the *asynchronous* part): a trial decides on what
has been seen, so early trials are judged leniently and later ones against a fuller rung.
Trial ``k``'s configuration is sampled from ``(seed, k)`` alone, and the rung records are
rebuilt on resume from the journal's learning curves (``restore``).
"""

from __future__ import annotations

import bisect
import math
from typing import Any

from runner.optimizers._hyperband import _check_budgets
from runner.optimizers._space import (
    _check_positive_int,
    _check_seed,
    as_sampler,
    describe_space,
    index_rng,
)
from trials import Report, StatusType, TrialInfo, TrialValue

__all__ = ["ASHA", "INDEX_KEY"]

INDEX_KEY = "asha_index"
"""The ``TrialInfo.additional_info`` key holding a trial's sample index."""


def _scalar(cost: Any) -> float:
    if isinstance(cost, tuple):
        if len(cost) != 1:
            raise ValueError(f"ASHA ranks by one cost, got {len(cost)} objectives: {cost!r}")
        cost = cost[0]
    return math.inf if math.isnan(cost) else float(cost)


class ASHA:
    """Asynchronous successive halving, stopping type (see the module doc).

    ``space``: a dict spec or a ConfigSpace space; rungs at ``min_budget * eta**k`` up to
    ``max_budget``; ``n_trials``: how many trials to start (``None``: until the loop's goals
    stop it). The target must take ``budget`` (it is ``max_budget``) and ``report``.
    """

    def __init__(self, space: Any, min_budget: float, max_budget: float, eta: int = 3,
                 seed: int | None = None, *, n_trials: int | None = None) -> None:
        """See the class doc."""
        lo, hi, self.eta = _check_budgets(min_budget, max_budget, eta)
        self.min_budget, self.max_budget = lo, hi
        self._sampler = as_sampler(space)
        self.seed = _check_seed(seed)
        self.n_trials = _check_positive_int("n_trials", n_trials)
        rungs, b = [], lo
        while b < hi * (1 - 1e-9):
            rungs.append(b)
            b *= self.eta
        self.rungs: list[float] = rungs
        """The budgets at which trials are judged (``max_budget`` itself is not a rung)."""
        self._recorded: list[list[float]] = [[] for _ in rungs]  # sorted costs per rung
        self._reached: dict[int, int] = {}  # sample index -> rungs it has been judged at
        self._next = 0
        self._taken: set[int] = set()
        self.n_stopped = 0

    def ask(self) -> TrialInfo | None:
        """A new configuration at ``max_budget``, or ``None`` once ``n_trials`` were asked."""
        k = self._next
        while k in self._taken:
            k += 1
        if self.n_trials is not None and k >= self.n_trials:
            return None
        self._next = k + 1
        config = self._sampler.sample(index_rng(self.seed, k))
        return TrialInfo(config, budget=self.max_budget, additional_info={INDEX_KEY: k})

    def on_report(self, info: TrialInfo, report: Report) -> str:
        """Judge ``info`` at every rung its ``report.step`` has newly reached."""
        k = info.additional_info.get(INDEX_KEY)
        if not isinstance(k, int):
            return "continue"
        done = self._reached.get(k, 0)
        cost = _scalar(report.cost)
        decision = "continue"
        while done < len(self.rungs) and report.step >= self.rungs[done] * (1 - 1e-9):
            recorded = self._recorded[done]
            bisect.insort(recorded, cost)
            done += 1
            if cost > _cutoff(recorded, self.eta):
                decision = "stop"
                break
        self._reached[k] = done
        if decision == "stop":
            self.n_stopped += 1
        return decision

    def tell(self, info: TrialInfo, value: TrialValue) -> None:
        """A trial ended; ASHA's state lives in its rung records, so nothing more to do."""
        k = info.additional_info.get(INDEX_KEY)
        if isinstance(k, int):
            self._reached.pop(k, None)
            self._taken.add(k)

    def restore(self, history: Any) -> None:
        """On resume: the rung records from the finished trials' learning curves."""
        curve = getattr(history, "curve", None)
        stopped = self.n_stopped
        for info, value in history:
            for report in (curve(info) if curve is not None else ()):
                self.on_report(info, report)  # the records; the decisions were taken then
            self.tell(info, value)
            stopped += value.status is StatusType.STOPPED
        self.n_stopped = stopped

    def restore_pending(self, info: TrialInfo) -> None:
        """On resume: an unfinished trial runs again (from its start)."""
        k = info.additional_info.get(INDEX_KEY)
        if isinstance(k, int):
            self._taken.add(k)
            self._next = max(self._next, k + 1)

    def fingerprint(self) -> dict[str, Any]:
        """What a resumed study must share with this one: the space and the rungs."""
        return {"space": describe_space(self._sampler), "rungs": self.rungs,
                "max_budget": self.max_budget}

    def __repr__(self) -> str:
        return (f"ASHA({self._sampler!r}, min_budget={self.min_budget:g}, max_budget="
                f"{self.max_budget:g}, eta={self.eta}, seed={self.seed})")


def _cutoff(sorted_costs: list[float], eta: int) -> float:
    """The cost a trial must not exceed to be in the best ``1/eta`` of ``sorted_costs``
    (linear interpolation between ranks, so a lone trial always passes)."""
    position = (len(sorted_costs) - 1) / eta
    low = int(position)
    high = min(low + 1, len(sorted_costs) - 1)
    a, b = sorted_costs[low], sorted_costs[high]
    if math.isinf(a) or math.isinf(b):
        return a if position == low else b
    return a + (b - a) * (position - low)
