"""The suite verb: argument errors are one line with exit code 2; a run prints the table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from runner.suites import main

SMALL = 'name = "c"\nproblems = ["branin"]\noptimizers = ["random"]\nseeds = [0]\nn_trials = 3\n'


@pytest.mark.parametrize("argv, match", [
    (["x.toml", "--backend", "gpu"], "argument --backend: invalid choice: 'gpu'"),
    (["x.toml", "--workers", "0"], "argument --workers: expected a positive integer, got 0"),
    (["x.toml", "--workers", "two"], "argument --workers: expected a positive integer, got 'two'"),
    ([], "the following arguments are required: FILE"),
    (["/nonexistent/x.toml"], "cannot read suite file '/nonexistent/x.toml'"),
    (["SUITE", "--scheduler", "tcp://h:8786"], "argument --scheduler: only with --backend dask"),
    (["BAD"], r"line 5: n_trials: expected an integer >= 1, got -3"),
])
def test_argument_errors_are_one_line_and_exit_2(argv: list[str], match: str, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Every argument error (the suite file's included) is one stderr line, exit code 2."""
    good, bad = tmp_path / "good.toml", tmp_path / "bad.toml"
    good.write_text(SMALL)
    bad.write_text(SMALL.replace("n_trials = 3", "n_trials = -3"))
    argv = [{"SUITE": str(good), "BAD": str(bad)}.get(a, a) for a in argv]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("python -m runner suite: error: ")
    import re
    assert re.search(match, err), err


def test_a_run_prints_the_table_and_exits_0(tmp_path: Path) -> None:
    """python -m runner.suites FILE runs the suite, prints the table, exits 0."""
    suite = tmp_path / "s.toml"
    suite.write_text(SMALL)
    done = subprocess.run([sys.executable, "-m", "runner.suites", str(suite), "--backend",
                           "serial", "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "final regret, mean [95 % CI]" in done.stdout and "branin" in done.stdout
    assert (tmp_path / "out" / "results.csv").exists()


def test_a_backend_that_cannot_start_is_an_argument_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """--backend simulated without runner.SimulatedRunner: one line, exit code 2 (an
    installation without it is simulated by leaving it out of ``runner.__all__``)."""
    import runner

    monkeypatch.setattr(runner, "__all__", [n for n in runner.__all__ if n != "SimulatedRunner"])
    suite = tmp_path / "s.toml"
    suite.write_text(SMALL)
    with pytest.raises(SystemExit) as exit_info:
        main([str(suite), "--backend", "simulated"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1
    assert "argument --backend: cannot start 'simulated': the simulated backend needs" in err
