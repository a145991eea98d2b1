"""Optuna's TPE and SMAC3 as suite optimizers, including a resumed study (its finished trials are
told to an optimizer that did not ask them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.suites import parse_suite, run_suite
from trials import History

TEXT = 'name = "i"\nproblems = ["branin"]\noptimizers = ["{opt}"]\nseeds = [0]\nn_trials = {n}\n'


def _run(opt: str, n: int, out: Path) -> list[dict[str, object]]:
    return run_suite(parse_suite(TEXT.format(opt=opt, n=n)), backend="thread", workers=2,
                     out=str(out), plots=False).rows


@pytest.mark.integration
def test_optuna_tpe_runs_and_resumes(tmp_path: Path) -> None:
    """optuna_tpe finishes its trials, and continues a study from its journal."""
    pytest.importorskip("optuna")
    assert _run("optuna_tpe", 6, tmp_path)[0]["trials"] == 6
    rows = _run("optuna_tpe", 9, tmp_path)
    assert rows[0]["status"] == "finished" and rows[0]["trials"] == 9
    assert len(History.load(tmp_path / "branin" / "optuna_tpe" / "seed-0.jsonl")) == 9


@pytest.mark.slow
@pytest.mark.integration
def test_smac_runs_and_resumes(tmp_path: Path) -> None:
    """smac finishes its trials, and continues a study from its journal."""
    pytest.importorskip("smac")
    assert _run("smac", 5, tmp_path)[0]["trials"] == 5
    rows = _run("smac", 8, tmp_path)
    assert rows[0]["status"] == "finished" and rows[0]["trials"] == 8
