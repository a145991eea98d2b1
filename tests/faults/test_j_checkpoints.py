"""FAULTS J (issue 27, second hostile pass): checkpoint paths from outside, shared checkpoint
roots, continuations of the wrong state, one TrialInfo asked twice, an unusable checkpoint root,
one open journal given to two loops. Each case failed before its fix (docs/faults.md, part J).

The checkpoint logic is the loop's (runner/_loop/checkpoints.py) and the same on every backend,
so these run on the serial runner (threads for J10, which needs trials in flight together)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from runner import OptimizationLoop, SerialRunner, ThreadPoolRunner, continue_trial
from trials import Journal, StatusType, TrialInfo, TrialValue


def trains(config: Any, budget: Any, report: Any, checkpoint: Path) -> Any:
    """Saves its step in ``checkpoint`` before each report; starts from the saved step."""
    state = checkpoint / "step"
    step = start = int(state.read_text()) if state.exists() else 0
    while step < budget:
        step += 1
        state.write_text(str(step))
        report(step, 1.0 / step)
    return 1.0 / step, {"started": start, "dir": str(checkpoint)}


def plain(config: Any) -> float:
    return 0.0


class Scripted:
    """Asks ``todo`` in order (callables get the told pairs so far); ``fail_after``: ``tell``
    raises once that many were told (the study stops "failed", its checkpoints kept);
    ``drops``: what ``drop_checkpoints`` returns each time (``None``: no such method)."""

    def __init__(self, todo: list[Any], fail_after: int | None = None) -> None:
        self.todo, self.fail_after = list(todo), fail_after
        self.told: list[tuple[TrialInfo, TrialValue]] = []

    def ask(self) -> TrialInfo | None:
        if not self.todo:
            return None
        item = self.todo.pop(0)
        info: TrialInfo = item(self.told) if callable(item) else item
        return info

    def tell(self, info: TrialInfo, value: TrialValue) -> None:
        self.told.append((info, value))
        if self.fail_after is not None and len(self.told) >= self.fail_after:
            raise RuntimeError("the optimizer broke")


class Keeping(Scripted):
    """Has ``drop_checkpoints``: the loop keeps every ended trial's directory until listed;
    it lists ``drops`` (once)."""

    def __init__(self, todo: list[Any], drops: list[Any] | None = None) -> None:
        super().__init__(todo)
        self.drops = list(drops or [])

    def drop_checkpoints(self) -> list[Any]:
        out, self.drops = self.drops, []
        return out


def victim(tmp_path: Path) -> Path:
    """A directory that is no study's: it must be left exactly as it is."""
    path = tmp_path / "victim"
    path.mkdir()
    (path / "precious").write_text("mine")
    return path


def intact(path: Path) -> bool:
    return sorted(p.name for p in path.iterdir()) == ["precious"]


def run(optimizer: Any, target: Any = trains, **kwargs: Any) -> OptimizationLoop:
    with SerialRunner(target) as runner:
        loop = OptimizationLoop(optimizer, runner, **kwargs)
        loop.run()
    return loop


# -- J1: checkpoint paths from outside ------------------------------------------------------


@pytest.mark.parametrize("path", ["{root}/../victim", "{victim}",
                                  "{root}/x/trial-000009/../../../victim"])
def test_J1_optimizer_checkpoint_dir_is_refused(tmp_path: Path, path: str) -> None:
    """J1: a new trial whose ``additional_info`` names a checkpoint directory (an escape through
    ``..``, another folder) is refused at submission naming the trial; the target never ran
    there and nothing there is removed (before: the trial ran in it and it was rmtree'd)."""
    gone = victim(tmp_path)
    root = tmp_path / "ck"
    bad = path.format(root=root, victim=gone)
    opt = Scripted([TrialInfo({}, budget=2, additional_info={"checkpoint_dir": bad})])
    with pytest.raises(ValueError, match=r"trial 0 carries additional_info\['checkpoint_dir'\]"
                                         r".*not a directory this study gave it"):
        run(opt, checkpoints=root)
    assert intact(gone)


