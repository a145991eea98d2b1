"""Running suites on one shared runner: results agree with the journals, finished studies are
skipped on a rerun, failed studies are recorded while the others go on, workers are shared
fairly."""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import Any

import pytest

from runner.suites import parse_suite, run_suite
from runner.suites._progress import snapshot
from trials import History, StatusType, read_records

SUITE = """\
name = "t"
problems = ["branin-mf", "hartmann3-mf"]
optimizers = ["random", "hyperband"]
seeds = [0, 1]
n_trials = 12

[optimizer.hyperband]
min_budget = 3
"""


def _csv(out: Path) -> list[dict[str, str]]:
    with open(out / "results.csv", newline="") as f:
        return list(csv.DictReader(f))


def _best_at_top_budget(history: History, problem: str) -> float:
    """The incumbent (the best at the highest budget reached) evaluated at the full budget."""
    from runner.problems import get

    top = max(i.budget or math.inf for i, v in history if v.status == StatusType.SUCCESS)
    info = min(((i, v) for i, v in history
                if v.status == StatusType.SUCCESS and (i.budget or math.inf) == top),
               key=lambda iv: float(iv[1].cost))[0]  # type: ignore[arg-type]
    return float(get(problem).target(dict(info.config), budget=27.0, seed=info.seed)[0])


def test_results_csv_agrees_with_the_journals(tmp_path: Path) -> None:
    """Every study runs n_trials; results.csv's counts and best costs are the journals'."""
    result = run_suite(parse_suite(SUITE), backend="thread", workers=2, out=str(tmp_path))
    rows = _csv(tmp_path)
    assert len(rows) == 8 and not result.failed
    for row in rows:
        journal = tmp_path / row["problem"] / row["optimizer"] / f"seed-{row['seed']}.jsonl"
        history = History.load(journal)
        assert row["status"] == "finished"
        assert int(row["trials"]) == len(history) == 12
        assert float(row["best_cost"]) == pytest.approx(_best_at_top_budget(history, row["problem"]))
        optimum = 0.397887357729738 if row["problem"] == "branin-mf" else -3.86278214782076
        assert float(row["regret"]) == pytest.approx(float(row["best_cost"]) - optimum)
        assert float(row["elapsed_s"]) >= 0
    assert (tmp_path / "plots" / "branin-mf.png").stat().st_size > 1000
    assert (tmp_path / "plots" / "hartmann3-mf.png").exists()


def test_a_rerun_skips_finished_studies(tmp_path: Path) -> None:
    """Running the same suite again on the same folder runs nothing again."""
    run_suite(parse_suite(SUITE), backend="thread", workers=2, out=str(tmp_path), plots=False)
    journals = sorted(tmp_path.glob("*/*/*.jsonl"))
    before = {p: p.read_bytes() for p in journals}
    again = run_suite(parse_suite(SUITE), backend="thread", workers=2, out=str(tmp_path),
                      plots=False)
    assert {p: p.read_bytes() for p in journals} == before
    assert [r["trials"] for r in again.rows] == [12] * 8


def test_more_trials_in_the_suite_file_resume_the_studies(tmp_path: Path) -> None:
    """Raising n_trials continues each study from its journal; the old trials are kept."""
    run_suite(parse_suite(SUITE), backend="serial", out=str(tmp_path), plots=False)
    first = History.load(tmp_path / "branin-mf" / "random" / "seed-0.jsonl")
    run_suite(parse_suite(SUITE.replace("n_trials = 12", "n_trials = 15")), backend="serial",
              out=str(tmp_path), plots=False)
    second = History.load(tmp_path / "branin-mf" / "random" / "seed-0.jsonl")
    assert len(second) == 15 and list(second)[:12] == list(first)


