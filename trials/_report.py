"""``Report``: one intermediate result of a running trial (a point of its learning curve), frozen,
validated, and round-tripping through JSON like ``TrialValue``."""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Mapping
from typing import Any

import attrs

from trials._json import JsonCap, from_jsonable, to_jsonable
from trials._numbers import describe, real_to_float
from trials._trial import Cost, _to_cost

__all__ = ["Report"]


_MAX_INT_STEP = int(sys.float_info.max)


def _to_step(value: Any, _max: int = _MAX_INT_STEP) -> int | float:
    if type(value) is int and 0 <= value <= _max:
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"Report.step must be a number >= 0 (an int such as the epoch), got "
                        f"{describe(value)}")
    step = real_to_float(value, "Report.step", "a number >= 0")  # 10**5000: a clear error
    if isinstance(value, numbers.Integral) and math.isfinite(step):
        step = int(value)  # exact: an int step stays an int
    if not (math.isfinite(step) and step >= 0):
        raise ValueError(f"Report.step must be a finite number >= 0, got {step!r}")
    return step


def _to_metrics(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(f"Report.metrics must be a mapping, got {describe(value)}")
    return dict(value)


def _to_time(value: Any) -> float:
    return real_to_float(value, "Report.time", "a number of seconds")


@attrs.frozen(hash=False)
class Report:
    """What a running trial sent: its ``step`` (epoch, budget used), the ``cost`` at that step,
    other ``metrics``, and ``time``: seconds since the trial started."""

    step: int | float = attrs.field(converter=_to_step)
    cost: Cost = attrs.field(converter=_to_cost)
    metrics: dict[str, Any] = attrs.field(factory=dict, converter=_to_metrics, eq=False)
    time: float = attrs.field(default=0.0, converter=_to_time)

    def to_dict(self, *, cap: JsonCap | None = None) -> dict[str, Any]:
        """JSON-safe builtins (a metric with no JSON encoding becomes its repr, one over ``cap``
        a truncation marker, as in ``TrialValue.additional_info``)."""
        out: dict[str, Any] = {"step": self.step, "cost": to_jsonable(self.cost),
                               "time": to_jsonable(self.time)}
        if self.metrics:
            out["metrics"] = to_jsonable(self.metrics, strict=False, where="Report.metrics",
                                         cap=cap)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Report:
        """Rebuild a ``Report`` from `to_dict` output."""
        return cls(step=data["step"], cost=from_jsonable(data["cost"]),
                   metrics=from_jsonable(data.get("metrics") or {}),
                   time=from_jsonable(data.get("time", 0.0)))
