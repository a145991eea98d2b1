"""A suite SIGKILLed midway and run again completes: every study's journal holds exactly
n_trials final results, nothing finished runs twice, results.csv agrees with the journals; also
a suite whose trials report, are stopped and continue from checkpoints."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from runner.testing import wait_until
from trials import History, read_records

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
N_TRIALS = 20
SUITE = f"""\
name = "kill"
problems = ["suitehelpers:slow_branin_mf"]
optimizers = ["random", "hyperband"]
seeds = [0, 1, 2]
n_trials = {N_TRIALS}
"""
EARLY_STOPPING = f"""\
name = "kill-es"
problems = ["suitehelpers:reporting_branin"]
optimizers = ["asha", "hb-continue"]
seeds = [0, 1, 2]
n_trials = {N_TRIALS}

[optimizer.hb-continue]
use = "hyperband"
continuation = true
"""


def _start(suite: Path, out: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([ROOT, HERE])}
    return subprocess.Popen([sys.executable, "-m", "runner.suites", str(suite), "--backend",
                             "process", "--workers", "2", "--out", str(out)],
                            env=env, start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def _finals(out: Path) -> int:
    total = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a torn last line while it writes
        for path in out.glob("*/*/*.jsonl"):
            try:
                total += len(History.load(path))
            except (OSError, ValueError):
                pass
    return total


@pytest.mark.slow
@pytest.mark.parametrize("text", [SUITE, EARLY_STOPPING], ids=["plain", "early-stopping"])
def test_sigkill_midway_then_rerun_completes_every_study_exactly(tmp_path: Path,
                                                                 text: str) -> None:
    """SIGKILL the whole suite (driver and workers) midway; the rerun finishes the rest only,
    and a finished study leaves no checkpoint behind."""
    suite, out = tmp_path / "kill.toml", tmp_path / "out"
    suite.write_text(text)
    proc = _start(suite, out)
    try:
        wait_until(lambda: _finals(out) >= 40 or proc.poll() is not None, 60,
                   "40 finished trials before the kill")
        assert proc.poll() is None, "the suite ended before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(30)
    killed_at = _finals(out)
    assert 40 <= killed_at < 6 * N_TRIALS
    again = _start(suite, out)
    stdout, stderr = again.communicate(timeout=120)
    assert again.returncode == 0, stderr.decode()
    assert b"regret" in stdout
    journals = sorted(out.glob("*/*/*.jsonl"))
    assert len(journals) == 6
    for path in journals:
        records = read_records(path)
        finals = [r["trial"] for r in records if r["type"] == "result" and r["final"]]
        assert len(finals) == N_TRIALS, path
        assert len(set(finals)) == N_TRIALS, f"{path}: a trial finished twice"
        finished: set[int] = set()
        for r in records:
            if r["type"] == "submit":
                assert r["trial"] not in finished, f"{path}: finished trial {r['trial']} rerun"
            elif r["type"] == "result" and r["final"]:
                finished.add(r["trial"])
    leftovers = [p for p in out.rglob("*") if p.parent.name.endswith(".checkpoints")]
    assert not leftovers, leftovers
    if text is EARLY_STOPPING:  # the trials did report, stop and continue
        records = [r for p in journals for r in read_records(p)]
        assert any(r["type"] == "report" for r in records)
        assert any(r["type"] == "result" and r["value"]["status"] == "STOPPED" for r in records)
        assert any(r["type"] == "submit" and "continues_trial" in r["info"]["additional_info"]
                   for r in records)
    with open(out / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 6
    for row in rows:
        history = History.load(out / row["problem"] / row["optimizer"] / f"seed-{row['seed']}.jsonl")
        assert row["status"] == "finished" and int(row["trials"]) == len(history) == N_TRIALS


@pytest.mark.slow
def test_sigterm_stops_the_suite_cleanly_and_it_resumes(tmp_path: Path) -> None:
    """SIGTERM: exit 130 at once, trials in flight marked cancelled; the rerun completes."""
    suite, out = tmp_path / "term.toml", tmp_path / "out"
    suite.write_text(SUITE)
    proc = _start(suite, out)
    try:
        wait_until(lambda: _finals(out) >= 20 or proc.poll() is not None, 60,
                   "20 finished trials before SIGTERM")
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    assert proc.returncode == 130, stderr.decode()
    assert b"run the same command again to resume" in stderr
    marked = sum(1 for p in out.glob("*/*/*.jsonl") for r in read_records(p)
                 if r["type"] == "cancelled")
    assert marked >= 1
    again = _start(suite, out)
    _, stderr = again.communicate(timeout=120)
    assert again.returncode == 0, stderr.decode()
    for path in out.glob("*/*/*.jsonl"):
        assert len(History.load(path)) == N_TRIALS
