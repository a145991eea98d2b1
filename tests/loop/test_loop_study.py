"""A journal knows its study: another study's journal is refused, saying what differs; a change
can be resumed on purpose (issue #14, item 1)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from runner import OptimizationLoop, SerialRunner
from runner.errors import StudyMismatchError
from runner.optimizers import Hyperband, RandomSearch
from trials import Journal, read_records


def target_a(config: Any) -> float:
    return float(config["x"])


def target_b(config: Any, budget: float) -> float:
    return float(config["lr"]) * config["layers"] / budget


def study_a(journal: Path, **kwargs: Any) -> OptimizationLoop:
    return OptimizationLoop(RandomSearch({"x": (0.0, 1.0)}, seed=1), SerialRunner(target_a),
                            n_trials_goal=10, journal=journal, **kwargs)


def study_b(journal: Path, **kwargs: Any) -> OptimizationLoop:
    space = {"lr": (1e-4, 1e-1, "log"), "layers": (1, 4)}
    return OptimizationLoop(Hyperband(space, min_budget=1, max_budget=9, seed=1),
                            SerialRunner(target_b), journal=journal, **kwargs)


def resumed(loop: OptimizationLoop) -> int:
    """How many finished trials ``loop`` resumed; releases its journal without running it."""
    n = len(loop.history)
    loop.cancel()
    return n


def test_header_records_name_and_fingerprint(tmp_path: Path) -> None:
    """A new journal's header holds the study name and what must match to resume."""
    path = tmp_path / "study.jsonl"
    study_a(path, study="A").run()
    header = json.loads(path.read_text().splitlines()[0])
    assert header["study"] == "A"
    assert header["fingerprint"] == {
        "optimizer": "RandomSearch", "space": {"x": "(0.0, 1.0)"}, "target": "target_a",
        "objectives": ["cost"]}


def test_another_study_on_the_same_journal_is_refused(tmp_path: Path) -> None:
    """The issue's case: B on A's journal raises, naming the journal, both studies, the
    differences, and how to go on anyway; nothing of A is told to B."""
    path = tmp_path / "study.jsonl"
    study_a(path).run()
    with pytest.raises(StudyMismatchError) as caught:
        study_b(path)
    message = str(caught.value)
    assert str(path) in message
    assert "RandomSearch on ['x'], target 'target_a'" in message
    assert "Hyperband on ['layers', 'lr'], target 'target_b'" in message
    assert "optimizer: 'RandomSearch' in the journal, 'Hyperband' now" in message
    assert "resume='force'" in message
    assert set(caught.value.differences) == {"optimizer", "space", "target"}
    # the journal is released: A resumes from it
    assert resumed(study_a(path)) == 10


def test_another_study_name_is_refused(tmp_path: Path) -> None:
    """Same optimizer and target under another name is another study."""
    path = tmp_path / "study.jsonl"
    study_a(path, study="A").run()
    with pytest.raises(StudyMismatchError, match=r"study: 'A' in the journal, 'B' now"):
        study_a(path, study="B")


def test_the_same_study_resumes(tmp_path: Path) -> None:
    """Resuming with the same identity (named or not) replays the trials."""
    path = tmp_path / "study.jsonl"
    study_a(path, study="A").run()
    assert resumed(study_a(path, study="A")) == 10
    assert resumed(study_a(path)) == 10  # no name given: the name is not compared


def test_force_resumes_a_changed_study_and_records_it(tmp_path: Path) -> None:
    """resume='force' continues despite a change, logs it, and records the new identity, so a
    later plain resume of the changed study passes."""
    path = tmp_path / "study.jsonl"
    study_a(path).run()
    space = {"x": (0.0, 2.0)}
    changed = OptimizationLoop(RandomSearch(space, seed=1), SerialRunner(target_a),
                               n_trials_goal=12, journal=path, resume="force")
    assert len(changed.history) == 10
    changed.run()
    [record] = [r for r in read_records(path) if r["type"] == "study"]
    assert record["forced"] is True and record["changed"] == ["space"]
    again = OptimizationLoop(RandomSearch(space, seed=1), SerialRunner(target_a),
                             journal=path, n_trials_goal=12)
    assert resumed(again) == 12
    with pytest.raises(StudyMismatchError, match="space"):
        study_a(path)  # the journal now holds the changed study


def test_a_journal_without_identity_gets_one(tmp_path: Path) -> None:
    """A journal written before identities (or opened by the user) is resumed and stamped."""
    path = tmp_path / "study.jsonl"
    Journal.open(path).close()
    study_a(path).run()
    assert [r["fingerprint"]["target"] for r in read_records(path) if r["type"] == "study"] == [
        "target_a"]
    with pytest.raises(StudyMismatchError):
        study_b(path)


@pytest.mark.parametrize("bad", ["", 3])
def test_study_name_must_be_a_non_empty_string(tmp_path: Path, bad: Any) -> None:
    with pytest.raises(TypeError, match="study must be a non-empty str"):
        study_a(tmp_path / "s.jsonl", study=bad)


def test_resume_mode_is_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="resume must be 'check'.*or 'force'"):
        study_a(tmp_path / "s.jsonl", resume="yes")
