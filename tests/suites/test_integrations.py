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


@pytest.mark.integration
def test_smac_multi_fidelity_runs_hyperband_brackets_and_resumes(tmp_path: Path) -> None:
    """smac_mf (SMAC3's multi-fidelity facade) asks trials across the budgets of its brackets,
    finishes its trials, and continues a study from its journal."""
    pytest.importorskip("smac")
    text = TEXT.replace('"branin"', '"branin-mf"') + "[optimizer.smac_mf]\nmin_budget = 3\n"

    def run(n: int) -> list[dict[str, object]]:
        return run_suite(parse_suite(text.format(opt="smac_mf", n=n)), backend="thread",
                         workers=2, out=str(tmp_path), plots=False).rows

    assert run(14)[0]["trials"] == 14
    rows = run(20)
    assert rows[0]["status"] == "finished" and rows[0]["trials"] == 20
    history = History.load(tmp_path / "branin-mf" / "smac_mf" / "seed-0.jsonl")
    budgets = sorted({i.budget for i, _ in history})
    assert len(history) == 20 and budgets[:2] == [3.0, 9.0], budgets  # several budgets


def test_smac_multi_fidelity_settings_are_checked_without_building_smac() -> None:
    """A bad eta or a single-fidelity problem is a suite-file error naming the key."""
    from runner.suites import SuiteFileError

    text = TEXT.format(opt="smac_mf", n=5)
    with pytest.raises(SuiteFileError, match="'smac_mf' needs a multi-fidelity problem"):
        parse_suite(text)
    with pytest.raises(SuiteFileError, match=r"optimizer.smac_mf.eta: .*eta must be an int >= 2"):
        parse_suite(text.replace('"branin"', '"branin-mf"') + "[optimizer.smac_mf]\neta = 1\n")
