"""The text part of a report: status counts, the best trials, the time breakdown. Plain text
(no terminal library), so it reads the same in a terminal, a CI log and the HTML page.

Whatever comes from the journal (paths, names, config values, commands) passes through
`printable` first: a journal is data, and its strings must not drive the terminal
(escape sequences that recolour, retitle or hide lines) nor forge lines of the report."""

from __future__ import annotations

import datetime as dt
import heapq
import math
import re
from typing import Any

from runner.cli._journal_view import Attempt, Study
from trials import StatusType, TrialInfo

__all__ = ["best_trials", "printable", "summary"]

# ESC-introduced sequences (CSI "ESC [ ... final", OSC "ESC ] ... BEL|ESC \", two-byte ESC x),
# their 8-bit forms, then any other C0/C1 control character (newlines and tabs included).
_CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?"
                      r"|\x9b[0-?]*[ -/]*[@-~]|\x9d[^\x07\x1b\x9c]*[\x07\x9c]?"
                      r"|[\x00-\x1f\x7f-\x9f]")


def printable(text: object) -> str:
    """``str(text)`` without terminal control sequences or control characters (newlines too:
    one value stays on one line)."""
    return _CONTROL.sub("", str(text))


def _cost(cost: float | tuple[float, ...]) -> str:
    if isinstance(cost, tuple):
        return "(" + ", ".join(f"{c:.6g}" for c in cost) + ")"
    return f"{cost:.6g}"


def _config(info: TrialInfo) -> str:
    parts = []
    for key, v in dict(info.config).items():
        parts.append(f"{key}={v:.6g}" if isinstance(v, float) else f"{key}={v}")
    return printable(", ".join(parts))


def _multi(a: Attempt) -> bool:
    return isinstance(a.cost, tuple) and len(a.cost) > 1


def best_trials(study: Study, n: int) -> list[tuple[int, Attempt]]:
    """The ``n`` best successful trials (lowest cost, the highest budget first; several
    objectives: the Pareto front), each with its journal trial id."""
    success = [a for a in study.finals if a.status == StatusType.SUCCESS.name]
    single = [a for a in success if not _multi(a)]
    if single:
        def key(a: Attempt) -> tuple[float, float]:
            c = a.scalar_cost
            return (-(a.budget or 0.0), math.inf if math.isnan(c) else c)

        return [(a.trial, a) for a in heapq.nsmallest(n, single, key=key)]
    if not success:
        return []
    front = {id(info) for info, _ in study.history.pareto_front()[:n]}
    return [(a.trial, a) for a, info, _ in _decoded(study) if id(info) in front]


def _decoded(study: Study) -> list[tuple[Attempt, TrialInfo, Any]]:
    history = study.history  # decodes once; its pairs are in the finals' order
    return [(a, info, value) for a, (info, value) in zip(study.finals, history, strict=True)]


def _backend_text(backend: dict[str, Any]) -> str:
    return f"{backend.get('name')}" + (f" x {backend['workers']}" if backend.get("workers")
                                        else "")


def _header_lines(study: Study, show_path: bool) -> list[str]:
    created = study.header.get("created")
    when = (dt.datetime.fromtimestamp(created, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
            if isinstance(created, (int, float)) else "?")
    lines = [f"journal: {printable(study.path)}"] if show_path else []
    lines.append(f"created: {when}")
    if study.header.get("study"):
        lines.append(f"study: {printable(study.header['study'])}")
    command: dict[str, Any] = study.command or {}
    if command:
        target = command["target"]
        what = target.get("function") or " ".join(map(str, target.get("script", [])))
        started = command["backend"]
        now = study.backend
        backend = _backend_text(started)
        if _backend_text(now) != backend:
            backend = f"{_backend_text(now)} (started on {backend})"
        lines.append(printable(f"target: {what}; optimizer: {command['optimizer']['name']} "
                               f"(seed {command['optimizer']['seed']}); backend: {backend}"))
    return lines


def _best_lines(study: Study, top: int) -> list[str]:
    best = best_trials(study, top)
    if not best:
        return ["best trial: none succeeded"]
    multi = _multi(best[0][1])
    lines = ["Pareto front:" if multi else "best trials:" if len(best) > 1 else "best trial:",
             f"  {'trial':>6}  {'cost':>12}  {'budget':>8}  {'time s':>8}  config"]
    for trial, a in best:
        budget = "-" if a.budget is None else f"{a.budget:g}"
        lines.append(f"  {trial:>6}  {_cost(a.cost):>12}  {budget:>8}  {a.time:>8.3f}  "
                     f"{_config(a.info)}")
    return lines


def _interruptions_line(records: list[dict[str, Any]]) -> str:
    """Runs lost outside the trial (worker, node or batch job gone), counted apart from crashes."""
    trials = {r.get("trial") for r in records}
    jobs = sorted({str(r["job"]) for r in records if r.get("job")})
    where = f"; batch jobs {', '.join(jobs)}" if jobs else ""
    return (f"interrupted: {len(records)} runs of {len(trials)} trials lost outside the trial "
            f"(worker, node or batch job gone) and run again, no retry spent{where}")


def summary(study: Study, top: int = 5, *, show_path: bool = True) -> str:
    """The report's text: what ran, how it ended, the best trials, where the time went.
    Trials are named by their journal id. ``show_path=False`` leaves out the ``journal:``
    line (for ``run``/``resume``, which printed it when they started)."""
    lines = _header_lines(study, show_path)
    counts = study.status_counts()
    retried = sum(1 for a in study.attempts if not a.final)
    states = ", ".join(f"{s.name} {counts[s.name]}" for s in StatusType if counts[s.name])
    lines.append(f"trials: {len(study.finals)} finished ({states or 'none'}); {retried} "
                 f"attempts retried, {study.cancelled} cancelled; {study.unfinished} "
                 "unfinished")
    if study.interruptions:
        lines.append(_interruptions_line(study.interruptions))
    reported = [a for a in study.finals if (a.trial, a.attempt) in study.curves]
    if reported:
        points = sum(len(study.curves[(a.trial, a.attempt)]) for a in reported)
        lines.append(f"learning curves: {len(reported)} trials reported {points} intermediate "
                     f"results; {counts['STOPPED']} stopped early")
    lines += _best_lines(study, top)
    b = study.breakdown()
    source = "" if b.workers_known else " (the most trials running at once)"
    plural = "" if b.workers == 1 else "s"
    lines.append(f"time: {b.elapsed:.2f} s elapsed on {b.workers} worker{plural}{source}; shares "
                 "of workers x elapsed:")
    for name, seconds, share in b.rows():
        lines.append(f"  {name:<22} {seconds:>10.2f} s  {100 * share:5.1f} %")
    if b.target > 0 and abs(b.reported - b.target) > 0.05 * b.target:
        lines.append(f"  (targets reported {b.reported:.2f} s of runtime themselves; the rows "
                     "above use the measured start and end of each trial)")
    return "\n".join(lines) + "\n"
