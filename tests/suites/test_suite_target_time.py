"""``target_seconds``: studies compared at equal compute. Each study asks until its trials took
that much target time (or ``n_trials``, whichever first); ``results.csv`` says how much they
took; a rerun with a larger budget resumes the studies instead of skipping them."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from runner.suites import SuiteFileError, parse_suite, run_suite
from runner.suites._results import spent
from trials import History

SUITE = """\
name = "equal-time"
problems = ["ackley-5d-mf-lc"]
optimizers = ["random", "asha"]
seeds = [0]
n_trials = 5000
target_seconds = 300
"""


def _rows(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "results.csv", newline="") as f:
        return {r["optimizer"]: r for r in csv.DictReader(f)}


def _target_time(out: Path, optimizer: str) -> tuple[int, float, float]:
    history = History.load(out / "ackley-5d-mf-lc" / optimizer / "seed-0.jsonl")
    times = [spent(v) for _, v in history]
    return len(history), sum(times), max(times)


def test_studies_end_at_their_target_time(tmp_path: Path) -> None:
    """Each study stops asking once its trials took target_seconds (simulated seconds here):
    the total is past the budget by less than the trials still in flight, and results.csv's
    target_s is that total. ASHA, stopping most trials early, gets many more trials in."""
    result = run_suite(parse_suite(SUITE), backend="simulated", workers=4, out=str(tmp_path),
                       plots=False)
    assert not result.failed
    rows = _rows(tmp_path)
    counts = {}
    for optimizer in ("random", "asha"):
        n, total, longest = _target_time(tmp_path, optimizer)
        counts[optimizer] = n
        assert 300 <= total < 300 + 4 * longest, (optimizer, total)
        assert rows[optimizer]["status"] == "finished"
        assert int(rows[optimizer]["trials"]) == n < 5000
        assert float(rows[optimizer]["target_s"]) == pytest.approx(total, abs=1e-3)
    assert counts["asha"] > 2 * counts["random"], counts


def test_a_larger_target_time_resumes_the_studies(tmp_path: Path) -> None:
    """Run again with the same budget: nothing runs; with a larger one: every study goes on
    from its journal to the new budget, keeping the trials it had."""
    run_suite(parse_suite(SUITE), backend="simulated", workers=4, out=str(tmp_path), plots=False)
    before = {o: _target_time(tmp_path, o)[0] for o in ("random", "asha")}
    run_suite(parse_suite(SUITE), backend="simulated", workers=4, out=str(tmp_path), plots=False)
    assert {o: _target_time(tmp_path, o)[0] for o in ("random", "asha")} == before
    larger = SUITE.replace("target_seconds = 300", "target_seconds = 600")
    run_suite(parse_suite(larger), backend="simulated", workers=4, out=str(tmp_path),
              plots=False)
    for optimizer in ("random", "asha"):
        n, total, _ = _target_time(tmp_path, optimizer)
        assert n > before[optimizer] and total >= 600, (optimizer, n, total)


def test_target_seconds_is_checked_with_its_line_and_may_be_set_per_table() -> None:
    """A bad value names the key and line; a problem or optimizer table overrides the top."""
    spec = parse_suite(SUITE + '\n[optimizer.asha]\ntarget_seconds = 100\n')
    assert {s.optimizer: s.target_seconds for s in spec.studies()} == {"random": 300.0,
                                                                      "asha": 100.0}
    assert "target_seconds" not in spec.studies()[1].settings
    with pytest.raises(SuiteFileError, match=r"line 6: target_seconds: expected a number of "
                                             r"seconds > 0, got -1"):
        parse_suite(SUITE.replace("= 300", "= -1"))
    with pytest.raises(SuiteFileError, match=r"line 9: problem.ackley-5d-mf-lc.target_seconds:"
                                             r" expected a number of seconds > 0"):
        parse_suite(SUITE + '\n[problem.ackley-5d-mf-lc]\ntarget_seconds = "1h"\n')
