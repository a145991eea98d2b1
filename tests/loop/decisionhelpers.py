"""Targets and optimizers of the wait_for_decisions tests (a module of its own, so worker
processes and dask workers import it by name)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from trials import TrialInfo, TrialValue


def instant(config: Mapping[str, Any], budget: float, report: Any) -> float:
    """A learning curve x + 1/step over ``budget`` steps that take no time, each reported."""
    x = float(config["x"])
    for step in range(1, int(budget) + 1):
        report(step, x + 1.0 / step)
    return x + 1.0 / budget


async def instant_async(config: Mapping[str, Any], budget: float, report: Any) -> float:
    """`instant` as a coroutine (it awaits each report)."""
    x = float(config["x"])
    for step in range(1, int(budget) + 1):
        await report(step, x + 1.0 / step)
    return x + 1.0 / budget


class StopAt:
    """Asks ``n`` trials at budget ``steps``; decides "stop" on each trial's report ``step``
    (after ``think`` seconds of deliberation over each trial's first report: a slow
    optimizer)."""

    def __init__(self, n: int, step: int, steps: int = 27, think: float = 0.0) -> None:
        self.n, self.step, self.steps, self.think = n, step, steps, think
        self.told: list[TrialValue] = []

    def ask(self) -> TrialInfo | None:
        if self.n == 0:
            return None
        self.n -= 1
        return TrialInfo({"x": float(self.n)}, budget=float(self.steps))

    def tell(self, info: TrialInfo, value: TrialValue) -> None:
        self.told.append(value)

    def on_report(self, info: TrialInfo, report: Any) -> str:
        if self.think and report.step == 1:
            time.sleep(self.think)  # the optimizer's own cost, not a synchronisation
        return "stop" if report.step >= self.step else "continue"
