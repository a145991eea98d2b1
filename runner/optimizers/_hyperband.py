"""Multi-fidelity optimizers: ``SuccessiveHalving`` and ``Hyperband``, which set
``TrialInfo.budget`` and promote configurations on the results they are told.

A *bracket* is a list of rungs, rung ``i`` holding ``n_i`` slots evaluated at budget ``b_i``.
Rung 0's slots are random configurations; once every result of rung ``i`` is told, its best
``n_{i+1}`` configurations (ties: lower slot first) fill rung ``i + 1``. Several brackets run at
once: when the oldest one waits for results, ``ask`` proposes from the next, so workers do not
idle while a rung drains; ``ask`` returns ``None`` when every started bracket waits (the loop
then waits for results) or all are done (exhausted).

Each trial carries ``{"bracket", "rung", "slot"}`` in ``additional_info`` and rung 0's slot ``j``
of bracket ``b`` is sampled from ``(seed, b, j)`` alone, so a fresh optimizer that is told the
finished trials of a journal and shown the unfinished ones (``restore_pending``) is in the state
the first one was in.

With ``continuation=True`` a configuration promoted to rung ``i + 1`` is asked as
``runner.continue_trial(<its rung-i trial>, budget=b_{i+1})`` (relabelled for its new rung), so
a target that takes ``checkpoint`` resumes from what it saved instead of starting over.
``drop_checkpoints()`` lists the trials whose checkpoints will never be continued: once a rung
is decided, the configurations it did not promote; once a bracket ends, its final rung's trials
(without ``continuation``, every trial as soon as it is told). A promoted trial is never listed
itself: its continuation uses the same directory and is listed in its place.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from typing import Any

from runner import continue_trial
from runner.optimizers._space import (
    _check_positive_int,
    _check_seed,
    as_sampler,
    describe_space,
    index_rng,
)
from trials import TrialInfo, TrialValue

__all__ = ["Hyperband", "SuccessiveHalving"]

log = logging.getLogger(__name__)

Rungs = list[tuple[int, float]]
"""A bracket's plan: ``(n_slots, budget)`` per rung."""


