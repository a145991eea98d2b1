"""FAULTS I (part 2): checkpoints on every backend. A target that takes ``checkpoint`` gets an
existing directory of its own; a continuation gets the directory of the trial it continues; a
trial paused on a report keeps its checkpoint, and its continuation resumes from the step it
saved (docs/early-stopping.md, "Checkpoints")."""

from __future__ import annotations

import os
from typing import Any

import faults_targets as ft
from contract.conftest import Backend

from faults.conftest import FaultMaker, ListOptimizer, carries_reports, configs, real_time
from runner import OptimizationLoop, continue_trial
from trials import StatusType, TrialInfo, TrialValue


def test_I5_each_trial_gets_its_directory(any_config: FaultMaker, tmp_path: Any) -> None:
    """I5: through the loop, each trial's ``checkpoint`` is an existing directory of its own
    under ``checkpoints=``, named in its additional_info; the study's end removes them, and
    ``keep_checkpoints=True`` keeps them."""
    for keep in (False, True):
        root = tmp_path / f"keep-{keep}"
        with any_config(ft.counts_in_checkpoint) as runner:
            assert runner.wants_checkpoint
            loop = OptimizationLoop(ListOptimizer([{"i": i} for i in range(3)]), runner,
                                    checkpoints=root, keep_checkpoints=keep)
            loop.run()
        dirs = [v.additional_info["dir"] for _, v in loop.history]
        assert all(v.status is StatusType.SUCCESS and v.cost == 0.0 for _, v in loop.history)
        assert all(v.additional_info["is_dir"] for _, v in loop.history)
        assert len(set(dirs)) == 3 and all(d.startswith(str(root)) for d in dirs), dirs
        assert [i.additional_info["checkpoint_dir"] for i, _ in loop.history] == dirs
        assert all(os.path.isdir(d) == keep for d in dirs)


class PausesThenContinues:
    """Asks one trial at budget 12 (30 ms steps); pauses it on its report of step 3; continues
    it (budget 12) once told it was paused."""

    def __init__(self) -> None:
        self.todo = [TrialInfo({"every": 0.03}, budget=12)]
        self.told: list[tuple[TrialInfo, TrialValue]] = []

    def ask(self) -> TrialInfo | None:
        return self.todo.pop() if self.todo else None

    def on_report(self, info: TrialInfo, report: Any) -> str:
        first = "continues" not in info.additional_info
        return "pause" if first and report.step >= 3 else "continue"

    def tell(self, info: TrialInfo, value: TrialValue) -> None:
        self.told.append((info, value))
        if value.additional_info.get("paused"):
            self.todo.append(continue_trial(info, budget=12))


def _pauses(backend: Backend) -> bool:
    """Not simulated (it evaluates a trial to its end when it starts, so a mid-trial pause leaves
    its final state saved: docs/early-stopping.md) and takes report targets."""
    return real_time(backend) and carries_reports(backend)


@configs("any_config", _pauses)
def test_I6_pause_then_continue(any_config: FaultMaker, tmp_path: Any) -> None:
    """I6: a "pause" ends the trial STOPPED and marked paused, its checkpoint kept; the
    continuation gets the same directory and resumes from the step the trial saved, never
    from 0; the journal says which trial it continues. (How late a decision may arrive is
    I1's business: here the loop journals and decides on a loaded CI machine, where a step of
    30 ms may pass before it does.)"""
    runner = any_config(ft.trains_from_checkpoint, grace=0.25)
    optimizer = PausesThenContinues()
    with runner:
        loop = OptimizationLoop(optimizer, runner, journal=tmp_path / "j.jsonl")
        loop.run()
    [(first, paused), (second, resumed)] = optimizer.told
    assert paused.status is StatusType.STOPPED and paused.additional_info["paused"] is True
    step = paused.additional_info["stopped_at_step"]
    assert 3 <= step < 12, paused
    assert second.additional_info["checkpoint_dir"] == first.additional_info["checkpoint_dir"]
    assert second.additional_info["continues_trial"] == 0
    assert resumed.status is StatusType.SUCCESS, resumed
    # from the step it saved: the one it stopped at, or the next when it had saved that one and
    # the pause reached it at that step's report (which then is not sent)
    assert resumed.additional_info["started"] in (step, step + 1) and resumed.cost == 1.0 / 12
    assert not os.path.exists(first.additional_info["checkpoint_dir"])  # the study finished
