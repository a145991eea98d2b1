"""What docs/integrations.md says of failed trials under Optuna (issue #28 item 7): our adapter
tells them as ``TrialState.FAIL`` with no value, and TPE leaves them out of its model, so a
failing region is not avoided. The page said the sampler learns to avoid it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.cli.clihelpers import ROOT
from trials import StatusType, TrialValue

optuna = pytest.importorskip("optuna", reason="the optuna extra is not installed")

from runner.integrations.optuna import OptunaOptimizer  # noqa: E402


def _study_after(complete: list[float], failed: list[float]) -> Any:
    """A seeded TPE study told ``complete`` points (cost ``(x - 2)^2``) and ``failed`` points
    (CRASHED), through our adapter."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=3, n_startup_trials=5))
    space = {"x": optuna.distributions.FloatDistribution(-5.0, 5.0)}
    optimizer = OptunaOptimizer(study, space)
    for x in failed:
        study.enqueue_trial({"x": x})
        info = optimizer.ask()
        assert info is not None
        optimizer.tell(info, TrialValue(cost=float("inf"), status=StatusType.CRASHED))
    for x in complete:
        study.enqueue_trial({"x": x})
        info = optimizer.ask()
        assert info is not None
        optimizer.tell(info, TrialValue(cost=(info.config["x"] - 2) ** 2))
    return study


def test_failed_trials_are_told_fail_and_tpe_samples_as_if_they_never_ran() -> None:
    """Ten crashes at x >= 4.5 change none of TPE's next twenty suggestions."""
    complete = [-4.0, -2.0, 0.0, 1.0, 3.0, 4.0]
    with_failures = _study_after(complete, [4.5 + 0.05 * i for i in range(10)])
    without = _study_after(complete, [])
    states = [t.state for t in with_failures.trials]
    assert states.count(optuna.trial.TrialState.FAIL) == 10
    assert all(t.values is None for t in with_failures.trials
               if t.state == optuna.trial.TrialState.FAIL)
    suggest = [[s.ask().suggest_float("x", -5.0, 5.0) for _ in range(20)]
               for s in (with_failures, without)]
    assert suggest[0] == suggest[1]


def test_the_integrations_page_says_so() -> None:
    """The page no longer claims the sampler learns to avoid failing regions."""
    page = (ROOT / "docs" / "integrations.md").read_text()
    assert "learns to avoid" not in page
    assert "TPE (Optuna's default sampler)\n  learns nothing from a failed trial" in page