def _check_budgets(min_budget: Any, max_budget: Any, eta: Any) -> tuple[float, float, int]:
    for name, value in (("min_budget", min_budget), ("max_budget", max_budget)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{name} must be a number > 0, got {value!r}")
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    if min_budget > max_budget:
        raise ValueError(f"min_budget must be <= max_budget, got min_budget={min_budget!r}, "
                         f"max_budget={max_budget!r}")
    if isinstance(eta, bool) or not isinstance(eta, int):
        raise TypeError(f"eta must be an int >= 2, got {eta!r}")
    if eta < 2:
        raise ValueError(f"eta must be >= 2, got {eta!r}")
    return float(min_budget), float(max_budget), eta


def _s_max(min_budget: float, max_budget: float, eta: int) -> int:
    """How many times the budget can be multiplied by ``eta`` within the range."""
    return int(math.floor(math.log(max_budget / min_budget) / math.log(eta) + 1e-9))


def _plan(n: int, s: int, max_budget: float, eta: int) -> Rungs:
    """Rungs of a bracket starting ``n`` configurations ``s`` halvings below ``max_budget``."""
    return [(max(1, n // eta**i), max_budget / eta ** (s - i)) for i in range(s + 1)]


def _labels(info: TrialInfo) -> tuple[int, int, int] | None:
    extra = info.additional_info
    key = (extra.get("bracket"), extra.get("rung"), extra.get("slot"))
    if all(isinstance(k, int) and not isinstance(k, bool) for k in key):
        return key  # type: ignore[return-value]
    return None


def _scalar_cost(value: TrialValue) -> float:
    cost = value.cost
    if isinstance(cost, tuple):
        if len(cost) != 1:
            raise ValueError(
                f"successive halving ranks by one cost, but a trial was told {len(cost)} "
                f"objectives: {cost!r}"
            )
        cost = cost[0]
    return math.inf if math.isnan(cost) else cost


class _Bracket:
    """One bracket's state: what each rung has handed out, what it has been told, promotions."""

    __slots__ = ("index", "plan", "configs", "handed", "costs", "rung", "infos", "parents",
                 "dropped")

    def __init__(self, index: int, plan: Rungs) -> None:
        self.index = index
        self.plan = plan
        self.configs: list[dict[int, Mapping[str, Any]]] = [{} for _ in plan]
        self.handed: list[set[int]] = [set() for _ in plan]
        self.costs: list[dict[int, float]] = [{} for _ in plan]
        self.rung = 0  # the highest rung whose configurations are known
        self.infos: list[dict[int, TrialInfo]] = [{} for _ in plan]  # the told trial per slot
        self.parents: list[dict[int, int]] = [{} for _ in plan]  # slot -> slot promoted from
        self.dropped: list[TrialInfo] = []  # told trials of decided rungs, not promoted

    @property
    def done(self) -> bool:
        last = len(self.plan) - 1
        return self.rung == last and len(self.costs[last]) == self.plan[last][0]

    def advance(self) -> None:
        """Promote while the current rung is complete."""
        while self.rung < len(self.plan) - 1 and len(self.costs[self.rung]) == self.plan[self.rung][0]:
            told = self.costs[self.rung]
            ranked = sorted(told, key=lambda slot: (told[slot], slot))
            keep = self.plan[self.rung + 1][0]
            source, infos = self.configs[self.rung], self.infos[self.rung]
            self.dropped.extend(infos[slot] for slot in ranked[keep:] if slot in infos)
            self.rung += 1
            self.configs[self.rung] = {j: source[slot] for j, slot in enumerate(ranked[:keep])}
            self.parents[self.rung] = dict(enumerate(ranked[:keep]))

    def next_slot(self) -> int | None:
        """A slot of the current rung not handed out yet, or ``None``."""
        handed = self.handed[self.rung]
        for slot in range(self.plan[self.rung][0]):
            if slot not in handed:
                return slot
        return None


class _MultiFidelity:
    """Runs brackets from a cycle of plans, several at once; subclasses choose the plans."""

    def __init__(self, space: Any, plans: list[Rungs], *, seed: int | None,
                 n_iterations: int | None, continuation: bool) -> None:
        if not isinstance(continuation, bool):
            raise TypeError(f"continuation must be True or False, got {continuation!r} "
                            f"(type {type(continuation).__name__})")
        self._sampler = as_sampler(space)
        self.seed = _check_seed(seed)
        self.continuation = continuation
        self._dropped: list[TrialInfo] = []  # trials to list in drop_checkpoints()
        self._plans = plans
        n = _check_positive_int("n_iterations", n_iterations)
        self.n_brackets: int | None = None if n is None else n * len(plans)
        self._brackets: dict[int, _Bracket] = {}
        self._started = 0  # brackets 0 .. _started - 1 exist (or are done and dropped)
        self._finished: set[int] = set()

    def ask(self) -> TrialInfo | None:
        """A trial of the oldest bracket that has one to hand out, starting a new bracket when all
        started ones wait; ``None`` when all wait for results or all brackets are done."""
        for bracket in list(self._brackets.values()):
            info = self._propose(bracket)
            if info is not None:
                return info
        while self.n_brackets is None or self._started < self.n_brackets:
            bracket = self._bracket(self._started)
            info = self._propose(bracket)
            if info is not None:
                return info
        return None

    def tell(self, info: TrialInfo, value: TrialValue) -> None:
        """Record ``value`` for ``info``'s slot; promote once its rung is complete."""
        labels = _labels(info)
        if not self.continuation or labels is None or labels[0] in self._finished:
            self._dropped.append(info)  # never continued
        if labels is None:
            log.warning("%s was told a trial it did not propose (no bracket/rung/slot in its "
                        "additional_info); ignored", type(self).__name__)
            return
        b, r, slot = labels
        if b in self._finished:
            return
        bracket = self._bracket(b)
        if r >= len(bracket.plan) or slot >= bracket.plan[r][0]:
            log.warning("%s: trial labels %s do not fit bracket %d; ignored",
                        type(self).__name__, labels, b)
            return
        bracket.configs[r].setdefault(slot, info.config)
        bracket.handed[r].add(slot)
        bracket.costs[r][slot] = _scalar_cost(value)
        bracket.infos[r][slot] = info
        bracket.advance()
        if bracket.done:
            if self.continuation:
                self._dropped.extend(bracket.dropped)
                self._dropped.extend(bracket.infos[-1].values())
            del self._brackets[b]
            self._finished.add(b)

    def drop_checkpoints(self) -> list[TrialInfo]:
        """The told trials this optimizer will never continue, each listed once (the loop
        removes their checkpoint directories): see the module doc."""
        dropped, self._dropped = self._dropped, []
        for bracket in self._brackets.values():
            if self.continuation:
                dropped.extend(bracket.dropped)
            bracket.dropped = []
        return dropped

    def restore(self, history: Iterable[tuple[TrialInfo, TrialValue]]) -> None:
        """On resume: the finished trials of an earlier session, told in their order (the
        brackets end up as the first session left them)."""
        for info, value in history:
            self.tell(info, value)

    def restore_pending(self, info: TrialInfo) -> None:
        """On resume: ``info`` was proposed by an earlier session and runs again."""
        labels = _labels(info)
        if labels is None:
            return
        b, r, slot = labels
        if b in self._finished:
            return
        bracket = self._bracket(b)
        if r < len(bracket.plan) and slot < bracket.plan[r][0]:
            bracket.configs[r].setdefault(slot, info.config)
            bracket.handed[r].add(slot)

    def _bracket(self, b: int) -> _Bracket:
        """Bracket ``b``, starting it (and any before it) if needed."""
        while self._started <= b:
            index = self._started
            self._brackets[index] = _Bracket(index, self._plans[index % len(self._plans)])
            self._started += 1
        return self._brackets[b]

    def _propose(self, bracket: _Bracket) -> TrialInfo | None:
        bracket.advance()
        slot = bracket.next_slot()
        if slot is None:
            return None
        r = bracket.rung
        config = bracket.configs[r].get(slot)
        if config is None:  # rung 0: sample it
            config = self._sampler.sample(index_rng(self.seed, bracket.index, slot))
            bracket.configs[r][slot] = config
        bracket.handed[r].add(slot)
        labels = {"bracket": bracket.index, "rung": r, "slot": slot}
        budget = bracket.plan[r][1]
        if self.continuation and r > 0:
            # continue_trial copies the rung r-1 trial's additional_info: relabel for rung r
            went = continue_trial(bracket.infos[r - 1][bracket.parents[r][slot]], budget)
            return TrialInfo(went.config, instance=went.instance, seed=went.seed, budget=budget,
                             additional_info={**went.additional_info, **labels})
        return TrialInfo(config, budget=budget, additional_info=labels)

    def fingerprint(self) -> dict[str, Any]:
        """What a resumed study must share with this one: the space, the bracket plans (the
        budgets) and whether promoted trials continue; seed and ``n_iterations`` may change."""
        return {"space": describe_space(self._sampler),
                "brackets": [[[n, b] for n, b in plan] for plan in self._plans],
                "continuation": self.continuation}

    @property
    def brackets(self) -> list[Rungs]:
        """The bracket plans cycled through: ``(n_configs, budget)`` per rung."""
        return [list(plan) for plan in self._plans]


class SuccessiveHalving(_MultiFidelity):
    """Successive halving: ``n_configs`` random configurations at the lowest budget, the best
    ``1/eta`` of each rung promoted to ``eta`` times the budget, up to ``max_budget``.

    ``n_configs`` defaults to ``eta ** s`` (one survivor at ``max_budget``), where ``s`` is the
    number of times ``eta`` fits between ``min_budget`` and ``max_budget``; ``n_iterations``
    brackets run (``None``: until the loop's goals stop it). ``continuation=True``: a promoted
    configuration continues its previous trial's checkpoint (see the module doc).
    """

    def __init__(self, space: Any, *, min_budget: float, max_budget: float, eta: int = 3,
                 seed: int | None = None, n_configs: int | None = None,
                 n_iterations: int | None = 1, continuation: bool = False) -> None:
        """See the class doc."""
        lo, hi, eta = _check_budgets(min_budget, max_budget, eta)
        s = _s_max(lo, hi, eta)
        n = _check_positive_int("n_configs", n_configs) or eta**s
        super().__init__(space, [_plan(n, s, hi, eta)], seed=seed, n_iterations=n_iterations,
                         continuation=continuation)


class Hyperband(_MultiFidelity):
    """Hyperband: successive-halving brackets from the most aggressive (many configurations at
    ``max_budget / eta**s_max``) to plain random search at ``max_budget``; one iteration runs
    all ``s_max + 1`` brackets (``n_iterations=None``: until the loop's goals stop it).
    ``continuation=True``: a promoted configuration continues its previous trial's checkpoint
    (see the module doc)."""

    def __init__(self, space: Any, *, min_budget: float, max_budget: float, eta: int = 3,
                 seed: int | None = None, n_iterations: int | None = 1,
                 continuation: bool = False) -> None:
        """See the class doc."""
        lo, hi, eta = _check_budgets(min_budget, max_budget, eta)
        s_max = _s_max(lo, hi, eta)
        plans = [
            _plan(int(math.ceil((s_max + 1) / (s + 1) * eta**s - 1e-9)), s, hi, eta)
            for s in range(s_max, -1, -1)
        ]
        super().__init__(space, plans, seed=seed, n_iterations=n_iterations,
                         continuation=continuation)
