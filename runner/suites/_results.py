"""Results of a suite, computed from the study journals alone (so results.csv agrees with them):
one row per study, and each study's anytime curve.

For a multi-fidelity problem the best cost is the best at the highest budget reached (the
incumbent's definition in the loop); ``regret`` is the best cost minus the known optimum.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterable
from typing import Any

import attrs

from trials import History, StatusType, TrialValue, read_records

__all__ = ["COLUMNS", "Curve", "anytime", "spent", "study_row", "write_csv"]

COLUMNS = ("problem", "optimizer", "seed", "trials", "best_cost", "regret", "elapsed_s",
           "target_s", "status", "error")


def spent(value: TrialValue) -> float:
    """A trial's target time: the modelled runtime it reports (``info["runtime"]``), else its
    measured time; what the anytime curves, ``target_s`` and ``target_seconds`` count."""
    modelled = value.additional_info.get("runtime")
    seconds = modelled if isinstance(modelled, (int, float)) else value.time
    return max(0.0, float(seconds))


@attrs.frozen
class Curve:
    """A study's anytime performance: after trial ``i`` (and ``time[i]`` s of target time, see
    `spent`), the best cost so far (``best[i]``; NaN before the first success)."""

    best: list[float]
    time: list[float]


def anytime(history: History) -> Curve:
    """The incumbent trace of ``history`` (single objective; at the highest budget reached)."""
    best, times = [], []
    top_budget, top_best, elapsed = -math.inf, math.nan, 0.0
    for info, value in history:
        elapsed += spent(value)
        cost = value.cost[0] if isinstance(value.cost, tuple) and len(value.cost) == 1 \
            else value.cost
        if value.status == StatusType.SUCCESS and isinstance(cost, float) and math.isfinite(cost):
            budget = info.budget if info.budget is not None else math.inf
            if budget > top_budget:
                top_budget, top_best = budget, cost
            elif budget == top_budget and not cost >= top_best:
                top_best = cost
        best.append(top_best)
        times.append(elapsed)
    return Curve(best, times)


def _span(path: str) -> float | None:
    """Seconds from the journal's first submit to its last final result."""
    first = last = None
    for record in read_records(path):
        t = record.get("time")
        if not isinstance(t, (int, float)):
            continue
        if record.get("type") == "submit" and first is None:
            first = t
        if record.get("type") == "result" and record.get("final") is True:
            last = t
    return None if first is None or last is None else max(0.0, last - first)


def study_row(problem: str, optimizer: str, seed: int, journal: str, status: str,
              error: str | None, optimum: float | None) -> dict[str, Any]:
    """The results.csv row of one study, from its journal."""
    row: dict[str, Any] = {"problem": problem, "optimizer": optimizer, "seed": seed,
                           "trials": 0, "best_cost": "", "regret": "", "elapsed_s": "",
                           "target_s": "", "status": status, "error": error or ""}
    if not os.path.exists(journal):
        return row
    history = History.load(journal)
    row["trials"] = len(history)
    curve = anytime(history)
    if curve.time:
        row["target_s"] = round(curve.time[-1], 3)
    if curve.best and not math.isnan(curve.best[-1]):
        row["best_cost"] = curve.best[-1]
        if optimum is not None:
            row["regret"] = curve.best[-1] - optimum
    span = _span(journal)
    if span is not None:
        row["elapsed_s"] = round(span, 3)
    return row


def write_csv(path: str, rows: Iterable[dict[str, Any]]) -> None:
    """Write ``rows`` (atomically: a temporary file renamed over ``path``)."""
    tmp = path + ".tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in COLUMNS})
    os.replace(tmp, path)
