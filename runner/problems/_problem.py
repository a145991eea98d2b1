"""``Problem``: one benchmark problem (space, target, optimum, fidelity, runtime model) as data.

A problem is what a suite study optimizes. It is a frozen record so it can be named in a suite
file, shipped to workers (its ``target`` is a module-level function, hence picklable) and compared.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    import ConfigSpace

__all__ = ["Problem"]


def _describe(value: Any) -> str:
    return f"{value!r} (type {type(value).__name__})"


def _check_name(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise TypeError(f"Problem.{attribute.name} must be a non-empty str, got {_describe(value)}")


def _check_space(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    from runner.optimizers import SearchSpace

    if not isinstance(value, Mapping):
        raise TypeError(f"Problem.space must be a search-space spec (a dict), got {_describe(value)}")
    SearchSpace(value)  # raises naming the bad parameter


def _check_callable(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not callable(value):
        raise TypeError(f"Problem.{attribute.name} must be callable, got {_describe(value)}")


def _check_optimum(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TypeError(f"Problem.{attribute.name} must be a finite number or None, got {_describe(value)}")


def _check_fidelity(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    ok = isinstance(value, tuple) and len(value) == 2 and all(
        isinstance(b, (int, float)) and not isinstance(b, bool) and math.isfinite(b)
        for b in value)
    if not ok or not 0 < value[0] < value[1]:
        raise ValueError(
            f"Problem.fidelity must be (min_budget, max_budget) with 0 < min < max, "
            f"got {_describe(value)}")


def _check_objectives(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if (not isinstance(value, tuple) or not value
            or not all(isinstance(o, str) and o for o in value) or len(set(value)) != len(value)):
        raise ValueError(
            f"Problem.objectives must be a non-empty tuple of distinct names, got {_describe(value)}")


def _check_reference(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    ok = isinstance(value, tuple) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        for v in value)
    if not ok or len(value) != len(instance.objectives):
        raise ValueError(f"Problem.reference must be a tuple of finite numbers, one per "
                         f"objective {instance.objectives}, got {_describe(value)}")


@attrs.frozen
class Problem:
    """A benchmark problem: what to optimize, over which space, and what is known about it.

    ``target(config, *, budget=None, seed=None)`` returns the cost, or ``(cost, info)``; when
    ``runtime`` is set, ``info`` carries ``{"runtime": seconds}`` (what the simulated runner
    reads). ``space`` is the dict spec `runner.optimizers.RandomSearch` takes.
    ``curves``: the target returns its learning curve (``info["curve"]``: ``(step, cost,
    runtime)`` rows), which the simulated runner replays as the trial's reports.
    ``cheap``: calling the target costs next to nothing (synthetic and tabulated problems), so
    suite results evaluate each study's incumbent at the full budget to compute its regret.
    ``reference``: a multi-objective problem's hypervolume reference point (one bound per
    objective); ``front_hypervolume``: the hypervolume of its known Pareto front from there.
    """

    name: str = attrs.field(validator=_check_name)
    space: Mapping[str, Any] = attrs.field(validator=_check_space)
    target: Callable[..., Any] = attrs.field(validator=_check_callable)
    optimum: float | None = attrs.field(default=None, validator=_check_optimum)
    fidelity: tuple[float, float] | None = attrs.field(default=None, validator=_check_fidelity)
    objectives: tuple[str, ...] = attrs.field(default=("cost",), validator=_check_objectives)
    runtime: Callable[..., float] | None = attrs.field(default=None, validator=_check_callable)
    curves: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))
    cheap: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))
    reference: tuple[float, ...] | None = attrs.field(default=None, validator=_check_reference)
    front_hypervolume: float | None = attrs.field(default=None, validator=_check_optimum)

    @property
    def multi_fidelity(self) -> bool:
        """Whether the problem takes a budget (its ``fidelity`` range is set)."""
        return self.fidelity is not None

    def configspace(self, seed: int | None = None) -> ConfigSpace.ConfigurationSpace:
        """The same space as a ConfigSpace space (for SMAC3 and friends), built on demand."""
        from runner.problems._configspace import to_configspace

        space: ConfigSpace.ConfigurationSpace = to_configspace(self.space, seed=seed)
        return space