def test_J1_drop_checkpoints_naming_what_it_never_got_is_left_alone(tmp_path: Path) -> None:
    """J1: ``drop_checkpoints()`` listing a trial the loop never handed out (a foreign folder,
    a ``..`` path through a real trial's directory, a copy naming another trial's directory)
    removes nothing (before: each was rmtree'd); the study goes on and finishes."""
    gone = victim(tmp_path)
    root = tmp_path / "ck"
    states: list[bool] = []

    class Fakes(Keeping):
        def drop_checkpoints(self) -> list[Any]:
            if len(self.told) != 1:
                return []
            real = self.told[0][0].additional_info["checkpoint_dir"]
            return [TrialInfo({}, additional_info={"checkpoint_dir": str(gone)}),
                    TrialInfo({}, additional_info={"checkpoint_dir": f"{real}/../../../victim"}),
                    TrialInfo({"a": 9}, additional_info={"checkpoint_dir": real})]

    def look(told: list[Any]) -> TrialInfo:
        states.append(os.path.isdir(told[0][0].additional_info["checkpoint_dir"]))
        return TrialInfo({"a": 3}, budget=1)

    loop = run(Fakes([TrialInfo({"a": 1}, budget=2), look, TrialInfo({"a": 2}, budget=2)]),
               checkpoints=root)
    assert loop.status() == "finished" and len(loop.history) == 3
    assert states == [True]  # trial 0's directory survived the copy naming it
    assert intact(gone)


def _first_session(tmp_path: Path, root: Path) -> Path:
    """A study that ran trial 0 (paused-like: kept by drop_checkpoints) and then failed, so
    its checkpoints and journal stay for a resume."""
    journal = tmp_path / "j.jsonl"
    opt = Keeping([TrialInfo({}, budget=2)])
    opt.fail_after = 1
    with SerialRunner(trains) as runner:
        loop = OptimizationLoop(opt, runner, journal=journal, checkpoints=root)
        with pytest.raises(RuntimeError, match="broke"):
            loop.run()
    return journal


def _edit(journal: Path, old: str, new: str) -> None:
    journal.write_text(journal.read_text().replace(json.dumps(old), json.dumps(new)))


def test_J1_edited_journal_on_resume(tmp_path: Path) -> None:
    """J1: a journal edited to name a foreign folder: a finished trial's is left alone (never
    removed, cannot be continued); an unfinished trial that would run again there is refused at
    construction, naming the trial (before: it ran in the folder, and the study's end removed
    it)."""
    gone, root = victim(tmp_path), tmp_path / "ck"
    journal = _first_session(tmp_path, root)
    [own] = {json.loads(line)["info"]["additional_info"]["checkpoint_dir"]
             for line in journal.read_text().splitlines()[1:]
             if json.loads(line).get("type") == "submit"}
    _edit(journal, own, str(gone))
    loop = run(Scripted([TrialInfo({}, budget=1)]), journal=journal, checkpoints=root,
               resume="force")
    assert loop.status() == "finished" and intact(gone)
    with pytest.raises(ValueError, match="did not hand out"):
        run(Scripted([continue_trial(loop.history[0][0], 4)]), journal=journal,
            checkpoints=root, resume="force")
    with journal.open("a") as f:  # an unfinished trial 7 in the foreign folder
        f.write(json.dumps({"type": "submit", "trial": 7, "attempt": 0, "time": 1.0, "info": {
            "config": {}, "budget": 2, "additional_info": {"checkpoint_dir": str(gone)}}}) + "\n")
    with SerialRunner(trains) as runner, pytest.raises(
            ValueError, match="trial 7 of the journal would run again in checkpoint_dir"):
        OptimizationLoop(Scripted([]), runner, journal=journal, checkpoints=root,
                         resume="force")
    assert intact(gone)
    Journal.open(journal).close()  # the refused loop released its journal


def test_J1_cleanup_never_follows_a_symlinked_trial_directory(tmp_path: Path) -> None:
    """J1 (what held, still holds): a trial directory replaced by a symlink to a foreign
    folder is not followed when the study removes its checkpoints."""
    gone, root = victim(tmp_path), tmp_path / "ck"

    def swap(told: list[Any]) -> TrialInfo:
        path = told[0][0].additional_info["checkpoint_dir"]
        for name in os.listdir(path):
            os.unlink(os.path.join(path, name))
        os.rmdir(path)
        os.symlink(gone, path)
        return TrialInfo({}, budget=1)

    run(Keeping([TrialInfo({}, budget=1), swap]), checkpoints=root)
    assert intact(gone)


# -- J2: a named root is this study's part only ----------------------------------------------


