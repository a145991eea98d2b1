"""Resume restores the external optimizer (FAULTS D2 for SMAC3, Optuna and adaptive): the
driver is SIGKILLed midway, a new driver resumes from the journal, runs no finished trial
again, and ends with the library's own state holding exactly the journal's finished trials."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import warnings
from collections import Counter

import pytest

from runner.testing import wait_until
from trials import History, StatusType, read_records

pytestmark = [pytest.mark.integration, pytest.mark.slow]

STUDY = os.path.join(os.path.dirname(__file__), "resume_study.py")
N_TRIALS = {"smac": 24, "optuna": 40, "adaptive": 50}


def _records(journal) -> list[dict]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a torn tail while the study writes
        return read_records(journal) if os.path.exists(journal) else []


def _runs(out) -> Counter:
    path = out / "runs.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return Counter(json.dumps(json.loads(line)["x"]) for line in lines)


def _study(lib: str, journal, out) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, STUDY, lib, str(journal), str(out)],
                            start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("lib", ["smac", "optuna", "adaptive"])
def test_sigkill_then_resume_restores_the_optimizer(lib: str, tmp_path) -> None:
    """SIGKILL the driver once a third of the trials are journaled; the resumed driver restores
    the library from the journal (restore/restore_pending), runs each in-flight trial once more
    and no finished one again, and the library ends holding exactly the journal's trials."""
    pytest.importorskip({"smac": "smac", "optuna": "optuna", "adaptive": "adaptive"}[lib])
    journal, out = tmp_path / "study.jsonl", tmp_path / "out"
    out.mkdir()
    n = N_TRIALS[lib]
    proc = _study(lib, journal, out)
    try:
        wait_until(lambda: sum(r["type"] == "result" for r in _records(journal)) >= n // 3,
                   120, f"{n // 3} results journaled")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    records = _records(journal)
    finished = {r["trial"] for r in records if r["type"] == "result" and r["final"]}
    in_flight = {r["trial"] for r in records if r["type"] == "submit"} - finished
    key = {r["trial"]: json.dumps(r["info"]["config"]["x"]) for r in records
           if r["type"] == "submit"}
    before = _runs(out)
    assert finished and all(before[key[t]] == 1 for t in finished)

    again = _study(lib, journal, out)
    stdout, stderr = again.communicate(timeout=300)
    assert again.returncode == 0, stderr[-3000:]
    restored, summary = (json.loads(line) for line in stdout.splitlines()[-2:])
    assert restored["restored"] == len(finished)
    after = _runs(out)
    for trial in finished:
        assert after[key[trial]] == 1, f"finished trial {trial} ran again"
    for trial in in_flight:
        assert after[key[trial]] - before[key[trial]] == 1, f"in-flight trial {trial}"
    history = History.load(journal)
    assert summary["history"] == len(history) == n
    assert all(v.status == StatusType.SUCCESS for _, v in history)
    finals = [r["trial"] for r in read_records(journal) if r["type"] == "result" and r["final"]]
    assert len(finals) == len(set(finals)) == n
    journal_xs = sorted(info.config["x"] for info, _ in history)
    assert summary["done"] == pytest.approx(journal_xs), "the library's state is not the journal's"
