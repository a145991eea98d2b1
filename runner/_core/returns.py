"""Turning whatever a target returned into ``(status, cost, info)``: every return form of the
design, and an ``error`` that says exactly what was expected and what came; and `RawResult`,
the measured trial as plain data on its way to the one ``TrialValue``."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from trials import Cost, StatusType, TrialValue
from trials._numbers import describe, real_to_float

__all__ = ["InvalidReturn", "Objectives", "Outcome", "RawResult", "normalize_return"]


class Outcome(NamedTuple):
    """What ``run`` gives back: the design's ``(status, cost, runtime, additional_info)``."""

    status: StatusType
    cost: Cost
    runtime: float | None
    additional_info: dict[str, Any]


class RawResult(NamedTuple):
    """One evaluated trial as ``run_wrapper`` measured it: what a worker process sends back (as
    a plain tuple with an int status, the lightest pickle) and the driver turns into the one
    ``TrialValue`` (`to_value`). The fields are ``TrialValue``'s."""

    status: int  # a StatusType, or its int on the wire
    cost: Cost
    time: float
    cpu_time: float
    starttime: float
    endtime: float
    additional_info: dict[str, Any]

    def to_value(self) -> TrialValue:
        """The ``TrialValue`` (validated: ``TypeError``/``ValueError`` for a bad field)."""
        return TrialValue(cost=self.cost, time=self.time, cpu_time=self.cpu_time,
                          status=self.status, starttime=self.starttime, endtime=self.endtime,
                          additional_info=self.additional_info)


class InvalidReturn(Exception):
    """The target returned something that is not a valid cost; the message says what and why."""


class Objectives:
    """The objective names and crash costs of a runner, validated at construction."""

    __slots__ = ("names", "crash_cost")

    def __init__(self, objectives: str | Sequence[str], crash_cost: float | Sequence[float]):
        if isinstance(objectives, str):
            names: tuple[str, ...] = (objectives,)
        elif isinstance(objectives, Sequence) and objectives and all(
            isinstance(n, str) and n for n in objectives
        ):
            names = tuple(objectives)
        else:
            raise TypeError(
                "objectives must be a name or a non-empty sequence of non-empty names, got "
                f"{objectives!r}"
            )
        if len(set(names)) != len(names):
            raise ValueError(f"objectives must be distinct, got {list(names)}")
        self.names = names
        if isinstance(crash_cost, numbers.Real) and not isinstance(crash_cost, bool):
            costs = (real_to_float(crash_cost, "crash_cost", "a float or one float per "
                                   "objective"),) * len(names)
        elif isinstance(crash_cost, Sequence) and not isinstance(crash_cost, str):
            if len(crash_cost) != len(names):
                raise ValueError(
                    f"crash_cost has {len(crash_cost)} values but there are {len(names)} "
                    f"objectives {list(names)}; give one float or one per objective"
                )
            costs = tuple(_real("crash_cost", c) for c in crash_cost)
        else:
            raise TypeError(
                f"crash_cost must be a float or one float per objective, got {crash_cost!r}"
            )
        if any(math.isnan(c) for c in costs):
            raise ValueError("crash_cost must not be NaN")
        self.crash_cost: Cost = costs[0] if len(names) == 1 else costs

    def __getstate__(self) -> tuple[tuple[str, ...], Cost]:
        return self.names, self.crash_cost

    def __setstate__(self, state: tuple[tuple[str, ...], Cost]) -> None:
        self.names, self.crash_cost = state


def _real(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must hold numbers, got {value!r} (type {type(value).__name__})")
    return real_to_float(value, name, "a number a float can hold")


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 200:
        text = text[:200] + "..."
    return f"{text} (type {type(value).__name__})"


def _one_cost(value: Any, what: str) -> float:
    if value is None:
        raise InvalidReturn(f"{what} is None; the target must return a number")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidReturn(f"{what} must be a number, got {_describe(value)}")
    try:
        cost = float(value)
    except OverflowError:
        raise InvalidReturn(f"{what} is {describe(value)}, too large for a float") from None
    if math.isnan(cost):
        raise InvalidReturn(f"{what} is NaN")
    if math.isinf(cost):
        raise InvalidReturn(f"{what} is {'+inf' if cost > 0 else '-inf'}")
    return cost


def _costs(value: Any, objectives: Objectives) -> Cost:
    names = objectives.names
    expected = f"{len(names)} cost(s) for objectives {list(names)}"
    if isinstance(value, Mapping):
        unknown = [k for k in value if k not in names]
        if unknown:
            raise InvalidReturn(
                f"the target returned unknown objective name(s) {unknown}; expected {expected}"
            )
        missing = [n for n in names if n not in value]
        if missing:
            raise InvalidReturn(
                f"the target returned no cost for objective(s) {missing}; expected {expected}"
            )
        costs = tuple(_one_cost(value[n], f"cost of objective {n!r}") for n in names)
    elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        if len(value) != len(names):
            raise InvalidReturn(
                f"the target returned {len(value)} cost(s) {_describe(value)}; expected {expected}"
            )
        costs = tuple(_one_cost(v, f"cost of objective {n!r}") for v, n in zip(value, names, strict=True))
    elif len(names) == 1:
        costs = (_one_cost(value, "the returned cost"),)
    else:
        raise InvalidReturn(f"the target returned {_describe(value)}; expected {expected}")
    return costs[0] if len(names) == 1 else costs


def normalize_return(value: Any, objectives: Objectives) -> Outcome:
    """Map a target's return value to an `Outcome`; raises `InvalidReturn`."""
    if isinstance(value, tuple) and len(value) == 4 and isinstance(value[0], StatusType):
        status, cost, runtime, info = value
        info = dict(info) if isinstance(info, Mapping) else {"info": info}
        if status == StatusType.SUCCESS:
            return Outcome(status, _costs(cost, objectives), runtime, info)
        return Outcome(status, objectives.crash_cost, runtime, info)
    info = {}
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], Mapping):
        value, info = value[0], dict(value[1])
    return Outcome(StatusType.SUCCESS, _costs(value, objectives), None, info)