@pytest.mark.parametrize("name", ["ck", "mine.checkpoints"])
def test_J2_named_root_keeps_what_the_study_did_not_make(tmp_path: Path, name: str) -> None:
    """J2: ``checkpoints=DIR`` holding a user's ``trial-notes/`` and a file: the finished study
    removes only the directories it made (before: every ``trial-*`` entry went, and a root
    named ``*.checkpoints`` was removed whole)."""
    root = tmp_path / name
    (root / "trial-notes").mkdir(parents=True)
    (root / "trial-notes" / "n.txt").write_text("notes")
    (root / "keep.txt").write_text("keep")
    loop = run(Scripted([TrialInfo({}, budget=2), TrialInfo({}, budget=2)]), checkpoints=root)
    made = [i.additional_info["checkpoint_dir"] for i, _ in loop.history]
    assert all(not os.path.exists(p) for p in made)
    assert sorted(os.listdir(root)) == ["keep.txt", "trial-notes"]
    assert (root / "trial-notes" / "n.txt").read_text() == "notes"


def test_J2_two_studies_on_one_root_never_meet(tmp_path: Path) -> None:
    """J2: two studies given the same ``checkpoints=DIR`` get directories of their own: the
    second does not read the first's state, and its end does not remove the first's kept
    checkpoints (before: both handed out DIR/trial-000000; the second started from the first's
    step 3, and its end removed the first's directory)."""
    root = tmp_path / "shared"
    first = Keeping([TrialInfo({}, budget=3)])
    first.fail_after = 1
    with SerialRunner(trains) as runner:
        loop_a = OptimizationLoop(first, runner, journal=tmp_path / "a.jsonl", checkpoints=root)
        with pytest.raises(RuntimeError, match="broke"):
            loop_a.run()
    a_dir = first.told[0][0].additional_info["checkpoint_dir"]
    for journal in (tmp_path / "b.jsonl", None):  # with a journal and without
        loop_b = run(Scripted([TrialInfo({}, budget=2)]), journal=journal, checkpoints=root)
        [(info, value)] = list(loop_b.history)
        assert info.additional_info["checkpoint_dir"] != a_dir
        assert value.additional_info["started"] == 0, value
    assert (Path(a_dir) / "step").read_text() == "3"
    assert Path(a_dir).parent.parent == root


# -- J7: continuation hands out the right state, or is refused -------------------------------


def test_J7_continuing_the_same_trial_twice_is_refused(tmp_path: Path) -> None:
    """J7: a second continuation of trial 0, after trial 1 continued it, is refused naming both
    trials (before: it got trial 1's state, starting at step 5 instead of 2)."""
    opt = Keeping([TrialInfo({}, budget=2), lambda told: continue_trial(told[0][0], 5),
                   lambda told: continue_trial(told[0][0], 8)])
    with pytest.raises(ValueError, match="trial 2 continues an earlier state.*trial 1 "
                                         "continued it since"):
        run(opt, checkpoints=tmp_path / "ck")
    assert [v.additional_info["started"] for _, v in opt.told] == [0, 2]


def test_J7_continuing_the_latest_continuation_still_works(tmp_path: Path) -> None:
    """J7: a chain (trial 0, its continuation 1, 1's continuation 2) continues each step's state."""
    opt = Keeping([TrialInfo({}, budget=2), lambda told: continue_trial(told[0][0], 5),
                   lambda told: continue_trial(told[1][0], 8)])
    run(opt, checkpoints=tmp_path / "ck")
    assert [v.additional_info["started"] for _, v in opt.told] == [0, 2, 5]


def test_J7_copied_additional_info_is_refused(tmp_path: Path) -> None:
    """J7: a new trial built with a copy of an old trial's ``additional_info`` is refused,
    naming both trials and ``continue_trial`` (before: it silently got the old directory and
    started from its step 3)."""
    opt = Keeping([TrialInfo({}, budget=3), lambda told: TrialInfo(
        {}, budget=6, additional_info=dict(told[0][0].additional_info))])
    with pytest.raises(ValueError, match=r"trial 1 carries .* the directory of trial 0, which "
                                         r"the loop did not give it.*continue_trial"):
        run(opt, checkpoints=tmp_path / "ck")


def test_J7_continuing_a_removed_directory(tmp_path: Path) -> None:
    """J7: continuing a trial whose directory was removed when it ended: in the same process the
    error says so (before: "did not hand out"); after a resume it is refused too (before: it was
    accepted and started from an empty directory)."""
    opt = Scripted([TrialInfo({}, budget=2), lambda told: continue_trial(told[0][0], 5)])
    with pytest.raises(ValueError, match="trial 1 continues the checkpoint .* of trial 0, "
                                         "which was removed when that trial ended"):
        run(opt, checkpoints=tmp_path / "ck")
    journal = tmp_path / "j.jsonl"
    with SerialRunner(trains) as runner:
        loop = OptimizationLoop(Scripted([TrialInfo({}, budget=2), TrialInfo({}, budget=2)],
                                         fail_after=2), runner, journal=journal)
        with pytest.raises(RuntimeError, match="broke"):
            loop.run()

    class Resumed(Scripted):
        def restore(self, history: Any) -> None:
            self.todo.append(continue_trial(next(iter(history))[0], 5))

    with pytest.raises(ValueError, match="trial 2 continues the checkpoint .* of trial 0, "
                                         "which is no longer there"):
        run(Resumed([]), journal=journal, resume="force")


