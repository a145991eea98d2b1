"""The optional runner clock: a runner with time of its own (the simulated runner) tells the loop
what time it is, so elapsed time, goals, overhead and timings are in the runner's seconds.

Protocol (`runner._core.capabilities.SupportsClock`): a runner may have a method
``clock() -> float`` returning seconds on the scale of its ``TrialValue.starttime``/``endtime``
(Unix-like: comparable with them, never decreasing). When it has one, the loop reads it for
everything it would read from its own clock and from ``time.time()``; a runner without one is
timed by the loop's clock as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from runner._core.capabilities import RunnerExtras, SupportsClock

__all__ = ["RunnerClock", "runner_clock"]

RunnerClock = SupportsClock
"""A runner that keeps its own time (see the module doc); the name the loop used first."""


def runner_clock(runner: Any) -> Callable[[], float] | None:
    """The runner's ``clock`` method when it has one, else ``None``."""
    return RunnerExtras.of(runner).clock
