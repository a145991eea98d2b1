"""Problems and optimizer factories for the suite tests, importable as ``suitehelpers:<name>``
(tests/suites is on the path of the test process and of the subprocesses it starts)."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

from runner.optimizers import RandomSearch
from runner.problems import Problem
from runner.problems._functions import branin

SPACE = {"x0": (-5.0, 10.0), "x1": (0.0, 15.0)}
OPTIMUM = 0.397887357729738


def sleepy_branin(config: Mapping[str, Any], *, budget: float | None = None,
                  seed: int | None = None) -> float:
    """Branin after a 20 ms sleep (a short trial that takes real time)."""
    time.sleep(0.02)
    return branin(config)


def crash(config: Mapping[str, Any]) -> float:
    """Always raises."""
    raise RuntimeError("this target always crashes")


slow_branin = Problem("slow-branin", SPACE, sleepy_branin, optimum=OPTIMUM)
slow_branin_mf = Problem("slow-branin-mf", SPACE, sleepy_branin, optimum=OPTIMUM,
                         fidelity=(1.0, 9.0))
crashing = Problem("crashing", SPACE, crash)


def make_slow_branin() -> Problem:
    """A factory (what ``module:function`` may name instead of a Problem)."""
    return slow_branin


class _Broken(RandomSearch):
    def ask(self) -> Any:
        if self.n_told >= 3:
            raise RuntimeError("the optimizer broke after 3 trials")
        return super().ask()


def broken(problem: Problem, *, seed: int, n_trials: int, **settings: Any) -> Any:
    """An optimizer factory whose optimizer raises on its fourth ask."""
    return _Broken(problem.space, seed=seed, n_trials=n_trials)


def curve_branin(config: Mapping[str, Any], *, budget: float | None = None,
                 seed: int | None = None, report: Any = None,
                 checkpoint: Any = None) -> tuple[float, dict[str, Any]]:
    """Branin plus 10/step after each of ``budget`` 5 ms steps, reported as it goes; with a
    ``checkpoint`` it saves its last step there and a continuation starts after it."""
    saved = 0
    state = None if checkpoint is None else checkpoint / "step"
    if state is not None and state.exists():
        saved = int(state.read_text())
    cost = math.inf
    for step in range(saved + 1, int(budget or 9) + 1):
        time.sleep(0.005)
        cost = branin(config) + 10.0 / step
        if state is not None:
            state.write_text(str(step))
        if report is not None:
            report(step, cost)
    return cost, {"resumed_from": saved}


reporting_branin = Problem("reporting-branin", SPACE, curve_branin, optimum=OPTIMUM,
                           fidelity=(1.0, 9.0))


def median_random(problem: Problem, *, seed: int, n_trials: int, **settings: Any) -> Any:
    """An optimizer factory: random search under the median stopping rule (decides on
    reports)."""
    from runner.optimizers import MedianStopping

    return MedianStopping(RandomSearch(problem.space, seed=seed, n_trials=n_trials))


def devices_branin(config: Mapping[str, Any], *, budget: float | None = None,
                   seed: int | None = None) -> tuple[float, dict[str, Any]]:
    """Branin after a 30 ms sleep, with the device ids and cores it was given (read from its
    own process) and when it ran: for the suite resource tests."""
    import os

    start = time.time()
    time.sleep(0.03)
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "")
    return branin(config), {"devices": [d for d in visible.split(",") if d], "t0": start,
                            "t1": time.time(), "cores": sorted(os.sched_getaffinity(0))}


small_model = Problem("small-model", SPACE, devices_branin, optimum=OPTIMUM)
large_model = Problem("large-model", SPACE, devices_branin, optimum=OPTIMUM)
