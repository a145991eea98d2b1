"""``ASHA``: asynchronous successive halving (Li et al., 2020), of two types.

``mode="stopping"`` (the default): every trial is asked at ``max_budget`` and reports as it goes
(``report.step``: the budget used so far, e.g. epochs); when it first reaches a rung
(``min_budget * eta**k``) its cost there is ranked against every cost recorded at that rung so
far, and it is stopped unless it is in the best ``1/eta``.

``mode="promotion"``: trials are asked at the rung budgets (rung 0 = ``min_budget``, the top rung
``max_budget``) and their final cost is recorded at their rung when told. ``ask()`` looks, top
rung down, for a configuration in the best ``1/eta`` (rounded down) of what rung ``k`` has
recorded that was not promoted yet, and asks ``runner.continue_trial(its trial,
budget=<rung k + 1>)``, so a target that takes ``checkpoint`` resumes where it stopped; with
none to promote it asks a new configuration at ``min_budget``. ``drop_checkpoints()`` lists a
trial once it reached ``max_budget``, and, when the study is exhausted (``n_configs`` new
configurations asked and every trial told, so no rung changes any more), every trial that was
not promoted; without ``n_configs`` the rest stay until the study ends (the loop removes them).

No rung ever waits for another trial (that is the *asynchronous* part): a trial is judged on
what has been seen, so early trials are judged leniently and later ones against a fuller rung.
Configuration ``k`` is sampled from ``(seed, k)`` alone (``n_configs`` counts configurations,
not continuations, as ``SuccessiveHalving``'s does; ``n_trials`` is its old name). On resume
the rung records are rebuilt by ``restore``: from the journal's learning curves (stopping type)
or from the told trials (promotion type).
"""

from __future__ import annotations

import bisect
import math
import warnings
from collections.abc import Iterable
from typing import Any

from runner import continue_trial
from runner.optimizers._hyperband import _check_budgets
from runner.optimizers._space import (
    _check_positive_int,
    _check_seed,
    as_sampler,
    describe_space,
    index_rng,
)
from trials import Report, StatusType, TrialInfo, TrialValue

__all__ = ["ASHA", "INDEX_KEY", "MODES", "RUNG_KEY"]

INDEX_KEY = "asha_index"
"""The ``TrialInfo.additional_info`` key holding a trial's sample index."""

RUNG_KEY = "asha_rung"
"""The ``TrialInfo.additional_info`` key holding a promotion-type trial's rung."""

MODES = ("stopping", "promotion")


def _scalar(cost: Any) -> float:
    if isinstance(cost, tuple):
        if len(cost) != 1:
            raise ValueError(f"ASHA ranks by one cost, got {len(cost)} objectives: {cost!r}")
        cost = cost[0]
    return math.inf if math.isnan(cost) else float(cost)


