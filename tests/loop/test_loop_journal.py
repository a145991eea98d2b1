"""The loop's journal: records, resume, torn tails, History.load, periodic saving, cancel."""

from __future__ import annotations

import json
import os
import threading
import time
import warnings

import pytest
from loophelpers import CountingOptimizer, ListOptimizer, wait_until

from runner import OptimizationLoop, ProcessPoolRunner, SerialRunner
from runner.optimizers import RandomSearch
from trials import (
    History,
    Journal,
    JournalLockedError,
    JournalTornTailWarning,
    TrialInfo,
    read_records,
)


def square(config):
    return float(config["i"]) ** 2


def sleepy(config):
    time.sleep(30)
    return 0.0


def test_one_submit_and_one_result_record_per_trial_in_order(tmp_path):
    """Each trial gives a submit record, then a final result record, both with id and attempt."""
    journal = tmp_path / "study.jsonl"
    loop = OptimizationLoop(CountingOptimizer(), SerialRunner(square), n_trials_goal=3,
                            journal=journal)
    loop.run()
    records = read_records(journal)
    assert [(r["type"], r["trial"], r["attempt"]) for r in records] == [
        ("submit", 0, 0), ("result", 0, 0), ("submit", 1, 0), ("result", 1, 0),
        ("submit", 2, 0), ("result", 2, 0),
    ]
    assert all(r["final"] is True for r in records if r["type"] == "result")
    assert records[3]["value"]["cost"] == 1.0 and records[3]["info"]["config"] == {"i": 1}
    assert list(History.load(journal)) == list(loop.history)


class JournalChecker(ListOptimizer):
    """Checks at each tell that the told result is already in the journal file."""

    def __init__(self, path):
        super().__init__([{"i": i} for i in range(4)])
        self.path = path

    def tell(self, info, value):
        finals = [r for r in read_records(self.path) if r["type"] == "result" and r["final"]]
        assert len(finals) == len(self.told) + 1
        assert finals[-1]["info"]["config"] == dict(info.config)
        super().tell(info, value)


def test_result_is_written_before_the_optimizer_is_told(tmp_path):
    """When tell() runs, the file already holds that trial's final result."""
    journal = tmp_path / "study.jsonl"
    opt = JournalChecker(journal)
    OptimizationLoop(opt, SerialRunner(square), journal=journal).run()
    assert len(opt.told) == 4


def test_resume_replays_finished_trials_and_runs_only_new_ones(tmp_path):
    """Resume replays finished trials (history + tell), runs only what the goal still needs."""
    journal = tmp_path / "study.jsonl"
    first = OptimizationLoop(RandomSearch({"x": (0.0, 1.0)}, seed=7), SerialRunner(
        lambda c: c["x"]), n_trials_goal=5, journal=journal)
    first.run()
    calls = []
    opt = RandomSearch({"x": (0.0, 1.0)}, seed=7)

    def target(config):
        calls.append(config["x"])
        return config["x"]

    # A counting target replaces the first one: another function, so resumed on purpose.
    second = OptimizationLoop(opt, SerialRunner(target), n_trials_goal=8, journal=journal,
                              resume="force")
    assert list(second.history) == list(first.history) and opt.n_told == 5
    second.run()
    assert len(second.history) == 8 and len(calls) == 3
    assert set(calls).isdisjoint(info.config["x"] for info, _ in first.history)
    ids = [r["trial"] for r in read_records(journal) if r["type"] == "submit"]
    assert ids == list(range(8))


def test_unfinished_submissions_run_again_first_with_the_next_attempt(tmp_path):
    """An unfinished submission runs again first on resume: same id, next attempt."""
    path = tmp_path / "study.jsonl"
    with Journal.open(path) as journal:
        info = TrialInfo({"i": 41})
        journal.append({"type": "submit", "trial": 0, "attempt": 0, "info": info.to_dict(),
                        "time": time.time()})
    opt = ListOptimizer([{"i": 1}, {"i": 2}])
    loop = OptimizationLoop(opt, SerialRunner(square), journal=path)
    assert [i.config for i in opt.restored] == [{"i": 41}]
    assert [i.config for i in loop.pending_trials] == [{"i": 41}]
    loop.run()
    assert [i.config["i"] for i, _ in loop.history] == [41, 1, 2]
    records = [r for r in read_records(path) if r["type"] != "study"]
    assert [(r["type"], r["trial"], r["attempt"]) for r in records[1:3]] == [
        ("submit", 0, 1), ("result", 0, 1)]
    assert {r["trial"] for r in records if r["type"] == "submit"} == {0, 1, 2}


