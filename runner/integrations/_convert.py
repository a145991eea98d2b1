"""Conversions shared by the adapters: objective order, JSON-safe info dicts, finished-trial
statuses as the libraries understand them."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from trials import StatusType, TrialValue

__all__ = ["cost_list", "json_safe", "objective_order", "runner_objectives"]


def runner_objectives(runner: Any) -> list[str]:
    """The objective names of one of our runners (from its ``meta``), or ``["cost"]``."""
    try:
        names = runner.meta.get("objectives")
    except Exception:  # a third-party runner without meta
        names = None
    if isinstance(names, (list, tuple)) and names and all(isinstance(n, str) for n in names):
        return list(names)
    return ["cost"]


def objective_order(ours: Sequence[str], theirs: Sequence[str], what: str) -> list[int] | None:
    """Indices that put our cost tuple in ``theirs`` order (``None``: one objective each side).
    Raise ``ValueError`` naming both lists when they cannot be matched."""
    if len(ours) != len(theirs):
        raise ValueError(f"{what} has {len(theirs)} objective(s) {list(theirs)} but the runner "
                         f"has {len(ours)} {list(ours)}; give the runner objectives={list(theirs)!r}")
    if len(ours) == 1:
        return None
    if sorted(ours) != sorted(theirs):
        raise ValueError(f"{what} objectives {list(theirs)} are not the runner's {list(ours)}; "
                         f"give the runner objectives={list(theirs)!r}")
    return [list(ours).index(name) for name in theirs]


def cost_list(value: TrialValue, order: list[int] | None) -> float | list[float]:
    """The cost as a float (one objective) or a list in the other library's order."""
    cost = value.cost
    if isinstance(cost, tuple):
        if order is None:
            return float(cost[0]) if len(cost) == 1 else [float(c) for c in cost]
        return [float(cost[i]) for i in order]
    return float(cost) if order is None else [float(cost)] * len(order)


def json_safe(info: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of an info dict that ``json.dumps`` accepts: values it refuses become their
    ``repr`` (SMAC3's run history refuses the whole trial otherwise)."""
    out: dict[str, Any] = {}
    for key, item in info.items():
        try:
            json.dumps(item, allow_nan=True)
            out[str(key)] = item
        except (TypeError, ValueError):
            out[str(key)] = repr(item)
    return out


FAILED = (StatusType.CRASHED, StatusType.TIMEOUT, StatusType.MEMORYOUT, StatusType.CANCELLED)
"""Statuses the adapters report to their library as a failed trial."""
