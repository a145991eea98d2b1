"""``trialrunner report SUITE_OUT/ --html FILE``: one offline page (figures embedded as PNG data
URIs, no script, no network): the tables, the critical-difference diagram, the rank over time,
the normalized regret, one figure per problem, the final fronts of multi-objective problems,
the failures with their errors, the suite file and the versions used."""

from __future__ import annotations

import base64
import html
import json
import os
from typing import Any

from runner.suites import _suite_plots as plots
from runner.suites._hypervolume import pareto_front
from runner.suites._suite_data import SuiteData
from runner.suites._suite_report import final_cells, fmt, rank_rows

__all__ = ["figures", "write_html"]

STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:1.5em auto;padding:0 1em;
color:#222}table{border-collapse:collapse;margin:.6em 0 1.2em}td,th{border:1px solid #ccc;
padding:.25em .6em;text-align:right;font-size:.9em}th{background:#f2f2f2}td:first-child,
th:first-child{text-align:left}td.best{font-weight:bold;background:#e8f5e9}img{max-width:100%}
.grid{display:flex;flex-wrap:wrap;gap:.5em}.grid img{width:540px}pre{background:#f7f7f7;
padding:.6em;overflow-x:auto;font-size:.85em}.note{color:#555;font-size:.9em}"""


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _e(text: Any) -> str:
    return html.escape(str(text))


def _final_table(data: SuiteData) -> str:
    optimizers, cells = final_cells(data)
    head = "".join(f"<th>{_e(o)}</th>" for o in optimizers)
    body = []
    for p, by_opt in cells.items():
        tds = []
        for o in optimizers:
            c = by_opt.get(o)
            if c is None or not c.n:
                tds.append("<td>—</td>")
                continue
            text = f"{fmt(c.mean)} <small>[{fmt(c.low)}, {fmt(c.high)}]</small>"
            if c.n < c.total:
                text += f" <small>({c.n}/{c.total})</small>"
            tds.append(f'<td class="{"best" if c.best else ""}">{text}</td>')
        label = _e(p) if data.known(p) else \
            f"{_e(p)} <small>(no optimum: best cost / hypervolume)</small>"
        body.append(f"<tr><td>{label}</td>{''.join(tds)}</tr>")
    return (f"<table><tr><th>problem</th>{head}</tr>{''.join(body)}</table>"
            '<p class="note">Final regret (multi-objective: hypervolume regret), mean and '
            "bootstrap 95 % interval over seeds; bold: best mean per problem; (n/m): seeds "
            "with a value (the others failed or never reached the full budget).</p>")


def _rank_table(data: SuiteData) -> str:
    rows = []
    for r in rank_rows(data):
        rows.append(f"<tr><td>{_e(r['optimizer'])}</td><td>{fmt(r['rank'])}</td>"
                    f"<td>{fmt(r['cd_rank'])}</td><td>{r['wins']}/{r['ties']}/{r['losses']}"
                    f"</td><td>{fmt(r['norm'])} <small>[{fmt(r['norm_low'])}, "
                    f"{fmt(r['norm_high'])}]</small></td></tr>")
    cd = data.stats.cd
    line = (f"<p>Friedman test over {cd.blocks} problems: statistic {cd.statistic:.3g}, "
            f"p = {cd.p_value:.3g}; Nemenyi critical difference (alpha 0.05): {cd.cd:.3g}.</p>"
            if cd is not None else "<p>No Friedman test: fewer than two optimizers.</p>")
    return ("<table><tr><th>optimizer</th><th>average rank</th><th>Friedman rank</th>"
            "<th>wins/ties/losses</th><th>normalized regret [95 % CI]</th></tr>"
            f"{''.join(rows)}</table>{line}"
            '<p class="note">Average rank: at the end, over problems x seeds. Friedman rank: of '
            "the mean over seeds, one block per problem. Wins/ties/losses: against each other "
            "optimizer, per problem, on the mean final value. Normalized regret: 0 = optimum, "
            "1 = random search's median (see docs/reports.md).</p>")


def figures(data: SuiteData) -> list[tuple[str, bytes]]:
    """Per problem its curves (``<problem>``) and, with two objectives, its final fronts per
    optimizer (``<problem>-fronts``), as PNG bytes."""
    from trials import History, StatusType

    out = []
    for p, grid in data.stats.grid.items():
        spec = data.problems.get(p)
        multi = spec is not None and len(spec.objectives) > 1
        label = ("hypervolume regret" if multi else "regret") if data.known(p) else \
            ("minus hypervolume" if multi else "best cost")
        ends = {o: max((c.time[-1] for c in seeds.values() if c.time), default=0.0)
                for o, seeds in data.runs.get(p, {}).items()}
        out.append((p, plots.problem_curves(p, grid, data.stats.losses[p], label, ends)))
        if spec is None or len(spec.objectives) != 2:
            continue
        points: dict[str, list[list[tuple[float, ...]]]] = {}
        for o in sorted(data.runs.get(p, {})):
            for seed in sorted(data.runs[p][o]):
                journal = os.path.join(data.out, p, o, f"seed-{seed}.jsonl")
                costs = [v.cost for _, v in History.load(journal)
                         if v.status == StatusType.SUCCESS and isinstance(v.cost, tuple)]
                points.setdefault(o, []).append(pareto_front(costs))
        out.append((f"{p}-fronts", plots.fronts(p, points, spec.reference, spec.objectives)))
    return out


def _failures(data: SuiteData) -> str:
    items = []
    for r in data.rows:
        what = r.get("error") or r.get("note")
        if r["status"] != "finished" or what:
            items.append(f"<li><b>{_e(r['problem'])}/{_e(r['optimizer'])}/seed-{_e(r['seed'])}"
                         f"</b>: {_e(r['status'])}{': ' + _e(what) if what else ''}</li>")
    return f"<ul>{''.join(items)}</ul>" if items else "<p>None: every study finished.</p>"


def write_html(data: SuiteData, path: str) -> None:
    """Write the suite report page of ``data`` to ``path``."""
    stats, name = data.stats, data.info.get("name") or os.path.basename(data.out.rstrip("/"))
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>suite {_e(name)}"
             f"</title><style>{STYLE}</style></head><body><h1>Suite {_e(name)}</h1>",
             f"<p>{len(data.rows)} studies in {_e(data.out)}: "
             + ", ".join(f"{sum(r['status'] == s for r in data.rows)} {s}"
                         for s in sorted({r['status'] for r in data.rows})) + ".</p>",
             "<h2>Across problems</h2>", _rank_table(data)]
    if stats.cd is not None:
        parts.append(_img(plots.cd_diagram(stats.cd), "critical difference diagram"))
    if stats.rank_curve:
        parts.append('<div class="grid">' + _img(plots.rank_over_time(stats), "rank over time"))
    if stats.norm_curve:
        parts.append(_img(plots.normalized_regret(stats), "normalized regret") + "</div>")
    parts += ["<h2>Final regret per problem</h2>", _final_table(data),
              "<h2>Per problem</h2>", '<div class="grid">']
    parts += [_img(png, name) for name, png in figures(data)]
    parts += ["</div>", "<h2>Failures and notes</h2>", _failures(data)]
    suite = data.info.get("file") or json.dumps(data.info.get("suite"), indent=1)
    parts += ["<h2>Suite file</h2>", f"<pre>{_e(suite)}</pre>", "<h2>Versions</h2>",
              "<table>" + "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>"
                                  for k, v in (data.info.get("versions") or {}).items())
              + "</table></body></html>"]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(parts))