class ASHA:
    """Asynchronous successive halving, of the stopping or the promotion type (module doc).

    ``space``: a dict spec or a ConfigSpace space; rungs at ``min_budget * eta**k`` up to
    ``max_budget``; ``n_configs``: how many configurations to start (``None``: until the loop's
    goals stop it; ``n_trials`` is its deprecated old name). Stopping type: the target must take
    ``budget`` (it is ``max_budget``) and ``report``. Promotion type: the target takes
    ``budget`` and, to resume rather than restart a promoted configuration, ``checkpoint``.
    """

    def __init__(self, space: Any, min_budget: float, max_budget: float, eta: int = 3,
                 seed: int | None = None, *, n_configs: int | None = None,
                 mode: str = "stopping", n_trials: int | None = None) -> None:
        """See the class doc."""
        if mode not in MODES:
            raise ValueError(f"mode must be 'stopping' or 'promotion', got {mode!r} "
                             f"(type {type(mode).__name__})")
        self.mode = mode
        lo, hi, self.eta = _check_budgets(min_budget, max_budget, eta)
        self.min_budget, self.max_budget = lo, hi
        self._sampler = as_sampler(space)
        self.seed = _check_seed(seed)
        self.n_configs = _check_positive_int("n_configs", _renamed(n_configs, n_trials))
        """How many configurations to start (``None``: until the loop's goals stop it)."""
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
        self._promotion = _Promotion(rungs + [hi], self.eta) if mode == "promotion" else None
        self._dropped: list[TrialInfo] = []  # told trials to list in drop_checkpoints()
        self._ended = False  # promotion type: the unpromoted trials were listed

    def ask(self) -> TrialInfo | None:
        """Promotion type: a promotion if there is one. Otherwise a new configuration (at
        ``max_budget``, or ``min_budget`` for the promotion type), or ``None`` once
        ``n_configs`` were asked."""
        if self._promotion is not None:
            promoted = self._promotion.promote()
            if promoted is not None:
                return promoted
        k = self._next
        while k in self._taken:
            k += 1
        if self.n_configs is not None and k >= self.n_configs:
            return None
        self._next = k + 1
        config = self._sampler.sample(index_rng(self.seed, k))
        if self._promotion is not None:
            self._promotion.asked(k, 0)
            return TrialInfo(config, budget=self.min_budget,
                             additional_info={INDEX_KEY: k, RUNG_KEY: 0})
        return TrialInfo(config, budget=self.max_budget, additional_info={INDEX_KEY: k})

    def on_report(self, info: TrialInfo, report: Report) -> str:
        """Judge ``info`` at every rung its ``report.step`` has newly reached (stopping type;
        the promotion type lets every trial run to its budget)."""
        k = info.additional_info.get(INDEX_KEY)
        if not isinstance(k, int) or self._promotion is not None:
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
        """A trial ended. Stopping type: its state lives in the rung records, nothing more to
        do. Promotion type: its cost is recorded at its rung."""
        k = info.additional_info.get(INDEX_KEY)
        if isinstance(k, int):
            self._reached.pop(k, None)
            self._taken.add(k)
        if self._promotion is None:
            self._dropped.append(info)  # nothing continues a stopping-type trial
            return
        rung = info.additional_info.get(RUNG_KEY)
        if isinstance(k, int) and isinstance(rung, int) and 0 <= rung < len(self._promotion.budgets):
            self._promotion.record(k, rung, info, _scalar(value.cost))
            if self._exhausted() and not self._ended:
                self._ended = True
                self._promotion.dropped.extend(self._promotion.unpromoted())
        else:
            self._dropped.append(info)

    def drop_checkpoints(self) -> list[TrialInfo]:
        """The told trials whose checkpoints nothing will continue, each listed once (the loop
        removes their directories): see the module doc."""
        dropped, self._dropped = self._dropped, []
        if self._promotion is not None:
            dropped += self._promotion.dropped
            self._promotion.dropped = []
        return dropped

    def _exhausted(self) -> bool:
        """Promotion type: every configuration asked and told, and none left to promote."""
        assert self._promotion is not None
        return (self.n_configs is not None and len(self._taken) >= self.n_configs
                and not self._promotion.running and not self._promotion.has_candidate())

    def restore(self, history: Iterable[tuple[TrialInfo, TrialValue]]) -> None:
        """On resume: the rung records from the finished trials (the stopping type replays
        their learning curves; the promotion type their final costs)."""
        curve = getattr(history, "curve", None)
        stopped = self.n_stopped
        for info, value in history:
            if self._promotion is None:
                for report in (curve(info) if curve is not None else ()):
                    self.on_report(info, report)  # the records; the decisions were taken then
            self.tell(info, value)
            stopped += value.status is StatusType.STOPPED
        self.n_stopped = stopped

    def restore_pending(self, info: TrialInfo) -> None:
        """On resume: an unfinished trial runs again (from its start, or from the checkpoint
        it continues)."""
        k = info.additional_info.get(INDEX_KEY)
        if isinstance(k, int):
            self._taken.add(k)
            self._next = max(self._next, k + 1)
            if self._promotion is not None:
                self._promotion.asked(k, info.additional_info.get(RUNG_KEY))

    def fingerprint(self) -> dict[str, Any]:
        """What a resumed study must share with this one: the space, the rungs (and the type,
        when it is not the default)."""
        out = {"space": describe_space(self._sampler), "rungs": self.rungs,
               "max_budget": self.max_budget}
        if self.mode != "stopping":
            out["mode"] = self.mode
        return out

    @property
    def n_trials(self) -> int | None:
        """Deprecated: ``n_configs`` (the same number, named as ``SuccessiveHalving`` names it)."""
        warnings.warn("ASHA.n_trials is deprecated and will be removed in the next release; use "
                      "ASHA.n_configs (the same number)", DeprecationWarning, stacklevel=2)
        return self.n_configs

    def __repr__(self) -> str:
        mode = "" if self.mode == "stopping" else f", mode={self.mode!r}"
        return (f"ASHA({self._sampler!r}, min_budget={self.min_budget:g}, max_budget="
                f"{self.max_budget:g}, eta={self.eta}, seed={self.seed}{mode})")


