"""The default picture of ``loop.live_plot()``: every finished trial's cost over time with the
incumbent trace (failures marked at the top, a log scale when the costs are positive and span
more than a decade) and, below it, the worker timeline.

Drawn on a bare ``matplotlib.figure.Figure``: no pyplot, so drawing never changes the
notebook's matplotlib backend nor leaves a figure for it to show again.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from trials import History, StatusType, TrialInfo, TrialValue

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["figure"]

_OTHER = "#8c564b"


def _first(cost: Any) -> float:
    value = cost[0] if isinstance(cost, tuple) else cost
    return float(value) if isinstance(value, (int, float)) else math.nan


def _attempt(kind: Any, trial: int, info: TrialInfo, value: TrialValue) -> Any:
    """The report's brief of one finished trial, built from memory instead of a journal."""
    worker = value.additional_info.get("worker")
    return kind(trial=trial, attempt=0, final=True, status=value.status.name, cost=value.cost,
                budget=info.budget, time=value.time, starttime=value.starttime,
                endtime=value.endtime, worker=None if worker is None else str(worker),
                submitted=None, collected=value.endtime)


def figure(history: History) -> Figure:
    """Incumbent trace over time (top) and worker timeline (bottom) of ``history``."""
    from matplotlib.figure import Figure

    from runner.cli._journal_view import Attempt, Study
    from runner.cli._plots import STATUS_COLOURS, incumbent_trace

    attempts = [_attempt(Attempt, i, info, value) for i, (info, value) in enumerate(history)]
    study = Study(path="", header={}, attempts=attempts, unfinished=0)
    fig = Figure(figsize=(9, 5.5), layout="constrained")
    top, bottom = fig.subplots(2, 1, height_ratios=[3, 2])
    spans = [a.span for a in attempts]
    t0 = min((s for s, _ in spans if s > 0), default=0.0)
    xs = [end - t0 for _, end in spans]
    costs = [_first(a.cost) for a in attempts]
    finite = [c for c in costs if math.isfinite(c)]
    ceiling = max(finite) if finite else 1.0
    for status in StatusType:
        pts = [(x, c if math.isfinite(c) and status is StatusType.SUCCESS else ceiling)
               for x, c, a in zip(xs, costs, attempts, strict=True) if a.status == status.name]
        if pts:
            top.scatter([p[0] for p in pts], [p[1] for p in pts], s=14, alpha=0.75,
                        color=STATUS_COLOURS.get(status.name, _OTHER),
                        marker="o" if status is StatusType.SUCCESS else "x",
                        label=f"{status.name.lower()} ({len(pts)})")
    order = sorted(range(len(attempts)), key=lambda i: xs[i])
    tx, ty = incumbent_trace([xs[i] for i in order], [attempts[i] for i in order])
    if tx:
        top.step(tx + [max(xs)], ty + [ty[-1]], where="post", color="black", lw=1.5,
                 label=f"incumbent ({ty[-1]:.4g})")
    if finite and min(finite) > 0 and max(finite) / min(finite) > 10:
        top.set_yscale("log")
    top.set_xlabel("seconds since the first trial started")
    top.set_ylabel("cost" if not attempts or not isinstance(attempts[0].cost, tuple)
                   else "cost (first objective)")
    top.set_title(f"{len(attempts)} trials; failures at the top, as x", fontsize=9)
    if attempts:
        top.legend(fontsize=7, loc="upper right")
    top.grid(alpha=0.3)
    _timeline(bottom, study, t0, STATUS_COLOURS)
    return fig


def _timeline(ax: Any, study: Any, t0: float, colours: dict[str, str]) -> None:
    lanes, recorded = study.lanes()
    spans = [a.span for a in study.attempts]
    shortest = 0.002 * max((e - t0 for _, e in spans), default=1.0)
    for attempt, lane, (start, end) in zip(study.attempts, lanes, spans, strict=True):
        ax.barh(lane, max(end - start, shortest), left=start - t0, height=0.8,
                color=colours.get(attempt.status, _OTHER), edgecolor="none")
    n = max(lanes) + 1 if lanes else 1
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_yticks(range(n))
    ax.set_ylabel("worker" if recorded else "lane")
    ax.set_xlabel("seconds since the first trial started")
    ax.set_title("worker timeline (gaps: idle)", fontsize=9)
    ax.grid(alpha=0.3, axis="x")
