"""The text part of a report: status counts, the best trials, the time breakdown. Plain text
(no terminal library), so it reads the same in a terminal, a CI log and the HTML page."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from runner.cli._journal_view import Study
from trials import StatusType, TrialInfo, TrialValue

__all__ = ["best_trials", "summary"]


def _cost(value: TrialValue) -> str:
    cost = value.cost
    if isinstance(cost, tuple):
        return "(" + ", ".join(f"{c:.6g}" for c in cost) + ")"
    return f"{cost:.6g}"


def _config(info: TrialInfo) -> str:
    parts = []
    for key, v in dict(info.config).items():
        parts.append(f"{key}={v:.6g}" if isinstance(v, float) else f"{key}={v}")
    return ", ".join(parts)


def best_trials(study: Study, n: int) -> list[tuple[int, TrialInfo, TrialValue]]:
    """The ``n`` best successful trials (lowest cost; several objectives: the Pareto front),
    with their position in the history."""
    pairs = list(study.history)
    index = {id(info): i for i, (info, _) in enumerate(pairs)}
    single = [p for p in pairs if p[1].status is StatusType.SUCCESS
              and not (isinstance(p[1].cost, tuple) and len(p[1].cost) > 1)]
    if single:
        def key(p: tuple[TrialInfo, TrialValue]) -> tuple[float, float]:
            cost = p[1].cost
            c = cost[0] if isinstance(cost, tuple) else cost
            return (-(p[0].budget or 0.0), math.inf if math.isnan(c) else c)

        top = sorted(single, key=key)[:n]
    else:
        top = study.history.pareto_front()[:n]
    return [(index[id(info)], info, value) for info, value in top]


def _header_lines(study: Study) -> list[str]:
    created = study.header.get("created")
    when = (dt.datetime.fromtimestamp(created, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
            if isinstance(created, (int, float)) else "?")
    lines = [f"journal: {study.path}", f"created: {when}"]
    if study.header.get("study"):
        lines.append(f"study: {study.header['study']}")
    command: dict[str, Any] = study.command or {}
    if command:
        target = command["target"]
        what = target.get("function") or " ".join(target.get("script", []))
        backend = command["backend"]
        lines.append(f"target: {what}; optimizer: {command['optimizer']['name']} (seed "
                     f"{command['optimizer']['seed']}); backend: {backend['name']}"
                     + (f" x {backend['workers']}" if backend.get("workers") else ""))
    return lines


def _interruptions_line(records: list[dict[str, Any]]) -> str:
    """Runs lost outside the trial (worker, node or batch job gone), counted apart from crashes."""
    trials = {r.get("trial") for r in records}
    jobs = sorted({str(r["job"]) for r in records if r.get("job")})
    where = f"; batch jobs {', '.join(jobs)}" if jobs else ""
    return (f"interrupted: {len(records)} runs of {len(trials)} trials lost outside the trial "
            f"(worker, node or batch job gone) and run again, no retry spent{where}")


def summary(study: Study, top: int = 5) -> str:
    """The report's text: what ran, how it ended, the best trials, where the time went."""
    lines = _header_lines(study)
    counts = study.status_counts()
    retried = sum(1 for a in study.attempts if not a.final)
    states = ", ".join(f"{s.name} {counts[s.name]}" for s in StatusType if counts[s.name])
    lines.append(f"trials: {len(study.history)} finished ({states or 'none'}); {retried} "
                 f"attempts retried or cancelled; {study.unfinished} unfinished")
    if study.interruptions:
        lines.append(_interruptions_line(study.interruptions))
    reported = [a for a in study.attempts if a.final and (a.trial, a.attempt) in study.curves]
    if reported:
        points = sum(len(study.curves[(a.trial, a.attempt)]) for a in reported)
        lines.append(f"learning curves: {len(reported)} trials reported {points} intermediate "
                     f"results; {counts['STOPPED']} stopped early")
    best = best_trials(study, top)
    multi = bool(best) and isinstance(best[0][2].cost, tuple) and len(best[0][2].cost) > 1
    if best:
        lines.append("Pareto front:" if multi else "best trials:" if len(best) > 1
                     else "best trial:")
        lines.append(f"  {'#':>5}  {'cost':>12}  {'budget':>8}  {'time s':>8}  config")
        for i, info, value in best:
            budget = "-" if info.budget is None else f"{info.budget:g}"
            lines.append(f"  {i:>5}  {_cost(value):>12}  {budget:>8}  {value.time:>8.3f}  "
                         f"{_config(info)}")
    else:
        lines.append("best trial: none succeeded")
    b = study.breakdown()
    source = "" if b.workers_known else " (the most trials running at once)"
    plural = "" if b.workers == 1 else "s"
    lines.append(f"time: {b.elapsed:.2f} s elapsed on {b.workers} worker{plural}{source}; shares "
                 "of workers x elapsed:")
    for name, seconds, share in b.rows():
        lines.append(f"  {name:<22} {seconds:>10.2f} s  {100 * share:5.1f} %")
    return "\n".join(lines) + "\n"