def _renamed(n_configs: int | None, n_trials: int | None) -> int | None:
    """``n_configs``, or the value given under its old name ``n_trials`` (with a warning)."""
    if n_trials is None:
        return n_configs
    if n_configs is not None:
        raise TypeError(f"ASHA got both n_configs={n_configs!r} and n_trials={n_trials!r}; "
                        "n_trials is the old name of n_configs: give only n_configs")
    warnings.warn("ASHA(n_trials=...) is deprecated and will be removed in the next release; "
                  "pass n_configs=... (the same number: how many configurations to start)",
                  DeprecationWarning, stacklevel=3)
    return n_trials


class _Promotion:
    """The rung records of the promotion type: per rung the recorded ``(cost, index)`` pairs in
    order, the told trial of each index, and the indices promoted from it."""

    def __init__(self, budgets: list[float], eta: int) -> None:
        self.budgets, self.eta = budgets, eta
        top = len(budgets) - 1
        self.records: list[list[tuple[float, int]]] = [[] for _ in range(top)]
        self.trials: list[dict[int, TrialInfo]] = [{} for _ in range(top)]
        self.promoted: list[set[int]] = [set() for _ in range(top)]
        self.running: set[tuple[int, int]] = set()  # (index, rung) asked, not told yet
        self.dropped: list[TrialInfo] = []

    def asked(self, k: int, rung: Any) -> None:
        """Configuration ``k`` was asked at ``rung`` (so promoted from the rung below)."""
        if not isinstance(rung, int) or not 0 <= rung < len(self.budgets):
            return
        self.running.add((k, rung))
        if rung > 0:
            self.promoted[rung - 1].add(k)

    def record(self, k: int, rung: int, info: TrialInfo, cost: float) -> None:
        self.running.discard((k, rung))
        if rung > 0:
            self.promoted[rung - 1].add(k)
        if rung == len(self.budgets) - 1:
            self.dropped.append(info)  # at max_budget: nothing continues it
            return
        if k in self.trials[rung]:  # told twice (a resumed journal): keep the first
            return
        bisect.insort(self.records[rung], (cost, k))
        self.trials[rung][k] = info

    def _candidate(self, rung: int) -> int | None:
        """The best configuration in the top ``1/eta`` of ``rung`` not promoted yet."""
        records = self.records[rung]
        for cost, k in records[: len(records) // self.eta]:
            if k not in self.promoted[rung] and math.isfinite(cost):
                return k
        return None

    def has_candidate(self) -> bool:
        return any(self._candidate(r) is not None for r in range(len(self.records)))

    def promote(self) -> TrialInfo | None:
        """A continuation of the best promotable configuration, top rung down, or ``None``."""
        for rung in range(len(self.records) - 1, -1, -1):
            k = self._candidate(rung)
            if k is None:
                continue
            went = continue_trial(self.trials[rung][k], self.budgets[rung + 1])
            self.asked(k, rung + 1)
            return TrialInfo(went.config, instance=went.instance, seed=went.seed,
                             budget=went.budget,
                             additional_info={**went.additional_info, RUNG_KEY: rung + 1})
        return None

    def unpromoted(self) -> list[TrialInfo]:
        """The recorded trials below the top rung that were never promoted."""
        return [info for rung, trials in enumerate(self.trials) for k, info in trials.items()
                if k not in self.promoted[rung]]


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
