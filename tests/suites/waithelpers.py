"""A problem of the wait_for_decisions suite tests, importable as ``waithelpers:<name>``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runner.problems import Problem
from runner.problems._functions import branin

SPACE = {"x0": (-5.0, 10.0), "x1": (0.0, 15.0)}


def instant_curve(config: Mapping[str, Any], *, budget: float | None = None,
                  seed: int | None = None, report: Any = None) -> float:
    """Branin plus 10/step after each of ``budget`` steps that take no time, reported."""
    cost = 0.0
    for step in range(1, int(budget or 27) + 1):
        cost = branin(config) + 10.0 / step
        if report is not None:
            report(step, cost)
    return cost


instant_branin = Problem("instant-branin", SPACE, instant_curve, optimum=0.397887357729738,
                         fidelity=(1.0, 27.0))
