"""Issue 26: suite results a reviewer would accept. True regret (the incumbent at the full
fidelity, never negative; marked when it is unknown), hypervolume for multi-objective studies,
results.csv on interruption, the statistics across problems and the suite report, checked
against a recomputation from the journals."""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest

from runner.problems import get
from runner.problems._registry import register
from runner.suites import parse_suite, run_suite
from runner.suites._hypervolume import hypervolume, pareto_front
from runner.suites._results import NO_FULL_BUDGET, OLD_JOURNAL, Curve, study_row
from runner.suites._stats import friedman, on_grid, ranks
from runner.suites._suite_data import load
from trials import History, StatusType

MF_SUITE = """\
name = "mf"
problems = ["branin-mf", "hartmann3-mf"]
optimizers = ["random", "hyperband", "asha"]
seeds = [0, 1, 2]
n_trials = 25

[optimizer.asha]
mode = "promotion"
"""


def _rows(out: Path) -> list[dict[str, str]]:
    with open(out / "results.csv", newline="") as f:
        return list(csv.DictReader(f))


def _cost(value: Any) -> float:
    return float(value[0] if isinstance(value, tuple) else value)


@pytest.fixture(scope="module")
def mf_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mf")
    run_suite(parse_suite(MF_SUITE), backend="serial", out=str(out), plots=False)
    return out


def test_mf_suite_regret_is_never_negative(mf_out: Path) -> None:
    """-mf problems x {random, hyperband, asha} x 3 seeds, 25 trials: every row has a regret,
    and it is >= 0 (before, Hyperband's branin regret was -10.28 on average)."""
    rows = _rows(mf_out)
    assert len(rows) == 18
    for row in rows:
        assert row["status"] == "finished" and row["regret"] != "", row
        assert float(row["regret"]) >= 0.0, row
        assert float(row["best_cost"]) >= get(row["problem"]).optimum - 1e-12  # type: ignore


def _recompute(out: Path, problem: str, optimizer: str, seed: int) -> list[float]:
    """The incumbent's full-budget regret after each trial, straight from the journal: the
    best cost at the highest budget reached, its configuration evaluated at budget 27."""
    spec = get(problem)
    assert spec.optimum is not None
    regrets, top, best_cost, regret = [], -1.0, math.inf, math.nan
    for info, value in History.load(str(out / problem / optimizer / f"seed-{seed}.jsonl")):
        if value.status == StatusType.SUCCESS:
            cost, budget = _cost(value.cost), float(info.budget or 27.0)
            if budget > top or (budget == top and cost < best_cost):
                top, best_cost = budget, cost
                full = _cost(spec.target(dict(info.config), budget=27.0, seed=info.seed))
                regret = full - spec.optimum
        regrets.append(regret)
    return regrets


def test_report_figures_agree_with_a_recomputation_from_the_journals(mf_out: Path) -> None:
    """results.csv's regrets, the final average ranks and the Friedman ranks equal what the
    journals give when recomputed here by hand."""
    data = load(str(mf_out))
    rows = {(r["problem"], r["optimizer"], int(r["seed"])): r for r in _rows(mf_out)}
    best: dict[tuple[str, str, int], float] = {}
    for (p, o, s), row in rows.items():
        trace = _recompute(mf_out, p, o, s)
        assert float(row["regret"]) == pytest.approx(max(0.0, trace[-1]), abs=1e-9)
        best[p, o, s] = min(max(0.0, v) for v in trace if not math.isnan(v))
    optimizers = sorted({o for _, o, _ in best})
    rank_sum = dict.fromkeys(optimizers, 0.0)
    blocks = 0
    for p in ("branin-mf", "hartmann3-mf"):
        for s in (0, 1, 2):
            values = [best[p, o, s] for o in optimizers]
            for o, r in zip(optimizers, ranks(values), strict=True):
                rank_sum[o] += r
            blocks += 1
    for o in optimizers:
        assert data.stats.final_rank[o] == pytest.approx(rank_sum[o] / blocks)
    means = {p: {o: float(np.mean([best[p, o, s] for s in (0, 1, 2)])) for o in optimizers}
             for p in ("branin-mf", "hartmann3-mf")}
    cd = friedman(means)
    assert cd is not None and data.stats.cd is not None
    assert data.stats.cd.ranks == pytest.approx(cd.ranks)
    for by_opt in data.stats.losses.values():  # curves on the grid never rise
        for runs in by_opt.values():
            assert np.all(np.diff(runs, axis=1) <= 1e-12)
            assert np.all(np.diff(np.median(runs, axis=0)) <= 1e-12)