def test_failed_studies_are_recorded_and_the_suite_goes_on(tmp_path: Path) -> None:
    """An optimizer that raises and a target that always crashes fail their own studies only."""
    text = """\
name = "f"
problems = ["branin", "suitehelpers:crashing"]
optimizers = ["random", "suitehelpers:broken"]
seeds = [0]
n_trials = 6
"""
    result = run_suite(parse_suite(text), backend="thread", workers=2, out=str(tmp_path),
                       plots=False)
    by_key = {(r["problem"], r["optimizer"]): r for r in result.rows}
    ok = by_key[("branin", "random")]
    assert ok["status"] == "finished" and ok["trials"] == 6
    broken = by_key[("branin", "suitehelpers:broken")]
    assert broken["status"] == "failed" and "optimizer broke after 3 trials" in broken["error"]
    crashed = by_key[("suitehelpers:crashing", "random")]
    assert crashed["status"] == "failed" and "every trial crashed" in crashed["error"]
    assert "this target always crashes" in crashed["error"]
    assert crashed["trials"] == 6 and crashed["best_cost"] == ""
    assert {r["status"] for r in _csv(tmp_path)} == {"finished", "failed"}


def test_two_objective_studies_get_tuple_costs(tmp_path: Path) -> None:
    """zdt1's two costs cross the one-objective shared runner and land in the journal."""
    text = 'name = "m"\nproblems = ["zdt1", "branin"]\noptimizers = ["random"]\nseeds = [0]\n' \
           'n_trials = 5\n'
    result = run_suite(parse_suite(text), backend="thread", workers=2, out=str(tmp_path),
                       plots=False, progress=True)  # the live display must not get in the way
    history = History.load(tmp_path / "zdt1" / "random" / "seed-0.jsonl")
    assert len(history) == 5
    assert all(isinstance(v.cost, tuple) and len(v.cost) == 2 for _, v in history)
    assert history.pareto_front()
    row = next(r for r in result.rows if r["problem"] == "zdt1")
    assert row["status"] == "finished" and row["best_cost"] == ""


def test_workers_go_to_the_study_with_the_least_progress(tmp_path: Path) -> None:
    """On one worker, studies take turns: their finished counts never differ by more than one."""
    text = 'name = "r"\nproblems = ["branin", "hartmann3", "levy"]\noptimizers = ["random"]\n' \
           'seeds = [0]\nn_trials = 6\n'
    spreads: list[int] = []

    def watch(scheduler: Any) -> None:
        counts = [s.done_trials() for s in scheduler.studies]
        spreads.append(max(counts) - min(counts))
        assert snapshot(scheduler)["trials_total"] == 18

    run_suite(parse_suite(text), backend="serial", out=str(tmp_path), plots=False,
              on_pass=watch)
    assert spreads and max(spreads) <= 1
    order = []
    for path in sorted(tmp_path.glob("*/random/seed-0.jsonl")):
        order += [(r["time"], path.parent.parent.name) for r in read_records(path)
                  if r["type"] == "submit"]
    first_three = {name for _, name in sorted(order)[:3]}
    assert first_three == {"branin", "hartmann3", "levy"}


def test_default_out_is_runs_slash_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without out, results go to runs/<suite name>."""
    monkeypatch.chdir(tmp_path)
    text = 'name = "d"\nproblems = ["branin"]\noptimizers = ["random"]\nseeds = [0]\n' \
           'n_trials = 2\n'
    result = run_suite(parse_suite(text), backend="serial", plots=False)
    assert result.out == os.path.join("runs", "d")
    assert (tmp_path / "runs" / "d" / "results.csv").exists()


def test_max_open_bounds_the_studies_open_at_once(tmp_path: Path) -> None:
    """With max_open=2, studies open a few at a time (one more only while none of the open
    ones has a trial to give, so at most one per worker beyond the bound); all finish."""
    text = 'name = "w"\nproblems = ["branin", "hartmann3", "levy"]\noptimizers = ["random"]\n' \
           'seeds = [0, 1, 2, 3]\nn_trials = 6\n'
    most = [0]

    def watch(scheduler: Any) -> None:
        most[0] = max(most[0], sum(1 for s in scheduler.active if s.loop is not None))

    result = run_suite(parse_suite(text), backend="thread", workers=2, out=str(tmp_path),
                       plots=False, max_open=2, on_pass=watch)
    assert 1 <= most[0] <= 2 + 2
    assert [r["trials"] for r in result.rows] == [6] * 12
