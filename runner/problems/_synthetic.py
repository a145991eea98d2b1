"""The built-in synthetic problems, their targets and runtime models, registered by name.

Targets are ``functools.partial`` objects over module-level functions, so they pickle by
reference and travel to any worker. A runtime model says how long a trial "would" take (for the
simulated runner): a per-problem base time, scaled by the budget fraction on multi-fidelity
problems and by a deterministic per-configuration factor in [0.5, 1.5).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from runner.problems import _functions as fn
from runner.problems._problem import Problem
from runner.problems._registry import register, register_family
from runner.problems._runtime import config_unit, timed_runtime

__all__ = ["config_unit", "evaluate", "make_target", "synthetic", "timed_runtime"]

def evaluate(config: Mapping[str, Any], *, budget: float | None = None, seed: int | None = None,
             function: Callable[[Mapping[str, Any]], Any],
             runtime: Callable[..., float] | None = None) -> Any:
    """A problem's target: the cost of ``function``, with ``{"runtime": s}`` when modelled."""
    cost = function(config)
    if runtime is None:
        return cost
    return cost, {"runtime": runtime(config, budget)}


def make_target(function: Callable[[Mapping[str, Any]], Any],
                runtime: Callable[..., float] | None) -> Callable[..., Any]:
    """A picklable target for ``function`` (see `evaluate`)."""
    return functools.partial(evaluate, function=function, runtime=runtime)


def synthetic(name: str, function: Callable[[Mapping[str, Any]], Any], box: tuple[float, float],
              d: int, optimum: float | None, objectives: tuple[str, ...] = ("cost",),
              reference: tuple[float, ...] | None = None,
              front_hypervolume: float | None = None) -> Problem:
    """A problem over the box ``[low, high]^d`` (parameters ``x0 .. x{d-1}``)."""
    space = {f"x{i}": (float(box[0]), float(box[1])) for i in range(d)}
    runtime = timed_runtime
    return Problem(name=name, space=space, target=make_target(function, runtime), optimum=optimum,
                   objectives=objectives, runtime=runtime, cheap=True, reference=reference,
                   front_hypervolume=front_hypervolume)


def _branin() -> Problem:
    space = {"x0": (-5.0, 10.0), "x1": (0.0, 15.0)}
    runtime = timed_runtime
    return Problem("branin", space, make_target(fn.branin, runtime), optimum=0.397887357729738,
                   runtime=runtime, cheap=True)


_FAMILY_BOX = {"rosenbrock": (-5.0, 10.0), "ackley": (-32.768, 32.768), "levy": (-10.0, 10.0)}
_FAMILY_FN = {"rosenbrock": fn.rosenbrock, "ackley": fn.ackley, "levy": fn.levy}


def _family(family: str) -> Callable[[int], Problem]:
    def make(d: int) -> Problem:
        return synthetic(f"{family}-{d}d", _FAMILY_FN[family], _FAMILY_BOX[family], d, 0.0)
    return make


register("branin", _branin)
register("hartmann3", lambda: synthetic("hartmann3", fn.hartmann3, (0.0, 1.0), 3, -3.86278214782076))
register("hartmann6", lambda: synthetic("hartmann6", fn.hartmann6, (0.0, 1.0), 6, -3.32236801141551))
for _name in _FAMILY_FN:
    register_family(_name, _family(_name), (1 if _name == "ackley" else 2, 100))
    register(_name, functools.partial(_family(_name), 2))
ZDT1_REFERENCE = (1.1, 11.0)
"""ZDT1's hypervolume reference point: beyond every point of the space (f1 <= 1, f2 <= 10 in
5 dimensions), so every trial counts; its known front f2 = 1 - sqrt(f1) dominates
``10 + 2/3 + 0.1 * 11`` of the box below it (`ZDT1_FRONT_HYPERVOLUME`)."""
ZDT1_FRONT_HYPERVOLUME = 10.0 + 2.0 / 3.0 + 0.1 * 11.0

register("zdt1", lambda: synthetic("zdt1", fn.zdt1, (0.0, 1.0), 5, None, ("f1", "f2"),
                                   ZDT1_REFERENCE, ZDT1_FRONT_HYPERVOLUME))
