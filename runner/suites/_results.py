"""Results of a suite, computed from the study journals alone (so results.csv agrees with them):
one row per study, and each study's anytime curve.

Regret is the incumbent's cost at the full fidelity minus the known optimum, never negative:

* the incumbent after each trial is the loop's: the best configuration at the highest budget
  reached;
* a problem that is cheap to evaluate (``Problem.cheap``: synthetic, tabulated) has that
  configuration evaluated at the full budget here (with its trial's seed), whatever budget the
  study reached;
* otherwise the best cost among trials run at the full budget counts, and a study that never ran
  one has no regret and says so in ``note``;
* a multi-objective study reports the hypervolume of its front from the problem's reference
  point (``hypervolume``), and as ``regret`` the known front's hypervolume minus it.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from runner.problems import Problem
from runner.suites._hypervolume import hypervolume, pareto_front
from trials import History, StatusType, TrialInfo, TrialValue, read_records

__all__ = ["COLUMNS", "MODEL", "Curve", "anytime", "spent", "study_row", "write_csv"]

COLUMNS = ("problem", "optimizer", "seed", "trials", "best_cost", "regret", "hypervolume",
           "elapsed_s", "target_s", "status", "note", "error")

MODEL = 2
"""The version of the results' definitions (full-fidelity regret, the -mf model that never
undercuts the optimum) a study's status file records; journals without it are marked."""

NO_FULL_BUDGET = "never reached the full budget"
OLD_JOURNAL = "journal of an earlier version (its low-fidelity costs follow the old -mf model)"


def spent(value: TrialValue) -> float:
    """A trial's target time: the modelled runtime it reports (``info["runtime"]``), else its
    measured time; what the anytime curves, ``target_s`` and ``target_seconds`` count."""
    modelled = value.additional_info.get("runtime")
    seconds = modelled if isinstance(modelled, (int, float)) else value.time
    return max(0.0, float(seconds))


@attrs.frozen
class Curve:
    """A study's anytime performance: after trial ``i`` (and ``time[i]`` s of target time, see
    `spent`) the incumbent's full-fidelity cost, or the hypervolume of a multi-objective
    front (``best[i]``), and ``loss[i]``, lower is better: the regret where the optimum (the
    front) is known, else the cost (minus the hypervolume). NaN while there is none."""

    best: list[float]
    time: list[float]
    loss: list[float] = attrs.field(factory=list)


def _scalar(value: TrialValue) -> float | None:
    cost = value.cost[0] if isinstance(value.cost, tuple) and len(value.cost) == 1 \
        else value.cost
    ok = value.status == StatusType.SUCCESS and isinstance(cost, float) and math.isfinite(cost)
    return float(cost) if ok and isinstance(cost, float) else None


