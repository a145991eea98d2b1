"""Goals of an `OptimizationLoop`: callables ``goal(loop) -> bool``, the loop
stopping to ask once any is met. The convenience goals also say how many more trials they allow
(``remaining``), so ``n_trials_goal=N`` ends with exactly ``N`` trials, never a few more.

The checks of the loop's other arguments live here too, so misuse fails at construction."""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from runner._core.capabilities import check_optimizer, check_runner
from runner._loop.statistics import GoalProgress
from trials import History, TrialInfo
from trials._numbers import real_to_float

__all__ = [
    "check_arguments",
    "CostGoal",
    "DurationGoal",
    "EndTimeGoal",
    "Goal",
    "NTrialsGoal",
    "make_goals",
]


class LoopState(Protocol):
    """What the built-in goals read of a loop (``OptimizationLoop`` has it)."""

    @property
    def history(self) -> History: ...
    @property
    def pending_trials(self) -> list[TrialInfo]: ...
    def elapsed_time(self) -> float: ...


@runtime_checkable
class Goal(Protocol):
    """Anything called with the loop and returning whether to stop asking."""

    def __call__(self, loop: LoopState) -> bool: ...


def _describe(value: Any) -> str:
    return f"{value!r} (type {type(value).__name__})"


def _real(name: str, value: Any) -> float:
    number = real_to_float(value, name, "a number")
    if math.isnan(number):
        raise ValueError(f"{name} must not be NaN")
    return number


class NTrialsGoal:
    """Met once the history holds ``n`` final outcomes (resumed ones included)."""

    def __init__(self, n: int) -> None:
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise TypeError(f"n_trials_goal must be an int >= 1, got {_describe(n)}")
        if n < 1:
            raise ValueError(f"n_trials_goal must be >= 1, got {n!r}")
        self.n: int = int(n)

    def __call__(self, loop: LoopState) -> bool:
        return len(loop.history) >= self.n

    def remaining(self, loop: LoopState) -> int:
        """New trials still allowed: ``n`` minus the finished and the in-flight ones."""
        return self.n - len(loop.history) - len(loop.pending_trials)

    def __repr__(self) -> str:
        return f"n_trials_goal={self.n}"


class CostGoal:
    """Met once the incumbent's cost is at most ``cost`` (never for several objectives)."""

    def __init__(self, cost: float) -> None:
        self.cost = _real("cost_goal", cost)

    def __call__(self, loop: LoopState) -> bool:
        incumbent = loop.history.incumbent
        if incumbent is None:
            return False
        cost = incumbent[1].cost
        return (cost[0] if isinstance(cost, tuple) else cost) <= self.cost

    def __repr__(self) -> str:
        return f"cost_goal={self.cost!r}"


class DurationGoal:
    """Met ``seconds`` after the loop started (by the loop's clock)."""

    def __init__(self, seconds: float) -> None:
        seconds = _real("duration_goal", seconds)
        if not seconds > 0:
            raise ValueError(f"duration_goal must be a number of seconds > 0, got {seconds!r}")
        self.seconds = seconds

    def __call__(self, loop: LoopState) -> bool:
        return loop.elapsed_time() >= self.seconds

    def __repr__(self) -> str:
        return f"duration_goal={self.seconds!r}"


class EndTimeGoal:
    """Met at the Unix time ``end``; converted once to the loop's clock, so a test's fake clock
    drives it like any other."""

    def __init__(self, end: float, clock: Callable[[], float], now: float | None = None) -> None:
        self.end = _real("end_time_goal", end)
        wall = time.time() if now is None else now
        if not math.isfinite(self.end) or self.end <= wall:
            raise ValueError(
                f"end_time_goal must be a Unix time in the future (now is {wall:.3f}), got "
                f"{self.end!r}; use duration_goal for a number of seconds"
            )
        self._clock = clock
        self._deadline = clock() + (self.end - wall)

    def __call__(self, loop: LoopState) -> bool:
        return self._clock() >= self._deadline

    def __repr__(self) -> str:
        return f"end_time_goal={self.end!r}"


def make_goals(goal: Any, cost_goal: Any, n_trials_goal: Any, end_time_goal: Any,
               duration_goal: Any, clock: Callable[[], float], now: float | None = None
               ) -> list[Callable[..., bool]]:
    """Validate the goal arguments; the loop stops asking when any of the returned goals is met.
    ``now``: the current time on the scale of ``end_time_goal`` (default: Unix time)."""
    goals: list[Callable[..., bool]] = []
    if goal is not None:
        if not callable(goal):
            raise TypeError(f"goal must be a callable goal(loop) -> bool, got {_describe(goal)}")
        goals.append(goal)
    if cost_goal is not None:
        goals.append(CostGoal(cost_goal))
    if n_trials_goal is not None:
        goals.append(NTrialsGoal(n_trials_goal))
    if end_time_goal is not None:
        goals.append(EndTimeGoal(end_time_goal, clock, now))
    if duration_goal is not None:
        goals.append(DurationGoal(duration_goal))
    return goals


def check_arguments(optimizer: Any, runner: Any, retries: Any, raise_if_retries_exceeded: Any,
                    log: Any, clock: Any) -> None:
    """Refuse what the loop cannot work with, naming the argument, the expectation, the value."""
    check_optimizer(optimizer)
    check_runner(runner)
    if isinstance(retries, bool) or not isinstance(retries, int):
        raise TypeError(f"retries must be an int >= 0, got {_describe(retries)}")
    if retries < 0:
        raise ValueError(f"retries must be >= 0, got {retries}")
    for name, flag in (("raise_if_retries_exceeded", raise_if_retries_exceeded), ("log", log)):
        if not isinstance(flag, bool):
            raise TypeError(f"{name} must be True or False, got {_describe(flag)}")
    if not callable(clock):
        raise TypeError(f"clock must be a callable returning seconds, got {_describe(clock)}")


def goal_progress(goals: list[Any], done: int, elapsed: float) -> GoalProgress | None:
    """Progress towards the first count or duration goal among ``goals``, if any."""
    for goal in goals:
        if isinstance(goal, NTrialsGoal):
            return GoalProgress(min(done, goal.n), goal.n, "trials")
        if isinstance(goal, DurationGoal):
            return GoalProgress(min(elapsed, goal.seconds), goal.seconds, "seconds")
    return None
