"""Multi-fidelity variants: the same function, plus a penalty that shrinks with budget, the way
learning curves behave (a model trained less is worse, never better, than trained fully).

At budget ``b`` in ``[min_budget, max_budget]`` the cost is ``f(x) + scale * s * (bias(x) +
noise)``, with ``s = 1 - b / max_budget`` (0 at the full budget, so the known optimum holds there),
``bias(x)`` in [0, 1) a fixed function of the configuration (low budgets misrank some
configurations, as real learning curves do) and ``noise = |N(0, 0.1)|``, seeded by the
configuration, budget and trial seed (reproducible). The penalty is never negative, so a cost at
any budget is never below the function's optimum, and it is positive on average (pessimistic).
``scale`` is calibrated per problem (`calibrate`) so that the Spearman rank correlation
between the costs at budget 1 and at the full budget over the space is `RANK_CORRELATION`
(0.8): low fidelities are informative but misrank about one pair of configurations in ten.

The learning-curve variants (``<name>-mf-lc``) take a ``checkpoint`` directory: they save the
step they reached there, and a later run of the same configuration and seed that finds it (a
continuation) goes on from the next step and returns only the runtime it added.
"""

from __future__ import annotations

import functools
import json
import math
import random
import statistics
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from runner.problems._problem import Problem
from runner.problems._runtime import config_unit, timed_runtime

__all__ = ["FIDELITY", "RANK_CORRELATION", "calibrate", "learning_curves", "multi_fidelity",
           "penalty", "spearman"]

FIDELITY = (1.0, 27.0)
"""The budget range of the multi-fidelity variants: three halvings with eta = 3."""

RANK_CORRELATION = 0.8
"""The Spearman rank correlation between the costs at budget 1 and at the full budget that
`calibrate` aims the ``-mf`` variants at (tested within 0.7 to 0.9)."""

CALIBRATION_SAMPLES = 200
"""Configurations (fixed, seeded) the calibration and the spread are computed on."""


def _cost(target: Callable[..., Any], config: Mapping[str, Any]) -> float:
    value = target(config)
    cost = value[0] if isinstance(value, tuple) and len(value) == 2 and isinstance(
        value[1], Mapping) else value
    return float(cost)


def penalty(config: Mapping[str, Any], budget: float, seed: int | None, scale: float,
            max_budget: float) -> float:
    """What a cost at ``budget`` adds to the full-budget cost (module doc): never negative,
    zero at the full budget."""
    shrink = 1.0 - min(float(budget), max_budget) / max_budget
    if shrink <= 0.0:
        return 0.0
    rng = random.Random(config_unit(config, "noise", float(budget), seed))
    return scale * shrink * (config_unit(config, "bias") + abs(rng.gauss(0.0, 0.1)))


def mf_evaluate(config: Mapping[str, Any], *, budget: float | None = None,
                seed: int | None = None, base: Callable[..., Any], scale: float,
                max_budget: float) -> tuple[float, dict[str, Any]]:
    """The multi-fidelity target (see the module doc); ``budget=None`` means the full budget."""
    b = max_budget if budget is None else min(float(budget), max_budget)
    cost = _cost(base, config) + penalty(config, b, seed, scale, max_budget)
    return cost, {"runtime": timed_runtime(config, b, max_budget=max_budget)}


def _ranks(values: list[float]) -> list[float]:
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2.0
        i = j + 1
    return ranks


def spearman(a: list[float], b: list[float]) -> float:
    """The Spearman rank correlation of two equally long samples (ties share their mean rank;
    0 when either is constant)."""
    ra, rb = _ranks(a), _ranks(b)
    ma, mb = statistics.fmean(ra), statistics.fmean(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb, strict=True))
    va = sum((x - ma) ** 2 for x in ra)
    vb = sum((y - mb) ** 2 for y in rb)
    return cov / math.sqrt(va * vb) if va > 0 and vb > 0 else 0.0


def calibrate(configs: Sequence[Mapping[str, Any]], costs: list[float], max_budget: float,
              target: float = RANK_CORRELATION) -> float:
    """The ``scale`` at which the costs at budget 1 (full-budget ``costs`` plus
    `penalty`, seed ``None``) have rank correlation ``target`` with ``costs`` over
    ``configs``: a bisection on a log scale (the correlation falls as the scale grows)."""
    spread = max(statistics.pstdev(costs), 1e-12)
    units = [penalty(c, 1.0, None, 1.0, max_budget) for c in configs]
    low, high = math.log(spread * 1e-4), math.log(spread * 1e4)
    for _ in range(50):
        mid = (low + high) / 2.0
        scale = math.exp(mid)
        rho = spearman(costs, [f + scale * u for f, u in zip(costs, units, strict=True)])
        low, high = (mid, high) if rho > target else (low, mid)
    return math.exp((low + high) / 2.0)


