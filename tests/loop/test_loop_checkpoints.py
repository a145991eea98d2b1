"""The loop's checkpoint directories (runner/_loop/checkpoints.py): where they go, when they are
removed, continuations, resume, and bad arguments. Backend coverage: tests/faults/
test_i_checkpoints.py."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from runner import OptimizationLoop, SerialRunner, continue_trial
from trials import StatusType, TrialInfo, TrialValue


def trains(config: Any, budget: Any, report: Any, checkpoint: Path) -> Any:
    """Saves its step in ``checkpoint`` before each report; starts from the saved step."""
    state = checkpoint / "step"
    step = start = int(state.read_text()) if state.exists() else 0
    while step < budget:
        step += 1
        state.write_text(str(step))
        report(step, 1.0 / step)
    return 1.0 / step, {"started": start}


def plain(config: Any) -> float:
    return 0.0


class Scripted:
    """Asks ``todo`` in order (callables are called with the told pairs so far); pauses a
    trial on the report of ``pause_at``; ``drops``: what ``drop_checkpoints`` returns next."""

    def __init__(self, todo: list[Any], pause_at: int | None = None,
                 fail_after: int | None = None) -> None:
        self.todo, self.pause_at, self.fail_after = list(todo), pause_at, fail_after
        self.told: list[tuple[TrialInfo, TrialValue]] = []

    def ask(self) -> TrialInfo | None:
        if not self.todo:
            return None
        item = self.todo.pop(0)
        return item(self.told) if callable(item) else item

    def on_report(self, info: TrialInfo, report: Any) -> str:
        fresh = "continues" not in info.additional_info
        return "pause" if fresh and report.step == self.pause_at else "continue"

    def tell(self, info: TrialInfo, value: TrialValue) -> None:
        self.told.append((info, value))
        if self.fail_after is not None and len(self.told) >= self.fail_after:
            raise RuntimeError("the optimizer broke")


def test_default_root_is_beside_the_journal_and_removed_at_the_end(tmp_path: Any) -> None:
    seen: list[str] = []
    opt = Scripted([TrialInfo({}, budget=5), lambda told: continue_trial(told[0][0], 9)],
                   pause_at=2)
    with SerialRunner(trains) as runner:
        loop = OptimizationLoop(opt, runner, journal=tmp_path / "j.jsonl")
        loop.run()
        seen = [i.additional_info["checkpoint_dir"] for i, _ in loop.history]
    assert seen[0] == seen[1] == str(tmp_path / "j.jsonl.checkpoints" / "trial-000000")
    assert [v.status for _, v in loop.history] == [StatusType.STOPPED, StatusType.SUCCESS]
    assert loop.history[1][1].additional_info["started"] == 2
    assert not (tmp_path / "j.jsonl.checkpoints").exists()


def test_without_a_journal_a_temporary_root_is_removed(tmp_path: Any) -> None:
    opt = Scripted([TrialInfo({}, budget=3)])
    with SerialRunner(trains) as runner:
        loop = OptimizationLoop(opt, runner)
        loop.run()
    path = Path(loop.history[0][0].additional_info["checkpoint_dir"])
    assert path.name == "trial-000000" and not path.parent.exists()


def test_a_target_without_checkpoint_gets_no_directory() -> None:
    with SerialRunner(plain) as runner:
        assert not runner.wants_checkpoint
        loop = OptimizationLoop(Scripted([TrialInfo({})]), runner)
        loop.run()
    assert "checkpoint_dir" not in loop.history[0][0].additional_info


class Dropping(Scripted):
    """Has ``drop_checkpoints``: the loop keeps every ended trial's directory until listed."""

    def __init__(self, todo: list[Any], drop_after: int) -> None:
        super().__init__(todo)
        self.drop_after, self.dropped = drop_after, False

    def drop_checkpoints(self) -> list[TrialInfo]:
        if len(self.told) >= self.drop_after and not self.dropped:
            self.dropped = True
            return [self.told[0][0]]
        return []