def test_torn_last_line_is_skipped_with_a_warning_and_not_glued(tmp_path):
    """A torn last line (no newline) is warned about and cut; the next record starts clean."""
    path = tmp_path / "study.jsonl"
    OptimizationLoop(CountingOptimizer(), SerialRunner(square), n_trials_goal=2,
                     journal=path).run()
    with open(path, "ab") as f:
        f.write(b'{"type":"result","trial":2,"att')
    with pytest.warns(JournalTornTailWarning):
        loop = OptimizationLoop(CountingOptimizer(), SerialRunner(square), n_trials_goal=4,
                                journal=path)
    loop.run()
    lines = path.read_bytes().splitlines()
    assert all(json.loads(line) for line in lines)
    assert len(History.load(path)) == 4


def test_a_second_loop_on_an_open_journal_is_refused(tmp_path):
    """Two loops cannot write one journal: the second fails with JournalLockedError."""
    path = tmp_path / "study.jsonl"
    first = OptimizationLoop(CountingOptimizer(), SerialRunner(square), journal=path)
    with pytest.raises(JournalLockedError):
        OptimizationLoop(CountingOptimizer(), SerialRunner(square), journal=path)
    first.cancel()
    OptimizationLoop(CountingOptimizer(), SerialRunner(square), n_trials_goal=1,
                     journal=path).run()


def test_an_open_journal_object_is_used_and_left_open(tmp_path):
    """journal= may be an open trials.Journal (its fsync policy is the user's); it stays open."""
    with Journal.open(tmp_path / "j.jsonl", fsync="never") as journal:
        OptimizationLoop(CountingOptimizer(), SerialRunner(square), n_trials_goal=2,
                         journal=journal).run()
        assert not journal.closed
        journal.append({"type": "note"})
    assert len(History.load(tmp_path / "j.jsonl")) == 2


def test_cancel_stops_a_background_loop_within_a_second(tmp_path):
    """cancel() ends a background loop within a second, marking its trials cancelled."""
    path = tmp_path / "study.jsonl"
    with ProcessPoolRunner(sleepy, n_workers=1) as runner:
        loop = OptimizationLoop(CountingOptimizer(), runner, journal=path).start()
        wait_until(lambda: loop.pending_trials, what="a trial in flight")
        t = time.monotonic()
        loop.cancel()
        loop.block_until_done(timeout=5)
        assert time.monotonic() - t < 1.0
    assert loop.status() == "cancelled" and len(loop.history) == 0
    assert [r["type"] for r in read_records(path)] == ["submit", "cancelled"]
    wait_until(lambda: not os.path.exists(f"{path}.lock"), what="the lock released")


def test_cancel_before_start_leaves_nothing_to_run(tmp_path):
    """A loop cancelled before it starts does not run and releases its journal."""
    path = tmp_path / "study.jsonl"
    loop = OptimizationLoop(CountingOptimizer(), SerialRunner(square), journal=path)
    loop.cancel()
    loop.run()
    assert loop.status() == "cancelled" and len(loop.history) == 0


def test_periodic_saving_writes_a_history_that_loads(tmp_path):
    """start_periodic_saving writes, atomically, a history that History.load reads."""
    gate = threading.Event()

    def gated(config):
        gate.wait(10)
        return float(config["i"])

    target = tmp_path / "history.jsonl"
    loop = OptimizationLoop(CountingOptimizer(), SerialRunner(gated), n_trials_goal=30)
    saver = loop.start_periodic_saving(target, interval=0.05)
    loop.start()
    wait_until(lambda: saver.saves >= 2, what="two periodic saves")
    gate.set()
    loop.block_until_done(timeout=30)
    saver.stop()
    saved = History.load(target)
    assert list(saved) == list(loop.history) and len(saved) == 30
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    with pytest.raises(ValueError, match="interval must be a number of seconds > 0"):
        loop.start_periodic_saving(target, interval=0)


def test_history_load_while_a_study_writes(tmp_path):
    """History.load reads a journal a running loop holds (no lock needed)."""
    path = tmp_path / "study.jsonl"
    loads = []

    def peek(loop):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loads.append(len(History.load(path)))
        return False

    OptimizationLoop(CountingOptimizer(), SerialRunner(square), goal=peek, n_trials_goal=5,
                     journal=path).run()
    assert loads[-1] == 5 and loads == sorted(loads)
