"""``TrialInfo`` (what to evaluate) and ``TrialValue`` (what came of it): frozen, validated at
construction, and round-tripping through JSON with ``to_dict``/``from_dict``."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import attrs

from trials._json import JsonCap, from_jsonable, to_jsonable
from trials._numbers import describe, real_to_float
from trials._status import StatusType

__all__ = ["TrialInfo", "TrialValue", "Cost"]

Cost: TypeAlias = float | tuple[float, ...]
"""One objective's cost, or one cost per objective."""


def _is_configuration_space(value: Any) -> bool:
    """Whether ``value`` is a ConfigSpace ``ConfigurationSpace`` (checked by name, so ``trials``
    needs no ConfigSpace import): it is a Mapping too, of names to hyperparameters."""
    return any(cls.__name__ == "ConfigurationSpace"
               and cls.__module__.split(".")[0] == "ConfigSpace"
               for cls in type(value).__mro__)


def _to_config(value: Any) -> Mapping[str, Any]:
    if type(value) is not dict and _is_configuration_space(value):
        raise TypeError(
            "TrialInfo.config got a ConfigSpace ConfigurationSpace (the search space), not a "
            "configuration; sample one with space.sample_configuration() or take "
            "space.get_default_configuration()"
        )
    if type(value) is not dict and not isinstance(value, Mapping):
        raise TypeError(
            "TrialInfo.config must be a mapping of parameter name to value (a dict or a "
            f"ConfigSpace Configuration), got {describe(value)}"
        )
    for key in value:
        if type(key) is not str and not isinstance(key, str):
            raise TypeError(
                f"TrialInfo.config keys must be parameter names (str), got {describe(key)}"
            )
    # A plain dict is copied so later edits by the caller cannot change a frozen trial; other
    # mappings (a ConfigSpace Configuration) are kept as they are.
    return dict(value) if isinstance(value, dict) else value


def _to_seed(value: Any) -> int | None:
    if value is None or type(value) is int:
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"TrialInfo.seed must be an int or None, got {describe(value)}")
    return int(value)


def _to_instance(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"TrialInfo.instance must be a str or None, got {describe(value)}")


def _to_budget(value: Any) -> float | None:
    if value is None:
        return None
    budget = real_to_float(value, "TrialInfo.budget", "a number (finite, > 0) or None")
    if not (math.isfinite(budget) and budget > 0):
        raise ValueError(f"TrialInfo.budget must be a finite number > 0, got {budget!r}")
    return budget


def _to_info(owner: str, value: Any) -> dict[str, Any]:
    if type(value) is not dict and not isinstance(value, Mapping):
        raise TypeError(f"{owner}.additional_info must be a mapping, got {describe(value)}")
    return dict(value)


def _to_trial_info_info(value: Any) -> dict[str, Any]:
    return _to_info("TrialInfo", value)


def _to_trial_value_info(value: Any) -> dict[str, Any]:
    return _to_info("TrialValue", value)


def _to_cost(value: Any) -> Cost:
    if type(value) is float:  # the common case, without the slow ABC checks
        return value
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return real_to_float(value, "TrialValue.cost", "a number or a sequence of numbers")
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        costs = [real_to_float(c, f"TrialValue.cost[{i}]", "a number")
                 for i, c in enumerate(value)]
        if not costs:
            raise ValueError("TrialValue.cost must not be an empty sequence")
        return tuple(costs)
    raise TypeError(
        f"TrialValue.cost must be a number or a sequence of numbers, got {describe(value)}"
    )


def _to_seconds(name: str, value: Any) -> float:
    return real_to_float(value, f"TrialValue.{name}", "a number")


def _to_time(value: Any) -> float:
    return _to_seconds("time", value)


def _to_cpu_time(value: Any) -> float:
    return _to_seconds("cpu_time", value)


def _to_starttime(value: Any) -> float:
    return _to_seconds("starttime", value)


def _to_endtime(value: Any) -> float:
    return _to_seconds("endtime", value)


def _to_status(value: Any) -> StatusType:
    # A name ("SUCCESS") is accepted too: that is how ``to_dict`` writes it.
    if type(value) is StatusType:
        return value
    if isinstance(value, str) and value in StatusType.__members__:
        return StatusType[value]
    if not isinstance(value, bool):
        try:
            return StatusType(value)
        except (ValueError, TypeError):
            pass
    names = ", ".join(StatusType.__members__)
    raise ValueError(
        f"TrialValue.status must be a StatusType (or one of its names: {names}), "
        f"got {describe(value)}"
    )


