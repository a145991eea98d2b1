"""The tables of a suite report (``trialrunner report SUITE_OUT/``): final regret per problem
and optimizer (mean and bootstrap 95 % interval over seeds), and per optimizer its average rank
at the end, its Friedman rank with the Nemenyi critical difference, its wins, ties and losses
against each other optimizer over the problems, and its mean normalized regret at the end."""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np

from runner.suites._stats import bootstrap
from runner.suites._suite_data import SuiteData

__all__ = ["Cell", "final_cells", "final_table", "fmt", "mean_ci", "print_report", "rank_rows",
           "report_folder"]


@attrs.frozen
class Cell:
    """One problem x optimizer: mean and 95 % interval of the final value over ``n`` seeds of
    ``total`` (the others have none: a failure, or no result at the full budget)."""

    mean: float
    low: float
    high: float
    n: int
    total: int
    best: bool = False


def fmt(x: float) -> str:
    """A number in 4 significant digits (``—`` for NaN)."""
    return "—" if isinstance(x, float) and math.isnan(x) else f"{x:.4g}"


def mean_ci(mean: float, low: float, high: float) -> str:
    """``mean [low, high]`` all to one decimal place: the interval's width to two significant
    digits (tiny values share a power of ten: ``(1.00 [0.70, 1.30])e-09``); 4 significant
    digits when the interval is empty or not finite."""
    width = high - low
    if not (math.isfinite(width) and width > 0 and math.isfinite(mean)):
        return f"{fmt(mean)} [{fmt(low)}, {fmt(high)}]"
    places = max(0, 1 - math.floor(math.log10(width)))
    if places <= 6:
        return f"{mean:.{places}f} [{low:.{places}f}, {high:.{places}f}]"
    exponent = math.floor(math.log10(max(abs(mean), abs(low), abs(high))))
    scale = 10.0 ** exponent
    places = max(0, 1 - math.floor(math.log10(width / scale)))
    return (f"({mean / scale:.{places}f} [{low / scale:.{places}f}, {high / scale:.{places}f}])"
            f"e{exponent:+03d}")


def _value(row: dict[str, Any], known: bool) -> float | None:
    for key in (("regret",) if known else ("best_cost", "hypervolume")):
        v = row.get(key)
        if isinstance(v, (int, float)) and math.isfinite(v):
            return float(v)
    return None


def final_cells(data: SuiteData) -> tuple[list[str], dict[str, dict[str, Cell]]]:
    """The optimizers, and per problem and optimizer the final value's cell (regret where the
    optimum is known, else the best cost or hypervolume); the best mean per problem marked."""
    values: dict[str, dict[str, list[float]]] = {}
    totals: dict[tuple[str, str], int] = {}
    for row in data.rows:
        p, o = row["problem"], row["optimizer"]
        totals[p, o] = totals.get((p, o), 0) + 1
        v = _value(row, data.known(p))
        values.setdefault(p, {}).setdefault(o, [])
        if v is not None:
            values[p][o].append(v)
    optimizers = sorted({o for by_opt in values.values() for o in by_opt})
    cells: dict[str, dict[str, Cell]] = {}
    for p, by_opt in values.items():
        spec = data.problems.get(p)
        higher = spec is not None and len(spec.objectives) > 1 and not data.known(p)
        row_cells = {}
        for o, vs in by_opt.items():
            if vs:
                mean, low, high = (float(a[0]) for a in bootstrap(np.array(vs)[:, None]))
            else:
                mean = low = high = math.nan
            row_cells[o] = Cell(mean, low, high, len(vs), totals[p, o])
        means = [c.mean for c in row_cells.values() if c.n]
        if means:
            top = max(means) if higher else min(means)
            row_cells = {o: attrs.evolve(c, best=c.n > 0 and c.mean == top)
                         for o, c in row_cells.items()}
        cells[p] = row_cells
    return optimizers, cells


