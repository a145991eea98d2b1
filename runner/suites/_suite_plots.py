"""The figures of a suite report, each a PNG as bytes: the critical-difference diagram, the
average rank over time, the normalized regret over time, one figure per problem (median and
interquartile band of every optimizer's loss over target time) and, for a multi-objective
problem, the final fronts per optimizer. Axes go log (symlog when values reach zero or below)
when they span decades; values far above the bulk are clipped, and the clip is said on the
axis."""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from runner.lowlevel import plain
from runner.suites._stats import Cd, Stats

__all__ = ["cd_diagram", "fronts", "normalized_regret", "problem_curves", "rank_over_time"]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    _pyplot().close(fig)
    return buf.getvalue()


def _colors(optimizers: Sequence[str]) -> dict[str, Any]:
    cmap = _pyplot().get_cmap("tab10")
    return {o: cmap(i % 10) for i, o in enumerate(sorted(optimizers))}


def scale_axis(ax: Any, values: Any, lines: Sequence[tuple[Any, Any]] = ()) -> None:
    """Log (all positive) or symlog (some at or below zero) y axis when ``values`` span more
    than two decades; values far above the bulk clipped, marked and noted. ``lines``: the
    ``(x, y)`` series to mark where they leave the top."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return
    low, high = float(v.min()), float(v.max())
    tiny = float(np.min(np.abs(v[v != 0]))) if np.any(v != 0) else 1.0
    if low > 0 and high / low > 100:
        ax.set_yscale("log")
    elif high - low > 100 * tiny and (low <= 0):
        ax.set_yscale("symlog", linthresh=max(tiny, 1e-12 * max(abs(high), abs(low))))
    bulk = float(np.quantile(v, 0.9))
    log = ax.get_yscale() != "linear"
    far = high > (bulk * 100 if log and bulk > 0 else bulk + 4 * (bulk - low))
    if not far or bulk <= low:
        return
    top = bulk * 3 if log and bulk > 0 else bulk + 1.5 * (bulk - low)
    ax.set_ylim(top=top)
    for x, y in lines:
        y = np.asarray(y, dtype=float)
        over = y > top
        if over.any():
            ax.plot(np.asarray(x)[over], np.full(int(over.sum()), top), "^", ms=4,
                    color="black", clip_on=False)
    ax.set_title(ax.get_title() + f"\n(clipped above {top:.3g}; ^ marks values beyond)",
                 fontsize=8)


def cd_diagram(cd: Cd) -> bytes:
    """The critical-difference diagram: average ranks on an axis, best on the left; optimizers
    whose ranks differ by less than the critical difference joined by a bar."""
    plt = _pyplot()
    items = sorted(cd.ranks.items(), key=lambda kv: kv[1])
    k = len(items)
    half = (k + 1) // 2
    fig, ax = plt.subplots(figsize=(7, 1.5 + 0.35 * half), constrained_layout=True)
    ax.set_xlim(-0.4, k + 1.4)
    ax.set_ylim(-(1.9 + half * 0.9), 2.2)
    ax.axis("off")
    ax.plot([1, k], [0, 0], color="black", lw=1)
    for r in range(1, k + 1):
        ax.plot([r, r], [0, 0.25], color="black", lw=1)
        ax.text(r, 0.45, str(r), ha="center", fontsize=9)
    ax.plot([1, 1 + cd.cd], [1.4, 1.4], color="crimson", lw=2)
    ax.text(1 + cd.cd / 2, 1.65, f"CD = {cd.cd:.2f}", ha="center", fontsize=9, color="crimson")
    for i, (name, rank) in enumerate(items):
        y = -(1.2 + i % max(half, 1) * 0.9) - 0.3
        left = i < half
        end = 0.6 if left else k + 0.4
        ax.plot([rank, rank, end], [0, y, y], color="dimgray", lw=1)
        ax.text(end + (-0.05 if left else 0.05), y, plain(f"{name} ({rank:.2f})"),
                ha="right" if left else "left", va="center", fontsize=9)
    groups: list[tuple[int, int]] = []
    level = 0
    for i in range(k):  # maximal runs of optimizers within the critical difference
        j = max(j for j in range(i, k) if items[j][1] - items[i][1] < cd.cd)
        if j > i and not any(a <= i and j <= b for a, b in groups):
            groups.append((i, j))
    for a, b in groups:
        y = -0.35 - 0.25 * level
        ax.plot([items[a][1] - 0.05, items[b][1] + 0.05], [y, y], color="black", lw=4)
        level += 1
    ax.set_title(f"Critical difference (Nemenyi, alpha 0.05, {cd.blocks} problems); "
                 f"Friedman p = {cd.p_value:.3g}", fontsize=10)
    return _png(fig)


def _fractions(n: int) -> list[float]:
    return [(i + 1) / n for i in range(n)]


def rank_over_time(stats: Stats) -> bytes:
    """Average rank (problems x seeds) over the fraction of each problem's target time."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.8), constrained_layout=True)
    colors = _colors(stats.optimizers)
    for o, curve in stats.rank_curve.items():
        ax.plot(_fractions(len(curve)), curve, label=plain(o), color=colors[o], lw=2)
    ax.set_xlabel("fraction of each problem's target time")
    ax.set_ylabel("average rank (1 = best)")
    ax.set_ylim(0.9, max(len(stats.optimizers), 2) + 0.1)
    ax.invert_yaxis()
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Average rank over time")
    return _png(fig)