# -- J10: one TrialInfo asked twice while in flight ------------------------------------------


class SameObject:
    """``ask`` returns one TrialInfo object four times (then ``None``)."""

    def __init__(self) -> None:
        self.info, self.asked, self.told = TrialInfo({"x": 1}), 0, 0

    def ask(self) -> TrialInfo | None:
        self.asked += 1
        return self.info if self.asked <= 4 else None

    def tell(self, info: TrialInfo, value: TrialValue) -> None:
        self.told += 1


def test_J10_the_same_trialinfo_asked_while_in_flight_is_refused() -> None:
    """J10: ``ask()`` returning the TrialInfo object of a trial still in flight fails the loop
    with a ValueError naming that trial (before: 4 asks, 2 results, status "finished")."""
    opt = SameObject()
    with ThreadPoolRunner(plain, n_workers=4) as runner:
        loop = OptimizationLoop(opt, runner)
        with pytest.raises(ValueError, match="returned the TrialInfo object of trial 0, which "
                                             "is still in flight"):
            loop.run()
    assert loop.status() == "failed" and opt.told == 0


# -- J15: an unusable checkpoint root fails at construction ----------------------------------


def test_J15_unusable_checkpoint_root_fails_early_naming_it(tmp_path: Path) -> None:
    """J15: a checkpoint root that cannot hold directories (a file on its way, the default
    ``<journal>.checkpoints`` being a file, a read-only folder) fails the loop's construction
    with an error naming the path (before: every trial crashed with an error naming none);
    the journal is released."""
    (tmp_path / "file").write_text("")
    with SerialRunner(trains) as runner:
        with pytest.raises(ValueError, match=r"checkpoints='.*/file/sub' cannot hold "
                                             r"checkpoints: .*'.*/file' is not a directory"):
            OptimizationLoop(Scripted([]), runner, checkpoints=tmp_path / "file" / "sub")
        (tmp_path / "j.jsonl.checkpoints").write_text("")
        with pytest.raises(ValueError, match=r"beside the journal='.*j.jsonl.checkpoints' "
                                             "cannot hold checkpoints"):
            OptimizationLoop(Scripted([]), runner, journal=tmp_path / "j.jsonl")
        Journal.open(tmp_path / "j.jsonl").close()
        if os.geteuid() != 0:  # root writes anywhere
            locked = tmp_path / "ro"
            locked.mkdir(mode=0o500)
            with pytest.raises(ValueError, match=r"checkpoints='.*/ro/ck' cannot hold"):
                OptimizationLoop(Scripted([]), runner, checkpoints=locked / "ck")
    with SerialRunner(plain) as runner:  # a target without checkpoint needs no root
        OptimizationLoop(Scripted([]), runner, checkpoints=tmp_path / "file" / "sub").run()


# -- J16: one open journal, two loops --------------------------------------------------------


def test_J16_one_open_journal_serves_one_loop(tmp_path: Path) -> None:
    """J16: an open ``trials.Journal`` given to a second loop is refused at construction
    (before: both loops numbered trials from 0 into it, and a resume replayed 10 of 20); a loop
    refused at construction (another study) leaves it free for the next."""
    with Journal.open(tmp_path / "j.jsonl") as journal:
        first = OptimizationLoop(Scripted([TrialInfo({"i": i}) for i in range(3)]),
                                 SerialRunner(plain), journal=journal)
        with pytest.raises(ValueError, match="was already given to another loop"):
            OptimizationLoop(Scripted([]), SerialRunner(plain), journal=journal)
        first.run()
        with pytest.raises(ValueError, match="was already given to another loop"):
            OptimizationLoop(Scripted([]), SerialRunner(plain), journal=journal)
    with Journal.open(tmp_path / "other.jsonl", study="a") as journal:
        with pytest.raises(ValueError, match="study"):
            OptimizationLoop(Scripted([]), SerialRunner(plain), journal=journal, study="b")
        OptimizationLoop(Scripted([TrialInfo({})]), SerialRunner(plain), journal=journal,
                         study="a").run()
    loop = OptimizationLoop(Scripted([]), SerialRunner(plain), journal=tmp_path / "j.jsonl")
    assert [v.status for _, v in loop.history] == [StatusType.SUCCESS] * 3