@attrs.frozen(hash=False)
class TrialInfo:
    """A trial to evaluate: a configuration plus the instance, seed and budget to evaluate it on."""

    config: Mapping[str, Any] = attrs.field(converter=_to_config, eq=dict)
    instance: str | None = attrs.field(default=None, converter=_to_instance)
    seed: int | None = attrs.field(default=None, converter=_to_seed)
    budget: float | None = attrs.field(default=None, converter=_to_budget)
    additional_info: dict[str, Any] = attrs.field(
        factory=dict, converter=_to_trial_info_info, eq=False
    )

    def __hash__(self) -> int:
        # Consistent with ``__eq__`` and cheap; the mapping itself is not hashable.
        return hash((self.instance, self.seed, self.budget, len(self.config)))

    def to_dict(self, *, cap: JsonCap | None = None) -> dict[str, Any]:
        """JSON-safe builtins; raises ``TypeError`` naming a value that has no JSON encoding, and
        ``ValueError`` naming an entry of ``config``/``additional_info`` over ``cap``."""
        return {
            "config": to_jsonable(dict(self.config), where="TrialInfo.config", cap=cap),
            "instance": self.instance,
            "seed": self.seed,
            "budget": to_jsonable(self.budget),
            "additional_info": to_jsonable(
                self.additional_info, where="TrialInfo.additional_info", cap=cap
            ),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrialInfo:
        """Rebuild a ``TrialInfo`` from `to_dict` output (the config comes back a dict)."""
        return cls(
            config=from_jsonable(data["config"]),
            instance=data.get("instance"),
            seed=data.get("seed"),
            budget=from_jsonable(data.get("budget")),
            additional_info=from_jsonable(data.get("additional_info") or {}),
        )


@attrs.frozen(hash=False)
class TrialValue:
    """The outcome of one trial: cost(s), status, timing and whatever the target reported."""

    cost: Cost = attrs.field(converter=_to_cost)
    time: float = attrs.field(default=0.0, converter=_to_time)
    cpu_time: float = attrs.field(default=0.0, converter=_to_cpu_time)
    status: StatusType = attrs.field(default=StatusType.SUCCESS, converter=_to_status)
    starttime: float = attrs.field(default=0.0, converter=_to_starttime)
    endtime: float = attrs.field(default=0.0, converter=_to_endtime)
    additional_info: dict[str, Any] = attrs.field(
        factory=dict, converter=_to_trial_value_info, eq=False
    )

    def __eq__(self, other: object) -> bool:
        # NaN costs compare equal to themselves, so a round trip through JSON gives an equal value.
        if not isinstance(other, TrialValue):
            return NotImplemented
        return (
            _cost_key(self.cost) == _cost_key(other.cost)
            and self.time == other.time
            and self.cpu_time == other.cpu_time
            and self.status == other.status
            and self.starttime == other.starttime
            and self.endtime == other.endtime
            and _info_key(self.additional_info) == _info_key(other.additional_info)
        )

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self, *, cap: JsonCap | None = None) -> dict[str, Any]:
        """JSON-safe builtins; what has no JSON encoding in ``additional_info`` becomes its repr,
        and an entry over ``cap`` a truncation marker (the object itself keeps it whole)."""
        return {
            "cost": to_jsonable(self.cost),
            "time": to_jsonable(self.time),
            "cpu_time": to_jsonable(self.cpu_time),
            "status": self.status.name,
            "starttime": to_jsonable(self.starttime),
            "endtime": to_jsonable(self.endtime),
            "additional_info": to_jsonable(
                self.additional_info, strict=False, where="TrialValue.additional_info", cap=cap
            ),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrialValue:
        """Rebuild a ``TrialValue`` from `to_dict` output."""
        return cls(
            cost=from_jsonable(data["cost"]),
            time=from_jsonable(data.get("time", 0.0)),
            cpu_time=from_jsonable(data.get("cpu_time", 0.0)),
            status=data.get("status", "SUCCESS"),
            starttime=from_jsonable(data.get("starttime", 0.0)),
            endtime=from_jsonable(data.get("endtime", 0.0)),
            additional_info=from_jsonable(data.get("additional_info") or {}),
        )


def _cost_key(cost: Cost) -> Any:
    costs = cost if isinstance(cost, tuple) else (cost,)
    return tuple("nan" if math.isnan(c) else c for c in costs), isinstance(cost, tuple)


def _info_key(info: dict[str, Any]) -> Any:
    return to_jsonable(info, strict=False)
