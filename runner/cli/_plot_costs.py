"""The cost panels of the report's figure: every finished trial's cost (colour: status; size:
budget) and the incumbent, on an axis chosen for the costs, with what cannot be seen left out.

* Axis: logarithmic when all costs are positive and span more than two decades; symmetric-log
  (linear around zero) when some are zero or negative and their magnitudes span more than two
  decades; linear otherwise.
* Outliers: costs far above the rest (beyond the third quartile plus three interquartile ranges,
  measured on the chosen axis) are clipped to the top edge, drawn as triangles and counted in
  the legend, so one huge cost does not flatten the others; failed trials (crash cost) sit there
  too, as crosses.
* Downsampling: points are binned to the plot's pixels; of the points of one status and budget
  falling in the same bin only one is drawn. A 100,000-trial study draws a few thousand points
  that look the same as all of them.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

from runner.cli._journal_view import Attempt
from runner.lowlevel import plain, plain_log_ticks
from trials import StatusType

__all__ = ["STATUS_COLOURS", "choose_scale", "costs_panel", "incumbent_trace"]

STATUS_COLOURS = {  # by name: STOPPED is not in every version of StatusType
    "SUCCESS": "#2ca02c", "CRASHED": "#d62728", "TIMEOUT": "#ff7f0e", "MEMORYOUT": "#9467bd",
    "CANCELLED": "#7f7f7f", "STOPPED": "#1f77b4", "RUNNING": "#bcbd22",
}
OTHER = "#8c564b"
_BINS = (300, 150)  # a panel is about 500 x 300 pixels; a marker is 3 to 9 pixels wide


def choose_scale(costs: Sequence[float]) -> tuple[str, float]:
    """``("linear"|"log"|"symlog", linthresh)`` for these finite costs (see the module doc)."""
    if not costs:
        return "linear", 0.0
    lo, hi = min(costs), max(costs)
    if lo > 0:
        return ("log", 0.0) if hi / lo > 100 else ("linear", 0.0)
    magnitudes = sorted(abs(c) for c in costs if c != 0)
    if not magnitudes:
        return "linear", 0.0
    linthresh = magnitudes[len(magnitudes) // 10]  # most costs fall in the logarithmic part
    return ("symlog", linthresh) if magnitudes[-1] / linthresh > 100 else ("linear", 0.0)


def _transform(scale: str, linthresh: float) -> Any:
    if scale == "log":
        return math.log10
    if scale == "symlog":
        return lambda c: math.copysign(math.log10(1 + abs(c) / linthresh), c)
    return lambda c: c


def _clip_at(values: Sequence[float]) -> float:
    """The transformed value above which costs are outliers (``inf`` when none are)."""
    if len(values) < 8:
        return math.inf
    q1, _, q3 = statistics.quantiles(values, n=4)
    if q3 <= q1:
        return math.inf
    return q3 + 3 * (q3 - q1)


def incumbent_trace(xs: list[float], finals: list[Attempt]) -> tuple[list[float], list[float]]:
    """The incumbent's cost after each trial: the best successful cost at the highest budget
    reached so far (a cost measured at a smaller budget does not compete with it)."""
    best, level, tx, ty = math.inf, -math.inf, [], []
    for x, attempt in zip(xs, finals, strict=True):
        cost = attempt.scalar_cost
        if attempt.status != StatusType.SUCCESS.name or not math.isfinite(cost):
            continue
        budget = attempt.budget if attempt.budget is not None else 0.0
        if budget > level or (budget == level and cost < best):
            best, level = cost, budget
            tx.append(x)
            ty.append(cost)
    return tx, ty


def _sizes(finals: Sequence[Attempt]) -> dict[float | None, float]:
    """Marker area per budget: the smallest budget small, the largest large."""
    budgets = sorted({a.budget for a in finals if a.budget is not None})
    sizes: dict[float | None, float] = {None: 14.0}
    for i, b in enumerate(budgets):
        sizes[b] = 14.0 if len(budgets) == 1 else 5.0 + 40.0 * i / (len(budgets) - 1)
    return sizes


def costs_panel(ax: Any, xs: list[float], finals: list[Attempt], xlabel: str) -> None:
    """Draw the costs of ``finals`` at ``xs`` and the incumbent on ``ax``."""
    costs = [a.scalar_cost for a in finals]
    finite = [c for c in costs if math.isfinite(c)]
    scale, linthresh = choose_scale(finite)
    f = _transform(scale, linthresh)
    cut = _clip_at([f(c) for c in finite])
    shown = [c for c in finite if f(c) <= cut]
    top = max(shown) if shown else 1.0
    bottom = min(shown) if shown else 0.0
    x0, x1 = (min(xs), max(xs)) if xs else (0.0, 1.0)
    fy0, fy1 = f(bottom), f(top)
    sizes = _sizes(finals)
    groups: dict[tuple[str, float | None, bool], dict[tuple[int, int], tuple[float, float]]] = {}
    for x, c, a in zip(xs, costs, finals, strict=True):
        clipped = not math.isfinite(c) or f(c) > cut
        y = top if clipped else c
        bx = int((x - x0) / (x1 - x0 or 1.0) * _BINS[0])
        by = int((f(y) - fy0) / (fy1 - fy0 or 1.0) * _BINS[1])
        groups.setdefault((a.status, a.budget, clipped), {}).setdefault((bx, by), (x, y))
    for status in [s.name for s in StatusType]:
        for (name, budget, clipped), points in sorted(
                ((k, v) for k, v in groups.items() if k[0] == status),
                key=lambda kv: (kv[0][1] is None, kv[0][1] or 0.0, kv[0][2])):
            failed = status != StatusType.SUCCESS.name
            marker = "x" if failed else "^" if clipped else "o"
            ax.scatter([p[0] for p in points.values()], [p[1] for p in points.values()],
                       s=sizes.get(budget, 14.0), alpha=0.7, marker=marker, linewidths=0.8,
                       color=STATUS_COLOURS.get(name, OTHER))
    _legend(ax, finals, sizes, sum(1 for c in finite if f(c) > cut))
    tx, ty = incumbent_trace(xs, finals)
    if tx:
        ax.step(tx + [max(xs)], ty + [ty[-1]], where="post", color="black", lw=1.5,
                label="incumbent" + (" (best at the highest budget so far)"
                                     if len(sizes) > 2 else ""))
    _axis(ax, scale, linthresh)
    ax.set_xlabel(plain(xlabel))
    ax.set_ylabel("cost" if not finals or not isinstance(finals[0].cost, tuple)
                  else "cost (first objective)")
    drawn = sum(len(points) for points in groups.values())
    ax.legend(fontsize=7, loc="best" if drawn < 2000 else "upper right")  # "best" is slow
    ax.grid(alpha=0.3)


def _legend(ax: Any, finals: Sequence[Attempt], sizes: dict[float | None, float],
            outliers: int) -> None:
    """Legend entries: one per status (colour), one per budget (size), the clipped count."""
    for name in dict.fromkeys(a.status for a in finals):
        ax.scatter([], [], s=14, color=STATUS_COLOURS.get(name, OTHER), label=name,
                   marker="o" if name == StatusType.SUCCESS.name else "x")
    budgets = [b for b in sizes if b is not None]
    if len(budgets) > 1:
        for b in budgets:
            ax.scatter([], [], s=sizes[b], color="#999999", label=f"budget {b:g}")
    if outliers:
        ax.scatter([], [], s=14, marker="^", color="#999999",
                   label=f"{outliers} outlier{'s' if outliers > 1 else ''} (at the top edge)")


def _axis(ax: Any, scale: str, linthresh: float) -> None:
    """The cost axis's scale, with plain tick labels (``3``, ``0.01``, never ``3×10^0``)."""
    if scale == "log":
        ax.set_yscale("log")
    elif scale == "symlog":
        ax.set_yscale("symlog", linthresh=linthresh)
    else:
        return
    plain_log_ticks(ax, linthresh)