def normalized_regret(stats: Stats) -> bytes:
    """Mean normalized regret across problems over time, with its bootstrap 95 % band."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.8), constrained_layout=True)
    colors, values, lines = _colors(stats.optimizers), [], []
    ax.set_title("Normalized regret (mean over problems; band: 95 % CI over seeds)")
    for o, (mean, low, high) in stats.norm_curve.items():
        xs = _fractions(len(mean))
        ax.plot(xs, mean, label=plain(o), color=colors[o], lw=2)
        ax.fill_between(xs, low, high, color=colors[o], alpha=0.2)
        values.extend(mean)
        lines.append((xs, mean))
    ax.axhline(1.0, color="gray", ls=":", lw=1)
    ax.set_xlabel("fraction of each problem's target time")
    ax.set_ylabel("normalized regret (1 = random search's median)")
    scale_axis(ax, values, lines)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)


def problem_curves(problem: str, grid: Sequence[float], losses: Mapping[str, Any],
                   ylabel: str, ends: Mapping[str, float] | None = None) -> bytes:
    """One problem: each optimizer's median loss over target time and its interquartile band
    over seeds, up to the end of its longest study (``ends``; a dot marks it)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.4), constrained_layout=True)
    ax.set_title(plain(f"{problem}: median and interquartile range over seeds"))
    colors, values, lines = _colors(list(losses)), [], []
    for o, runs in sorted(losses.items()):
        q1, med, q3 = np.quantile(runs, [0.25, 0.5, 0.75], axis=0)
        end = (ends or {}).get(o, math.inf)
        n = max(1, sum(t <= end for t in grid) + (1 if end < grid[-1] else 0))
        xs = [*grid[: n - 1], min(end, grid[-1])] if n <= len(grid) else list(grid)
        ax.plot(xs, med[:n], label=plain(o), color=colors[o], lw=2)
        ax.fill_between(xs, q1[:n], q3[:n], color=colors[o], alpha=0.2)
        if end < grid[-1]:
            ax.plot([xs[-1]], [med[n - 1]], "o", color=colors[o], ms=4)
        values.extend(med[:n])
        values.extend(q1[:n])
        lines.append((xs, med[:n]))
    ax.set_xlabel("target time (s, cumulative)")
    ax.set_ylabel(plain(ylabel))
    scale_axis(ax, values, lines)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)


def fronts(problem: str, points: Mapping[str, Sequence[Sequence[tuple[float, ...]]]],
           reference: Sequence[float] | None, names: Sequence[str] = ("f1", "f2")) -> bytes:
    """A two-objective problem's final Pareto fronts: one panel per optimizer, one staircase
    per seed."""
    plt = _pyplot()
    names = sorted(points)
    fig, axes = plt.subplots(1, len(names), figsize=(3.6 * len(names), 3.4), squeeze=False,
                             sharex=True, sharey=True, constrained_layout=True)
    for ax, o in zip(axes[0], names, strict=True):
        for seed, front in enumerate(points[o]):
            if front:
                xs, ys = zip(*sorted((p[0], p[1]) for p in front), strict=True)
                ax.step(xs, ys, where="post", marker="o", ms=3, lw=1, label=f"seed {seed}")
        if reference is not None:
            ax.plot([reference[0]], [reference[1]], "kx")
        ax.set_title(plain(f"{problem}: {o}"), fontsize=9)
        ax.set_xlabel(names[0])
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(names[1])
    axes[0][0].legend(fontsize=7)
    if math.isfinite(sum(reference or ())):
        fig.suptitle("final fronts (x: hypervolume reference point)", fontsize=9)
    return _png(fig)