def rank_rows(data: SuiteData) -> list[dict[str, Any]]:
    """Per optimizer (best average rank first): ``rank`` at the end over problems x seeds,
    ``cd_rank`` (Friedman, one block per problem), ``wins``/``ties``/``losses``, ``norm`` with
    ``norm_low``/``norm_high``: the mean normalized regret at the end and its interval."""
    stats, out = data.stats, []
    for o in stats.optimizers:
        norm = stats.norm_curve.get(o)
        w, t, lo = stats.wtl.get(o, (0, 0, 0))
        out.append({"optimizer": o, "rank": stats.final_rank.get(o, math.nan),
                    "cd_rank": stats.cd.ranks.get(o, math.nan) if stats.cd else math.nan,
                    "wins": w, "ties": t, "losses": lo,
                    "norm": float(norm[0][-1]) if norm else math.nan,
                    "norm_low": float(norm[1][-1]) if norm else math.nan,
                    "norm_high": float(norm[2][-1]) if norm else math.nan})
    return sorted(out, key=lambda r: (math.isnan(r["rank"]), r["rank"]))


def _cell_text(cell: Cell | None) -> str:
    if cell is None or not cell.n:
        return "—"
    text = mean_ci(cell.mean, cell.low, cell.high)
    if cell.n < cell.total:
        text += f" ({cell.n}/{cell.total})"
    return f"[bold]*{text}[/bold]" if cell.best else text


def final_table(name: str, optimizers: list[str], cells: dict[str, dict[str, Cell]],
                known: dict[str, bool]) -> Any:
    """The final-regret table (a ``rich.table.Table``): a short title that does not wrap in an
    80-column terminal (it is at least as wide as its title; the legend is the caption), names
    shown as written (never rich markup), each cell's numbers to one decimal place."""
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    heading = f"{name}: final regret, mean [95 % CI] (* best)"
    table = Table(title=Text(heading), min_width=len(heading) + 4,
                  caption="(n/m): seeds with a value; (cost): optimum unknown, best cost or "
                          "hypervolume shown")
    table.add_column("problem")
    for o in optimizers:
        table.add_column(Text(o), justify="right")
    for p, by_opt in cells.items():
        label = p if known.get(p, True) else f"{p} (cost)"
        table.add_row(escape(label), *(_cell_text(by_opt.get(o)) for o in optimizers))
    return table


def print_report(data: SuiteData, console: Any) -> None:
    """Print the report's tables to a ``rich`` console."""
    from rich.markup import escape
    from rich.table import Table

    name = data.info.get("name") or data.out
    optimizers, cells = final_cells(data)
    console.print(final_table(str(name), optimizers, cells, {p: data.known(p) for p in cells}))
    ranks = Table(title="across problems: ranks at the end", caption="avg rank: over problems x "
                  "seeds; Friedman rank: per problem; W/T/L: wins/ties/losses")
    for col in ("optimizer", "avg rank", "Friedman rank", "W/T/L", "norm. regret [95 % CI]"):
        ranks.add_column(col, justify="left" if col == "optimizer" else "right")
    for r in rank_rows(data):
        ranks.add_row(escape(r["optimizer"]), f"{r['rank']:.2f}", f"{r['cd_rank']:.2f}",
                      f"{r['wins']}/{r['ties']}/{r['losses']}",
                      mean_ci(r["norm"], r["norm_low"], r["norm_high"]))
    console.print(ranks)
    cd = data.stats.cd
    if cd is not None:
        console.print(f"Friedman test over {cd.blocks} problems: statistic {cd.statistic:.3g}, "
                      f"p = {cd.p_value:.3g}; Nemenyi critical difference (alpha 0.05) "
                      f"{cd.cd:.3g}")
    for row in data.rows:
        if row["status"] != "finished" or row.get("note"):
            what = row.get("error") or row.get("note") or ""
            console.print(f"{row['problem']}/{row['optimizer']}/seed-{row['seed']}: "
                          f"{row['status']}" + (f": {what}" if what else ""))


def report_folder(out: str, html: str | None = None, console: Any = None) -> int:
    """``trialrunner report SUITE_OUT/ [--html FILE]``: print the tables of the suite in
    ``out``, write the page when asked; the exit code (2 when ``out`` holds no suite)."""
    import sys

    from rich.console import Console

    from runner.suites._suite_data import load

    try:
        data = load(out)
    except FileNotFoundError as exc:
        print(f"trialrunner report: error: {exc}", file=sys.stderr)
        return 2
    print_report(data, console if console is not None else Console())
    if html is not None:
        from runner.suites._suite_html import write_html

        write_html(data, html)
        print(f"wrote {html}")
    return 0
