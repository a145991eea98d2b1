"""Faults of the driver, in real subprocesses: SIGKILL then resume (D2), Ctrl-C and SIGTERM
(D1), and a journal that cannot be written (E1)."""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import time
import warnings

import psutil
import pytest
from loophelpers import wait_until

from runner import OptimizationLoop, SerialRunner
from runner.optimizers import RandomSearch
from trials import History, read_records

STUDY = os.path.join(os.path.dirname(__file__), "loopstudy.py")
N_TRIALS = 40


def start_study(mode, journal, out):
    """The study script in its own session (so its whole process group can be signalled)."""
    return subprocess.Popen([sys.executable, STUDY, mode, str(journal), str(out)],
                            start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def quiet_records(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a torn tail while the study writes
        return read_records(path) if os.path.exists(path) else []


def worker_pids(out):
    with open(out / "pids.json") as f:
        return [p for p in json.load(f) if p]


def gone(pids):
    return not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE
                   for p in pids)


def test_sigkill_mid_run_then_resume_runs_nothing_finished_twice(tmp_path):
    """D2: SIGKILL mid-run then resume: exactly N trials, nothing finished ran twice."""
    journal = tmp_path / "study.jsonl"
    proc = start_study("kill", journal, tmp_path)
    try:
        wait_until(lambda: sum(r["type"] == "result" for r in quiet_records(journal)) >= 12,
                   timeout=60, what="12 results journaled")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    wait_until(lambda: gone(worker_pids(tmp_path)), timeout=10, what="workers gone")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        before = History.load(journal)
        records = read_records(journal)
    done_before = {info.config["x"] for info, _ in before}
    submitted = {r["trial"]: r for r in records if r["type"] == "submit"}
    finished = {r["trial"] for r in records if r["type"] == "result" and r["final"]}
    in_flight = {t: r["attempt"] for t, r in submitted.items() if t not in finished}
    assert 12 <= len(done_before) < N_TRIALS

    again = start_study("kill", journal, tmp_path)
    stdout, stderr = again.communicate(timeout=120)
    assert again.returncode == 0, stderr

    after = History.load(journal)
    assert len(after) == N_TRIALS
    xs = [info.config["x"] for info, _ in after]
    assert len(set(xs)) == N_TRIALS  # no configuration proposed twice
    with open(tmp_path / "executions") as f:
        runs = collections.Counter(float(line) for line in f)
    assert all(runs[x] == 1 for x in done_before)  # nothing finished ran again
    assert all(runs[x] <= 2 for x in xs)  # in flight at the kill: at most once more
    resumed = [r for r in read_records(journal) if r["type"] == "submit"
               and r["trial"] in in_flight]
    assert {r["trial"]: r["attempt"] for r in resumed if r["attempt"] > 0} == {
        t: a + 1 for t, a in in_flight.items()}
    finals = [r["trial"] for r in read_records(journal) if r["type"] == "result" and r["final"]]
    assert sorted(finals) == list(range(N_TRIALS))


@pytest.mark.parametrize(("mode", "sig"), [("hang", signal.SIGINT), ("hang", signal.SIGTERM),
                                           ("hang-bg", signal.SIGINT)])
def test_interrupt_kills_trials_marks_them_and_reraises(tmp_path, mode, sig):
    """D1: Ctrl-C/SIGTERM kills trials within 5 s, marks them, re-raises KeyboardInterrupt."""
    journal = tmp_path / "study.jsonl"
    proc = start_study(mode, journal, tmp_path)
    try:
        wait_until(lambda: sum(r["type"] == "submit" for r in quiet_records(journal)) == 2,
                   timeout=60, what="two trials in flight")
        if mode == "hang-bg":
            wait_until((tmp_path / "blocking").exists, what="block_until_done() called")
        pids = worker_pids(tmp_path)
        t = time.monotonic()
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=10)
        took = time.monotonic() - t
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert took < 5.0
    assert "KeyboardInterrupt" in stderr
    assert proc.returncode in (-signal.SIGINT, 1, 130)
    wait_until(lambda: gone(pids), timeout=5, what="workers killed")
    records = read_records(journal)
    cancelled = [r for r in records if r["type"] == "cancelled"]
    assert sorted(r["trial"] for r in cancelled) == [0, 1]
    assert all(r["reason"] == "interrupted" for r in cancelled)
    assert not os.path.exists(f"{journal}.lock")


def test_journal_write_failure_stops_the_loop_and_the_study_resumes(tmp_path):
    """E1: a failed append surfaces at once, leaves no partial record; the study resumes."""
    journal = tmp_path / "study.jsonl"
    proc = subprocess.run([sys.executable, STUDY, "fsize", str(journal), str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3, proc.stderr
    assert "JournalWriteError after 4 calls, 3 told" in proc.stdout
    assert "no partial record is left" in proc.stdout
    lines = journal.read_bytes().splitlines()
    assert all(json.loads(line) for line in lines)
    assert len(History.load(journal)) == 3
    records = read_records(journal)
    finals = {r["trial"] for r in records if r["type"] == "result" and r["final"]}
    unfinished = [r for r in records if r["type"] == "submit" and r["trial"] not in finals]
    assert [r["trial"] for r in unfinished] == [3]
    loop = OptimizationLoop(RandomSearch({"x": (0.0, 1.0)}, seed=5),
                            SerialRunner(lambda c: c["x"]), n_trials_goal=10, journal=journal,
                            resume="force")  # another target function, on purpose
    assert [dict(i.config) for i in loop.pending_trials] == [unfinished[0]["info"]["config"]]
    loop.run()
    assert len(History.load(journal)) == 10
    resubmits = [r for r in read_records(journal) if r["type"] == "submit" and r["trial"] == 3]
    assert [r["attempt"] for r in resubmits] == [0, 1]
