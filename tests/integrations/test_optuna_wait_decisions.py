"""Optuna's pruners through our adapter with ``wait_for_decisions=True`` prune exactly as in
Optuna alone, where ``should_prune()`` is asked synchronously inside the objective (issue 26):
same trials pruned, at the same steps, on a target whose steps take no time."""

from __future__ import annotations

import math
from typing import Any

import optuna
import pytest

from runner import OptimizationLoop, ProcessPoolRunner, ThreadPoolRunner
from runner.integrations.optuna import OptunaOptimizer
from trials import StatusType

STEPS = 20
N_TRIALS = 30


def curve(x: float, step: int) -> float:
    """A deterministic, wiggling learning curve: curves cross, so trials are pruned at
    various steps."""
    return x + math.sin(13.0 * x + step) / math.sqrt(step)


def instant(config: Any, report: Any) -> float:
    """``curve`` over STEPS steps that take no time, each reported."""
    for step in range(1, STEPS + 1):
        report(step, curve(config["x"], step))
    return curve(config["x"], STEPS)


def _study() -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(
        sampler=optuna.samplers.RandomSampler(seed=7),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2))


def _optuna_alone() -> optuna.Study:
    study = _study()

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        for step in range(1, STEPS + 1):
            trial.report(curve(x, step), step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return curve(x, STEPS)

    study.optimize(objective, n_trials=N_TRIALS)
    return study


def _summary(study: optuna.Study) -> list[tuple[str, float, list[int], float | None]]:
    return [(t.state.name, t.params["x"], sorted(t.intermediate_values), t.value)
            for t in study.trials]


@pytest.mark.parametrize("make", [lambda: ProcessPoolRunner(instant, n_workers=1),
                                  lambda: ThreadPoolRunner(instant, n_workers=1)],
                         ids=["process", "thread"])
def test_median_pruner_prunes_as_in_optuna_alone(make: Any) -> None:
    """One trial at a time, as ``study.optimize`` runs them: the same configurations, the same
    trials PRUNED after the same steps (STOPPED there in our history), the same values."""
    alone = _summary(_optuna_alone())
    study = _study()
    opt = OptunaOptimizer(study, {"x": optuna.distributions.FloatDistribution(0, 1)},
                          n_trials=N_TRIALS)
    with make() as runner:
        loop = OptimizationLoop(opt, runner, wait_for_decisions=True)
        loop.run()
    ours = _summary(study)
    pruned = [s for s in alone if s[0] == "PRUNED"]
    assert len(pruned) >= 5, alone  # the comparison means something
    assert [s[:3] for s in ours] == [s[:3] for s in alone]
    assert [s[3] for s in ours] == pytest.approx([s[3] for s in alone])
    stopped = [v for _, v in loop.history if v.status is StatusType.STOPPED]
    assert sorted(v.additional_info["stopped_at_step"] for v in stopped) == sorted(
        s[2][-1] for s in pruned)
