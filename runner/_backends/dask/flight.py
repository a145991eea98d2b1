"""A trial on its way through dask (``Flight``) and the checks of DaskRunner's arguments."""

from __future__ import annotations

import math
import numbers
import pickle
from collections.abc import Mapping
from typing import Any

from trials import TrialInfo

__all__ = ["Flight", "Resources", "check_count", "check_resources", "check_seconds"]

Resources = Mapping[str, float]


class Flight:
    """One submitted trial: its info, its current dask future, how often its worker was lost."""

    __slots__ = ("info", "blob", "resources", "future", "losses", "done", "pin", "notices",
                 "notice", "need")

    def __init__(self, info: TrialInfo, resources: Resources | None,
                 need: tuple[int, float, float] | None = None) -> None:
        self.info = info
        self.blob = pickle.dumps(info, protocol=pickle.HIGHEST_PROTOCOL)
        self.resources = resources  # the dask tags it takes
        self.need = need  # (cores, devices, MB) the dask worker assigns ids for (devices.py)
        self.future: Any = None
        self.losses = 0
        self.done = False
        self.pin: str | None = None  # a worker without the shipment: send it along, there
        self.notices = 0  # of the losses, those a preemption notice caused (notice.py)
        self.notice: tuple[str, str | None] | None = None  # paused for one: (reason, job)


def check_resources(resources: Any, name: str) -> dict[str, float] | None:
    if resources is None:
        return None
    if not isinstance(resources, Mapping):
        raise TypeError(f"{name} must be a mapping of resource name to amount, e.g. "
                        f"{{'GPU': 1}}, got {resources!r} (type {type(resources).__name__})")
    out = {}
    for key, amount in resources.items():
        ok = isinstance(amount, numbers.Real) and not isinstance(amount, bool)
        if not (isinstance(key, str) and ok and math.isfinite(float(amount))
                and float(amount) > 0):
            raise ValueError(f"{name} must map names to amounts > 0, got {key!r}: {amount!r}")
        out[key] = float(amount)
    return out or None


def check_seconds(value: Any, name: str, or_none: str = "") -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not (ok and math.isfinite(float(value)) and float(value) > 0):
        raise ValueError(f"{name} must be a number of seconds > 0{or_none}, got {value!r}")
    return float(value)


def check_count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < 0:
        raise ValueError(f"{name} must be an int >= 0, got {value!r}")
    return int(value)