class _FullCost:
    """The full-budget cost of a configuration of a cheap problem, computed once each."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.known: dict[str, float] = {}

    def __call__(self, info: TrialInfo, observed: float) -> float:
        problem = self.problem
        if problem.fidelity is None or (info.budget is not None and
                                        info.budget >= problem.fidelity[1]):
            return observed
        key = json.dumps([sorted((k, repr(v)) for k, v in info.config.items()), info.seed])
        if key not in self.known:
            value = problem.target(dict(info.config), budget=problem.fidelity[1], seed=info.seed)
            cost = value[0] if isinstance(value, tuple) and len(value) == 2 and isinstance(
                value[1], Mapping) else value
            self.known[key] = float(cost[0] if isinstance(cost, (tuple, list)) else cost)
        return self.known[key]


def _single(history: History, problem: Problem | None) -> tuple[list[float], list[float]]:
    """Best (the incumbent's full-fidelity cost) and loss per trial, single objective."""
    full = _FullCost(problem) if problem is not None and problem.cheap else None
    top = problem.fidelity[1] if problem is not None and problem.fidelity else None
    best, top_budget, top_cost, current = [], -math.inf, math.inf, math.nan
    for info, value in history:
        cost = _scalar(value)
        if cost is not None:
            budget = info.budget if info.budget is not None else math.inf
            if full is not None:  # the loop's incumbent, evaluated at the full budget
                if budget > top_budget or (budget == top_budget and cost < top_cost):
                    top_budget, top_cost, current = budget, cost, full(info, cost)
            elif top is None or budget >= top:  # the best at the full budget
                current = cost if math.isnan(current) else min(current, cost)
        best.append(current)
    optimum = problem.optimum if problem is not None else None
    loss = [b - optimum if optimum is not None else b for b in best]
    if optimum is not None:  # a float rounding below the optimum is no gain
        loss = [max(0.0, v) if not math.isnan(v) else v for v in loss]
    return best, loss


def _multi(history: History, problem: Problem) -> tuple[list[float], list[float]]:
    """Hypervolume and loss per trial, multi-objective (NaN without a reference point)."""
    points: list[tuple[float, ...]] = []
    best, loss = [], []
    for _, value in history:
        cost = value.cost
        if value.status == StatusType.SUCCESS and isinstance(cost, tuple) and \
                len(cost) == len(problem.objectives):
            points = pareto_front([*points, tuple(float(c) for c in cost)])
        hv = hypervolume(points, problem.reference) if problem.reference else math.nan
        best.append(hv)
        front = problem.front_hypervolume
        loss.append(max(0.0, front - hv) if front is not None else -hv)
    return best, loss


def anytime(history: History, problem: Problem | None = None) -> Curve:
    """The anytime curve of ``history`` (see the module doc); without ``problem``, the best cost
    at the highest budget reached counts as is."""
    times, elapsed = [], 0.0
    for _, value in history:
        elapsed += spent(value)
        times.append(elapsed)
    if problem is not None and len(problem.objectives) > 1:
        best, loss = _multi(history, problem)
        return Curve(best, times, loss)
    if problem is None:  # the loop's incumbent as it saw it
        best, top_budget, current = [], -math.inf, math.nan
        for info, value in history:
            cost = _scalar(value)
            budget = info.budget if info.budget is not None else math.inf
            if cost is not None and budget > top_budget:
                top_budget, current = budget, cost
            elif cost is not None and budget == top_budget and not cost >= current:
                current = cost
            best.append(current)
        return Curve(best, times, list(best))
    best, loss = _single(history, problem)
    return Curve(best, times, loss)


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


def _old(journal: str) -> bool:
    """Whether the study's status file predates `MODEL` (or is missing)."""
    try:
        with open(journal[: -len(".jsonl")] + ".json", encoding="utf-8") as f:
            state = json.load(f)
    except (OSError, ValueError):
        return True
    return not isinstance(state, dict) or state.get("model") != MODEL


def study_row(problem: str, optimizer: str, seed: int, journal: str, status: str,
              error: str | None, spec: Problem | None) -> dict[str, Any]:
    """The results.csv row of one study, from its journal (``spec``: the problem, for its
    optimum, fidelity and reference point)."""
    row: dict[str, Any] = {"problem": problem, "optimizer": optimizer, "seed": seed,
                           "trials": 0, "best_cost": "", "regret": "", "hypervolume": "",
                           "elapsed_s": "", "target_s": "", "status": status, "note": "",
                           "error": error or ""}
    if not journal or not os.path.exists(journal):
        return row
    history = History.load(journal)
    row["trials"] = len(history)
    curve = anytime(history, spec)
    notes = []
    if curve.time:
        row["target_s"] = round(curve.time[-1], 3)
    multi = spec is not None and len(spec.objectives) > 1
    last = curve.best[-1] if curve.best else math.nan
    if not math.isnan(last):
        row["hypervolume" if multi else "best_cost"] = last
        known = spec is not None and (spec.front_hypervolume if multi else spec.optimum) \
            is not None
        if known:
            row["regret"] = curve.loss[-1]
    elif multi:
        notes.append("no hypervolume reference point")
    elif spec is not None and spec.fidelity is not None and len(history):
        notes.append(NO_FULL_BUDGET)
    if spec is not None and spec.fidelity is not None and _old(journal):
        notes.append(OLD_JOURNAL)
    row["note"] = "; ".join(notes)
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
