"""``loop.incumbent`` of a Hyperband study is a trial at the highest budget (issue #14, item 3)."""

from __future__ import annotations

from typing import Any

from runner import OptimizationLoop, SerialRunner
from runner.optimizers import Hyperband

MAX_BUDGET = 9.0


def optimistic(config: Any, budget: float) -> float:
    """Low budgets look far better than they are: -5 at budget 1, honest at the full budget."""
    return (config["x"] - 0.3) ** 2 - 5.0 * (1 - budget / MAX_BUDGET)


def test_hyperband_incumbent_is_at_the_full_budget() -> None:
    """The optimistic budget-1 costs never become the incumbent."""
    optimizer = Hyperband({"x": (0.0, 1.0)}, min_budget=1, max_budget=MAX_BUDGET, eta=3, seed=0,
                          n_iterations=1)
    with SerialRunner(optimistic) as runner:
        loop = OptimizationLoop(optimizer, runner)
        loop.run()
    assert min(v.cost for _, v in loop.history) < -3  # the trap was there
    assert loop.incumbent is not None
    info, value = loop.incumbent
    assert info.budget == MAX_BUDGET
    assert value.cost == min(v.cost for i, v in loop.history if i.budget == MAX_BUDGET)
