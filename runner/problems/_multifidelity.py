"""Multi-fidelity variants: the same function, plus a bias and a noise that shrink with budget.

At budget ``b`` in ``[min_budget, max_budget]`` the cost is ``f(x) + scale * s * (bias(x) +
noise)``, with ``s = 1 - b / max_budget`` (0 at the full budget, so the known optimum holds there),
``bias(x)`` in [-0.5, 0.5) a fixed function of the configuration (low budgets misrank some
configurations, as real learning curves do) and ``noise`` Gaussian with sd 0.1, seeded by the
configuration, budget and trial seed (reproducible). ``scale`` is the spread of ``f`` over the
space, so every problem gets comparably informative low fidelities.

The learning-curve variants (``<name>-mf-lc``) take a ``checkpoint`` directory: they save the
step they reached there, and a later run of the same configuration and seed that finds it (a
continuation) goes on from the next step and returns only the runtime it added.
"""

from __future__ import annotations

import functools
import json
import random
import statistics
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs

from runner.problems._problem import Problem
from runner.problems._runtime import config_unit, timed_runtime

__all__ = ["FIDELITY", "learning_curves", "multi_fidelity"]

FIDELITY = (1.0, 27.0)
"""The budget range of the multi-fidelity variants: three halvings with eta = 3."""


def _cost(target: Callable[..., Any], config: Mapping[str, Any]) -> float:
    value = target(config)
    cost = value[0] if isinstance(value, tuple) and len(value) == 2 and isinstance(
        value[1], Mapping) else value
    return float(cost)


def mf_evaluate(config: Mapping[str, Any], *, budget: float | None = None,
                seed: int | None = None, base: Callable[..., Any], scale: float,
                max_budget: float) -> tuple[float, dict[str, Any]]:
    """The multi-fidelity target (see the module doc); ``budget=None`` means the full budget."""
    b = max_budget if budget is None else min(float(budget), max_budget)
    shrink = 1.0 - b / max_budget
    bias = config_unit(config, "bias") - 0.5
    rng = random.Random(config_unit(config, "noise", b, seed))
    cost = _cost(base, config) + scale * shrink * (bias + rng.gauss(0.0, 0.1))
    return cost, {"runtime": timed_runtime(config, b, max_budget=max_budget)}


def _spread(problem: Problem) -> float:
    """The standard deviation of the cost over 64 fixed samples of the space (at least 1e-9)."""
    from runner.optimizers import SearchSpace

    space, rng = SearchSpace(problem.space), random.Random("spread")
    costs = [_cost(problem.target, space.sample(rng)) for _ in range(64)]
    return max(statistics.pstdev(costs), 1e-9)


def multi_fidelity(problem: Problem, fidelity: tuple[float, float] = FIDELITY) -> Problem:
    """The multi-fidelity variant of a single-objective problem, named ``<name>-mf``."""
    if len(problem.objectives) != 1:
        raise ValueError(f"problem {problem.name!r} has {len(problem.objectives)} objectives; "
                         "a multi-fidelity variant exists for single-objective problems only")
    if problem.fidelity is not None:
        raise ValueError(f"problem {problem.name!r} is multi-fidelity already")
    target = functools.partial(mf_evaluate, base=problem.target, scale=_spread(problem),
                               max_budget=float(fidelity[1]))
    runtime = functools.partial(timed_runtime, max_budget=float(fidelity[1]))
    return Problem(f"{problem.name}-mf", problem.space, target, optimum=problem.optimum,
                   fidelity=fidelity, objectives=problem.objectives, runtime=runtime)


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
