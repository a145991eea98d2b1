"""The report's figure (matplotlib, Agg): the incumbent over time and over trials with every
trial's cost coloured by status, and a worker timeline where idle gaps show as blank."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from runner.cli._journal_view import Attempt, Study
from trials import StatusType

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["STATUS_COLOURS", "figure", "incumbent_trace", "save_png"]

STATUS_COLOURS = {  # by name: STOPPED is not in every version of StatusType
    "SUCCESS": "#2ca02c", "CRASHED": "#d62728", "TIMEOUT": "#ff7f0e", "MEMORYOUT": "#9467bd",
    "CANCELLED": "#7f7f7f", "STOPPED": "#1f77b4", "RUNNING": "#bcbd22",
}
_OTHER = "#8c564b"


def _scalar(attempt: Attempt) -> float:
    cost = attempt.value.cost
    return float(cost[0] if isinstance(cost, tuple) else cost)


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise ImportError("plots need matplotlib: pip install 'trialrunner[plot]'") from None
    matplotlib.use("Agg", force=True)  # files only: never a window, works headless
    import matplotlib.pyplot as plt

    return plt


def incumbent_trace(xs: list[float], finals: list[Attempt]) -> tuple[list[float], list[float]]:
    """The incumbent's cost after each trial: the best successful cost at the highest budget
    reached so far (a cost measured at a smaller budget does not compete with it)."""
    best, level, tx, ty = math.inf, -math.inf, [], []
    for x, attempt in zip(xs, finals, strict=True):
        cost = _scalar(attempt)
        if attempt.value.status is not StatusType.SUCCESS or not math.isfinite(cost):
            continue
        budget = attempt.info.budget if attempt.info.budget is not None else 0.0
        if budget > level or (budget == level and cost < best):
            best, level = cost, budget
            tx.append(x)
            ty.append(cost)
    return tx, ty


def _costs_panel(ax: Any, xs: list[float], finals: list[Attempt], xlabel: str) -> None:
    costs = [_scalar(a) for a in finals]
    finite = [c for c in costs if math.isfinite(c)]
    top = max(finite) if finite else 1.0
    for status in StatusType:
        pts = [(x, c if math.isfinite(c) else top) for x, c, a in zip(xs, costs, finals,
                                                                     strict=True)
               if a.value.status is status]
        if pts:
            ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=12, alpha=0.7,
                       color=STATUS_COLOURS.get(status.name, _OTHER), label=status.name,
                       marker="o" if status is StatusType.SUCCESS else "x")
    tx, ty = incumbent_trace(xs, finals)
    if tx:
        ax.step(tx + [max(xs)], ty + [ty[-1]], where="post", color="black", lw=1.5,
                label="incumbent")
    if finite and min(finite) > 0 and max(finite) / min(finite) > 100:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("cost" if not finals or not isinstance(finals[0].value.cost, tuple)
                  else "cost (first objective)")
    ax.legend(fontsize=7, loc="best")
    ax.grid(alpha=0.3)


def _timeline(ax: Any, study: Study, t0: float) -> None:
    lanes, recorded = study.lanes()
    spans = [a.span for a in study.attempts]
    shortest = 0.002 * (max((e for _, e in spans), default=t0) - t0)  # still visible
    for attempt, lane, (start, end) in zip(study.attempts, lanes, spans, strict=True):
        ax.barh(lane, max(end - start, shortest), left=start - t0, height=0.8,
                color=STATUS_COLOURS.get(attempt.value.status.name, _OTHER),
                edgecolor="none")
    n = max(lanes) + 1 if lanes else 1
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_yticks(range(n))
    ax.set_ylabel("worker" if recorded else "lane")
    ax.set_xlabel("seconds since the first trial was submitted")
    ax.set_title("worker timeline (" + ("recorded workers" if recorded else
                 "lanes derived from start/end times") + "; gaps: idle)", fontsize=9)
    ax.grid(alpha=0.3, axis="x")


def _curves(ax: Any, study: Study) -> None:
    """Every final attempt's learning curve: cost against step; a stopped trial ends in x."""
    for a in study.attempts:
        curve = study.curves.get((a.trial, a.attempt)) if a.final else None
        if not curve:
            continue
        steps = [r.step for r in curve]
        costs = [r.cost[0] if isinstance(r.cost, tuple) else r.cost for r in curve]
        stopped = a.value.status.name == "STOPPED"
        line, = ax.plot(steps, costs, lw=0.8, alpha=0.6 if stopped else 0.9)
        ax.plot(steps[-1:], costs[-1:], "x" if stopped else "o", color=line.get_color(), ms=4)
    ax.set_xlabel("step", fontsize=8)
    ax.set_ylabel("reported cost", fontsize=8)
    ax.set_title("learning curves (x: stopped early)", fontsize=9)
    ax.grid(alpha=0.3)


def figure(study: Study) -> Figure:
    """The report's figure for ``study`` (a third row of learning curves when trials reported)."""
    plt = _pyplot()
    rows = 3 if study.curves else 2
    fig: Figure = plt.figure(figsize=(11, 4 * rows), layout="constrained")
    grid = fig.add_gridspec(rows, 2, height_ratios=[1] * rows)
    finals = [a for a in study.attempts if a.final]
    starts = [a.submitted if a.submitted is not None else a.span[0] for a in study.attempts]
    t0 = min(starts) if starts else 0.0
    by_time = sorted(finals, key=lambda a: a.collected or a.span[1])
    ax = fig.add_subplot(grid[0, 0])
    _costs_panel(ax, [(a.collected or a.span[1]) - t0 for a in by_time], by_time,
                 "seconds since the first trial was submitted")
    ax.set_title("incumbent over time", fontsize=9)
    ax = fig.add_subplot(grid[0, 1])
    _costs_panel(ax, [float(i) for i in range(len(finals))], finals, "trial (in finishing order)")
    ax.set_title("incumbent over trials", fontsize=9)
    _timeline(fig.add_subplot(grid[1, :]), study, t0)
    if study.curves:
        _curves(fig.add_subplot(grid[2, :]), study)
    fig.suptitle(f"{study.path}: {len(study.history)} trials", fontsize=10)
    return fig


def save_png(study: Study, path: str) -> None:
    """Draw the figure into the PNG file ``path``."""
    plt = _pyplot()
    fig = figure(study)
    try:
        fig.savefig(path, dpi=100, format="png")
    finally:
        plt.close(fig)