def samples(space: Mapping[str, Any], n: int = CALIBRATION_SAMPLES) -> list[dict[str, Any]]:
    """``n`` fixed configurations of ``space`` (the same on every run)."""
    from runner.optimizers import SearchSpace

    sampler, rng = SearchSpace(space), random.Random("spread")
    return [dict(sampler.sample(rng)) for _ in range(n)]


def _scale(problem: Problem, max_budget: float) -> float:
    """The calibrated penalty scale of ``problem`` (see `calibrate`)."""
    configs = samples(problem.space)
    return calibrate(configs, [_cost(problem.target, c) for c in configs], max_budget)


def multi_fidelity(problem: Problem, fidelity: tuple[float, float] = FIDELITY) -> Problem:
    """The multi-fidelity variant of a single-objective problem, named ``<name>-mf``."""
    if len(problem.objectives) != 1:
        raise ValueError(f"problem {problem.name!r} has {len(problem.objectives)} objectives; "
                         "a multi-fidelity variant exists for single-objective problems only")
    if problem.fidelity is not None:
        raise ValueError(f"problem {problem.name!r} is multi-fidelity already")
    target = functools.partial(mf_evaluate, base=problem.target,
                               scale=_scale(problem, float(fidelity[1])),
                               max_budget=float(fidelity[1]))
    runtime = functools.partial(timed_runtime, max_budget=float(fidelity[1]))
    return Problem(f"{problem.name}-mf", problem.space, target, optimum=problem.optimum,
                   fidelity=fidelity, objectives=problem.objectives, runtime=runtime,
                   cheap=problem.cheap)


STATE_FILE = "curve-state.json"
"""The file a learning-curve target saves its progress to in its ``checkpoint`` directory."""


def _state_key(config: Mapping[str, Any], seed: int | None) -> list[Any]:
    """What a saved state must match to be continued: the configuration and the seed."""
    return [sorted([str(k), repr(v)] for k, v in config.items()), seed]  # as JSON reads it


def _saved_budget(checkpoint: Path | None, key: list[Any], budget: float) -> float:
    """The budget an earlier run of the same trial reached, from ``checkpoint``; 0 when there is
    none, it is of another configuration or seed, or it is not below ``budget``."""
    if checkpoint is None:
        return 0.0
    try:
        state = json.loads((Path(checkpoint) / STATE_FILE).read_text())
        saved = float(state["budget"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0.0
    return saved if state.get("key") == key and 0.0 < saved < budget else 0.0


def curve_evaluate(config: Mapping[str, Any], *, budget: float | None = None,
                   seed: int | None = None, target: Callable[..., Any],
                   max_budget: float, checkpoint: Path | None = None) -> tuple[float, dict[str, Any]]:
    """A multi-fidelity target that also returns its learning curve: one row ``(step, cost,
    runtime)`` per whole budget unit up to ``budget`` (what the simulated runner replays).

    With a ``checkpoint`` holding the state of an earlier run of this configuration and seed
    at a lower budget, it continues: rows from the next whole step on, and runtimes (the rows'
    and the returned one) counted from the saved budget. The costs are the same either way.
    It saves its budget there at the end."""
    b = max_budget if budget is None else min(float(budget), max_budget)
    key = _state_key(config, seed)
    saved = _saved_budget(checkpoint, key, b)
    offset = target(config, budget=saved, seed=seed)[1]["runtime"] if saved else 0.0
    rows = []
    for step in range(int(saved) + 1, int(b) + 1):
        cost, info = target(config, budget=float(step), seed=seed)
        rows.append((step, cost, info["runtime"] - offset))
    cost, info = target(config, budget=b, seed=seed)
    if checkpoint is not None:
        (Path(checkpoint) / STATE_FILE).write_text(json.dumps({"key": key, "budget": b}))
    return cost, {**info, "runtime": info["runtime"] - offset, "curve": rows}


def learning_curves(problem: Problem) -> Problem:
    """The variant of a multi-fidelity problem whose target returns its learning curve (the
    cost after each budget unit, when it got there), named ``<name>-lc``: trials run towards
    the budget they are given and report on the way."""
    if problem.fidelity is None:
        raise ValueError(f"problem {problem.name!r} is not multi-fidelity; learning curves "
                         "exist for multi-fidelity problems (append -mf first)")
    target = functools.partial(curve_evaluate, target=problem.target,
                               max_budget=float(problem.fidelity[1]))
    return attrs.evolve(problem, name=f"{problem.name}-lc", target=target, curves=True)