def test_suite_report_page_holds_tables_and_figures(mf_out: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """`trialrunner report OUT/` prints the tables; --html writes one offline page with the
    rank table, a CD diagram, rank-over-time and normalized-regret plots."""
    from runner.cli import main

    page = tmp_path / "r.html"
    assert main(["report", str(mf_out), "--html", str(page)]) == 0
    printed = capsys.readouterr().out
    assert "final regret" in printed and "avg rank" in printed and "Friedman" in printed
    text = page.read_text()
    for needle in ("average rank", "wins/ties/losses", 'alt="critical difference diagram"',
                   'alt="rank over time"', 'alt="normalized regret"', 'alt="branin-mf"',
                   "Suite file", "Versions", "n_trials&quot;: 25"):
        assert needle in text, needle
    assert "http://" not in text and "https://" not in text and "<script" not in text


def test_report_of_a_folder_without_a_suite_is_a_usage_error(tmp_path: Path) -> None:
    from runner.cli import main

    assert main(["report", str(tmp_path)]) == 2


def test_a_study_that_never_reached_the_full_budget_says_so(tmp_path: Path) -> None:
    """On a problem that is not cheap to evaluate the best full-budget cost counts: a
    Hyperband study of 5 trials (all at budget 1) has no regret and a note."""
    register("branin-mf-costly", lambda: attrs.evolve(get("branin-mf"),
                                                      name="branin-mf-costly", cheap=False))
    suite = parse_suite('name = "c"\nproblems = ["branin-mf-costly"]\noptimizers = '
                        '["hyperband", "random"]\nseeds = [0]\nn_trials = 5\n')
    run_suite(suite, backend="serial", out=str(tmp_path), plots=False)
    rows = {r["optimizer"]: r for r in _rows(tmp_path)}
    assert rows["hyperband"]["regret"] == "" and rows["hyperband"]["note"] == NO_FULL_BUDGET
    assert float(rows["random"]["regret"]) >= 0 and rows["random"]["note"] == ""


def test_journals_of_an_earlier_version_load_and_are_marked(mf_out: Path, tmp_path: Path) -> None:
    """A study whose status file predates the results model (no "model") is still read; its
    row says so."""
    journal = mf_out / "branin-mf" / "random" / "seed-0.jsonl"
    copy = tmp_path / "seed-0.jsonl"
    copy.write_bytes(journal.read_bytes())
    state = json.loads(journal.with_suffix(".json").read_text())
    del state["model"]
    copy.with_suffix(".json").write_text(json.dumps(state))
    row = study_row("branin-mf", "random", 0, str(copy), "finished", None, get("branin-mf"))
    assert row["note"] == OLD_JOURNAL and float(row["regret"]) >= 0


def test_an_interrupted_suite_leaves_unfinished_rows_and_a_rerun_completes_it(
        tmp_path: Path) -> None:
    passes = []

    def interrupt(sched: Any) -> None:
        passes.append(1)
        if len(passes) == 30:
            raise KeyboardInterrupt

    suite = parse_suite(MF_SUITE)
    with pytest.raises(KeyboardInterrupt):
        run_suite(suite, backend="serial", out=str(tmp_path), plots=False, on_pass=interrupt)
    statuses = [r["status"] for r in _rows(tmp_path)]
    assert len(statuses) == 18 and "unfinished" in statuses
    run_suite(suite, backend="serial", out=str(tmp_path), plots=False)
    rows = _rows(tmp_path)
    assert [r["status"] for r in rows] == ["finished"] * 18
    assert all(int(r["trials"]) == 25 and float(r["regret"]) >= 0 for r in rows)


def test_zdt1_suite_reports_hypervolume_and_its_regret(tmp_path: Path) -> None:
    """zdt1 x {random, optuna_tpe} x 3 seeds: hypervolume and its regret in every row, a
    front plot per optimizer."""
    suite = parse_suite('name = "mo"\nproblems = ["zdt1"]\noptimizers = ["random", '
                        '"optuna_tpe"]\nseeds = [0, 1, 2]\nn_trials = 25\n')
    run_suite(suite, backend="serial", out=str(tmp_path))
    spec = get("zdt1")
    assert spec.front_hypervolume is not None and spec.reference is not None
    for row in _rows(tmp_path):
        hv, regret = float(row["hypervolume"]), float(row["regret"])
        assert 0 < hv <= spec.front_hypervolume
        assert regret == pytest.approx(spec.front_hypervolume - hv)
        journal = tmp_path / "zdt1" / row["optimizer"] / f"seed-{row['seed']}.jsonl"
        costs = [v.cost for _, v in History.load(str(journal)) if isinstance(v.cost, tuple)]
        assert hv == pytest.approx(hypervolume(costs, spec.reference))
    assert (tmp_path / "plots" / "zdt1-fronts.png").stat().st_size > 0
    data = load(str(tmp_path))
    assert set(data.stats.final_rank) == {"random", "optuna_tpe"}


def test_hypervolume_is_exact() -> None:
    """2-D and 3-D against hand-computed volumes; the dense ZDT1 front against its formula."""
    assert hypervolume([(1, 3), (2, 2), (3, 1), (2.5, 2.5)], (4, 4)) == pytest.approx(6.0)
    assert hypervolume([(5, 5)], (4, 4)) == 0.0
    assert hypervolume([(0, 0, 0)], (1, 2, 3)) == pytest.approx(6.0)
    boxes = [(0, 1, 1), (1, 0, 1), (1, 1, 0)]  # 3 boxes of 2, pairwise and all in [1, 2]^3
    assert hypervolume(boxes, (2, 2, 2)) == pytest.approx(3 * 2 - 3 * 1 + 1)
    assert pareto_front([(1, 2), (2, 1), (2, 2), (1, 2)]) == [(1.0, 2.0), (2.0, 1.0)]
    spec = get("zdt1")
    n = 20000
    front = [(i / n, 1 - math.sqrt(i / n)) for i in range(n + 1)]
    assert spec.reference is not None
    assert hypervolume(front, spec.reference) == pytest.approx(spec.front_hypervolume, abs=1e-3)


def test_friedman_and_nemenyi_match_scipy_and_demsar() -> None:
    """The statistic equals scipy's friedmanchisquare; the critical difference for k = 4
    uses Demšar's q_0.05 = 2.569."""
    from scipy.stats import friedmanchisquare

    rng = np.random.default_rng(1)
    table = {f"p{i}": {o: float(rng.normal()) for o in "abcd"} for i in range(10)}
    cd = friedman(table)
    assert cd is not None
    ref = friedmanchisquare(*[[table[p][o] for p in table] for o in "abcd"])
    assert cd.statistic == pytest.approx(ref.statistic)
    assert cd.p_value == pytest.approx(ref.pvalue)
    assert cd.cd == pytest.approx(2.569 * math.sqrt(4 * 5 / (6 * 10)), rel=1e-3)


def test_on_grid_carries_the_best_forward() -> None:
    curve = Curve([], [1.0, 2.0, 3.0], [math.nan, 5.0, 7.0])
    assert on_grid(curve, [0.5, 1.0, 2.5, 3.0, 9.0], 10.0) == [10.0, 10.0, 5.0, 5.0, 5.0]
    assert os.sep  # keep the import used on every platform
