"""The optional ``restore(history)`` optimizer method: on resume the loop hands it the finished
trials of the journal at once instead of telling them one by one; built-in optimizers have it."""

from __future__ import annotations

import pytest

from runner import Hyperband, OptimizationLoop, RandomSearch, SerialRunner
from trials import History, TrialInfo, TrialValue

pytestmark = pytest.mark.integration


def quadratic(config: dict) -> float:
    """``x**2``."""
    return float(config["x"]) ** 2


class Restorable:
    """Proposes x = 0, 1, 2, ... and records how it learnt of each result."""

    def __init__(self, n: int) -> None:
        self.n, self.next = n, 0
        self.told: list[TrialInfo] = []
        self.restored: list[History] = []

    def ask(self) -> TrialInfo | None:
        if self.next >= self.n:
            return None
        self.next += 1
        return TrialInfo({"x": float(self.next - 1)})

    def tell(self, info: TrialInfo, value: TrialValue) -> None:
        self.told.append(info)

    def restore(self, history: History) -> None:
        self.restored.append(history)
        self.next = max(self.next, len(history))


def test_resume_calls_restore_once_with_the_finished_trials(tmp_path) -> None:
    """An optimizer with restore() gets one call with a History of the finished trials, in the
    order they finished, and is told only what runs in this session."""
    journal = tmp_path / "j.jsonl"
    OptimizationLoop(Restorable(3), SerialRunner(quadratic), journal=journal).run()
    opt = Restorable(5)
    loop = OptimizationLoop(opt, SerialRunner(quadratic), journal=journal, log=True)
    [history] = opt.restored
    assert isinstance(history, History)
    assert [i.config["x"] for i, _ in history] == [0.0, 1.0, 2.0] and opt.told == []
    assert loop.log == [("restore", history)]
    loop.run()
    assert [i.config["x"] for i in opt.told] == [3.0, 4.0]
    assert len(loop.history) == 5


def test_restore_without_a_journal_is_never_called(tmp_path) -> None:
    """A fresh study (no journal, or an empty one) does not call restore()."""
    opt = Restorable(2)
    OptimizationLoop(opt, SerialRunner(quadratic), journal=tmp_path / "new.jsonl").run()
    assert opt.restored == [] and len(opt.told) == 2


def test_random_search_restore_skips_finished_indices(tmp_path) -> None:
    """RandomSearch.restore: a resumed search proposes none of the finished configurations."""
    journal = tmp_path / "j.jsonl"
    first = OptimizationLoop(RandomSearch({"x": (-1.0, 1.0)}, seed=3), SerialRunner(quadratic),
                             n_trials_goal=4, journal=journal)
    first.run()
    opt = RandomSearch({"x": (-1.0, 1.0)}, seed=3)
    second = OptimizationLoop(opt, SerialRunner(quadratic), n_trials_goal=7, journal=journal)
    assert opt.n_told == 4
    second.run()
    xs = [i.config["x"] for i, _ in second.history]
    assert len(xs) == len(set(xs)) == 7


def test_hyperband_restore_gives_the_uninterrupted_state(tmp_path) -> None:
    """Hyperband resumed mid-study (restore, then the rest) proposes exactly the trials an
    uninterrupted run proposes."""
    def study(journal, goal):
        opt = Hyperband({"x": (-1.0, 1.0)}, min_budget=1, max_budget=9, eta=3, seed=5)
        loop = OptimizationLoop(opt, SerialRunner(quadratic), n_trials_goal=goal, journal=journal)
        loop.run()
        return [(i.config["x"], i.budget) for i, _ in loop.history]

    whole = study(tmp_path / "whole.jsonl", 20)
    study(tmp_path / "cut.jsonl", 11)
    assert study(tmp_path / "cut.jsonl", 20) == whole
