"""What a finished suite shows: the summary table (mean +- std of regret per problem and
optimizer, the best per problem marked) and the anytime plots, one PNG per problem."""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from runner._plot_text import plain, plain_log_ticks
from runner.suites._results import Curve

__all__ = ["mean_pm_std", "plot_problem", "summary", "summary_table"]

Summary = dict[str, dict[str, tuple[float, float, int, str]]]


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def summary(rows: Sequence[Mapping[str, Any]]) -> Summary:
    """``{problem: {optimizer: (mean, std, n, what)}}`` over seeds; ``what`` is "regret", or
    "best cost" where the optimum is unknown (NaN mean when no seed has a value)."""
    cells: dict[str, dict[str, tuple[list[float], str]]] = {}
    for row in rows:
        regret, best = _number(row.get("regret")), _number(row.get("best_cost"))
        value, what = (regret, "regret") if regret is not None else (best, "best cost")
        values, _ = cells.setdefault(row["problem"], {}).setdefault(row["optimizer"], ([], what))
        if value is not None:
            values.append(value)
    out: Summary = {}
    for problem, by_opt in cells.items():
        for opt, (values, what) in by_opt.items():
            mean = statistics.fmean(values) if values else math.nan
            std = statistics.stdev(values) if len(values) > 1 else 0.0
            out.setdefault(problem, {})[opt] = (mean, std, len(values), what)
    return out


def mean_pm_std(mean: float, std: float) -> str:
    """``mean ± std`` with both to the same decimal place: the std to two significant digits
    (tiny values share one power of ten: ``(1.00 ± 0.30)e-09``; the mean to four significant
    digits when the std is 0 or not finite)."""
    if not (math.isfinite(std) and std > 0 and math.isfinite(mean)):
        return f"{mean:.4g} ± {std:.2g}"
    places = max(0, 1 - math.floor(math.log10(std)))
    if places <= 6:
        return f"{mean:.{places}f} ± {std:.{places}f}"
    exponent = math.floor(math.log10(max(abs(mean), std)))
    scale = 10.0 ** exponent
    places = max(0, 1 - math.floor(math.log10(std / scale)))
    return f"({mean / scale:.{places}f} ± {std / scale:.{places}f})e{exponent:+03d}"


def summary_table(rows: Sequence[Mapping[str, Any]], title: str = "suite") -> Any:
    """A ``rich.table.Table``: problems x optimizers, mean +- std, the best per problem bold
    and starred. Names are shown as written (no rich markup); the table is at least as wide as
    its title, so the title does not wrap in an 80-column terminal."""
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    data = summary(rows)
    optimizers = sorted({opt for by_opt in data.values() for opt in by_opt})
    heading = f"{title}: regret, mean ± std over seeds (* best)"
    table = Table(title=Text(heading), min_width=len(heading) + 4)
    table.add_column("problem")
    for opt in optimizers:
        table.add_column(Text(opt), justify="right")
    for problem, by_opt in data.items():
        means = [m for m, _, n, _ in by_opt.values() if n]
        best = min(means) if means else None
        cells = []
        for opt in optimizers:
            if opt not in by_opt or not by_opt[opt][2]:
                cells.append("—")
                continue
            mean, std, _, what = by_opt[opt]
            text = mean_pm_std(mean, std) + ("" if what == "regret" else " (cost)")
            cells.append(f"[bold]*{text}[/bold]" if mean == best else text)
        table.add_row(escape(problem), *cells)
    return table


def _band(curves: Sequence[Sequence[float]]) -> tuple[list[float], list[float], list[float]]:
    """Median and interquartile band, point by point, over curves cut to the shortest."""
    n = min(len(c) for c in curves)
    med: list[float] = []
    low: list[float] = []
    high: list[float] = []
    for i in range(n):
        values = sorted(c[i] for c in curves if not math.isnan(c[i]))
        if not values:
            for series in (med, low, high):
                series.append(math.nan)
            continue
        q = statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else \
            [values[0]] * 3
        low.append(q[0])
        med.append(statistics.median(values))
        high.append(q[2])
    return med, low, high


def _on_grid(curve: Curve, grid: Sequence[float]) -> list[float]:
    """The best-so-far of ``curve`` at each time of ``grid`` (a step function)."""
    out, j, current = [], 0, math.nan
    for t in grid:
        while j < len(curve.time) and curve.time[j] <= t:
            current = curve.best[j]
            j += 1
        out.append(current)
    return out


def plot_problem(path: str, problem: str, curves: Mapping[str, Sequence[Curve]],
                 optimum: float | None) -> None:
    """Write ``path``: regret (or best cost) over trials and over target time, median and
    interquartile band over seeds, one line per optimizer."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shift = optimum if optimum is not None else 0.0
    ylabel = "regret" if optimum is not None else "best cost"
    fig, (by_trial, by_time) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    positive = True
    for opt, runs in sorted(curves.items()):
        runs = [c for c in runs if c.best]
        if not runs:
            continue
        med, low, high = _band([[b - shift for b in c.best] for c in runs])
        xs = list(range(1, len(med) + 1))
        line = by_trial.plot(xs, med, label=plain(opt))[0]
        by_trial.fill_between(xs, low, high, alpha=0.2, color=line.get_color())
        end = max(c.time[-1] for c in runs)
        grid = [end * i / 199 for i in range(200)]
        med, low, high = _band([[b - shift for b in _on_grid(c, grid)] for c in runs])
        by_time.plot(grid, med, label=plain(opt), color=line.get_color())
        by_time.fill_between(grid, low, high, alpha=0.2, color=line.get_color())
        positive = positive and all(v > 0 for v in med + low if not math.isnan(v))
    for ax, xlabel in ((by_trial, "trials"), (by_time, "target time (s, cumulative)")):
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if positive and optimum is not None:
            ax.set_yscale("log")
            plain_log_ticks(ax)
        ax.grid(alpha=0.3)
    by_trial.legend()
    fig.suptitle(plain(f"{problem}: median and interquartile range over seeds"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
