"""``Statistics``: a frozen snapshot of a loop's state, the one thing displays and reports read
(as trio exposes ``statistics()``), so they never reach into the loop's fields."""

from __future__ import annotations

import attrs

from runner._loop.timings import Timings
from trials import Cost

__all__ = ["GoalProgress", "Statistics"]


@attrs.frozen
class GoalProgress:
    """How far the loop is towards its first count or duration goal."""

    completed: float
    total: float
    unit: str
    """``"trials"`` or ``"seconds"``."""


@attrs.frozen
class Statistics:
    """What an ``OptimizationLoop`` has done so far; see ``OptimizationLoop.statistics``."""

    status: str
    """``"running"``, ``"cancelled"``, ``"failed"`` or ``"finished"``."""
    done: int
    """Trials with a final outcome in the history (resumed ones included)."""
    pending: int
    """Trials submitted or waiting to be resubmitted."""
    failed: int
    """Trials that crashed on every attempt."""
    retried: int
    """Attempts that crashed and were run again."""
    told: int
    """Results told to the optimizer in this session."""
    best: Cost | None
    """The incumbent's cost (``None``: no successful single-objective trial yet)."""
    elapsed: float
    """Seconds since the loop started, by its clock."""
    overhead: float
    """Percent of worker time not spent in targets."""
    timings: Timings
    """Where the time went."""
    goal: GoalProgress | None
    """Progress towards the first count or duration goal, if there is one."""

    @property
    def workers(self) -> int:
        """The most free workers the runner reported."""
        return self.timings.workers

    @property
    def trials_per_second(self) -> float:
        """Results told per second in this session."""
        return self.told / self.elapsed if self.elapsed > 0 else 0.0