def test_drop_checkpoints_keeps_until_listed(tmp_path: Any) -> None:
    """With ``drop_checkpoints`` ended trials keep their directories until the optimizer lists
    them; the one continued is owned by its continuation and is not removed by listing the
    first trial; the end of the study removes the rest."""
    states: list[tuple[bool, bool]] = []

    def look(told: list[Any]) -> TrialInfo:
        states.append(tuple(os.path.isdir(i.additional_info["checkpoint_dir"])
                            for i, _ in told[:2]))  # type: ignore[arg-type]
        return continue_trial(told[1][0], 6)

    opt = Dropping([TrialInfo({"a": 1}, budget=3), TrialInfo({"a": 2}, budget=3), look,
                    lambda told: TrialInfo({"a": 3}, budget=1)], drop_after=3)
    root = tmp_path / "ck"
    with SerialRunner(trains) as runner:
        loop = OptimizationLoop(opt, runner, checkpoints=root)
        loop.run()
    assert states == [(True, True)]  # both kept after they ended
    first, second = (i.additional_info["checkpoint_dir"] for i, _ in loop.history[:2])
    assert loop.history[2][1].additional_info["started"] == 3
    assert not os.path.exists(first)  # listed after the third result
    assert not root.exists() or not any(root.iterdir())


def test_resume_continues_a_paused_trial(tmp_path: Any) -> None:
    """The first run pauses trial 0 and then fails; the resumed study's optimizer continues it
    from the history, and the continuation starts from the step trial 0 saved."""
    journal = tmp_path / "j.jsonl"
    with SerialRunner(trains) as runner:
        loop = OptimizationLoop(Scripted([TrialInfo({}, budget=8)], pause_at=3, fail_after=1),
                                runner, journal=journal)
        with pytest.raises(RuntimeError, match="broke"):
            loop.run()
    assert (tmp_path / "j.jsonl.checkpoints" / "trial-000000" / "step").read_text() == "3"

    class Resumed(Scripted):
        def restore(self, history: Any) -> None:
            [(info, value)] = list(history)
            assert value.additional_info["paused"] is True
            self.todo.append(continue_trial(info, 8))

    with SerialRunner(trains) as runner:
        loop = OptimizationLoop(Resumed([]), runner, journal=journal, resume="force")
        loop.run()
    info, value = loop.history[1]
    assert info.additional_info["continues_trial"] == 0
    assert value.status is StatusType.SUCCESS and value.additional_info["started"] == 3


def test_continuing_a_directory_never_handed_out_is_refused(tmp_path: Any) -> None:
    stranger = TrialInfo({}, budget=2, additional_info={"checkpoint_dir": str(tmp_path / "x")})
    with SerialRunner(trains) as runner:
        loop = OptimizationLoop(Scripted([continue_trial(stranger, 4)]), runner)
        with pytest.raises(ValueError, match="did not hand out"):
            loop.run()


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"checkpoints": 3}, TypeError, "checkpoints must be a directory path"),
    ({"keep_checkpoints": "yes"}, TypeError, "keep_checkpoints must be a bool"),
])
def test_bad_arguments(kwargs: dict[str, Any], error: type, match: str) -> None:
    with SerialRunner(trains) as runner, pytest.raises(error, match=match):
        OptimizationLoop(Scripted([]), runner, **kwargs)


def test_checkpoints_naming_a_file_is_refused(tmp_path: Any) -> None:
    (tmp_path / "f").write_text("")
    with SerialRunner(trains) as runner, pytest.raises(ValueError, match="not a directory"):
        OptimizationLoop(Scripted([]), runner, checkpoints=tmp_path / "f")


def test_continue_trial_needs_a_trial_info() -> None:
    with pytest.raises(TypeError, match="info must be a trials.TrialInfo"):
        continue_trial({"x": 1}, 3)  # type: ignore[arg-type]


def test_relative_roots_become_absolute(tmp_path: Any, monkeypatch: Any) -> None:
    """Workers may run in another directory: a relative ``checkpoints=`` or journal path
    gives absolute checkpoint directories."""
    monkeypatch.chdir(tmp_path)
    for kwargs in ({"checkpoints": "ck"}, {"journal": "j.jsonl"}):
        opt = Scripted([TrialInfo({}, budget=1)])
        with SerialRunner(trains) as runner:
            loop = OptimizationLoop(opt, runner, keep_checkpoints=True, **kwargs)
            loop.run()
        path = loop.history[0][0].additional_info["checkpoint_dir"]
        assert os.path.isabs(path) and path.startswith(str(tmp_path)), path
