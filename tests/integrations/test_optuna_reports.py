"""Optuna's pruners through our loop: reports reach trial.report, should_prune() stops the
trial, and the study records it PRUNED (issue 19)."""

from __future__ import annotations

import pytest

from runner import OptimizationLoop, ProcessPoolRunner, SerialRunner
from trials import StatusType

optuna = pytest.importorskip("optuna", reason="the optuna extra is not installed")

from runner.integrations.optuna import OptunaOptimizer  # noqa: E402


def learning(config, report):  # type: ignore[no-untyped-def]
    """Cost x + 1/step over 20 steps of 5 ms, reported at each."""
    import time

    for step in range(1, 21):
        time.sleep(0.005)
        report(step, config["x"] + 1.0 / step)
    return config["x"] + 0.05


@pytest.mark.parametrize("make", [lambda: SerialRunner(learning),
                                  lambda: ProcessPoolRunner(learning, n_workers=2)],
                         ids=["serial", "process"])
def test_median_pruner_leaves_pruned_trials(make) -> None:  # type: ignore[no-untyped-def]
    """With MedianPruner, the worse trials end PRUNED in the study and STOPPED in our history,
    with the intermediate values Optuna was given."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        sampler=optuna.samplers.RandomSampler(seed=1),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2))
    opt = OptunaOptimizer(study, {"x": optuna.distributions.FloatDistribution(0, 1)},
                          n_trials=16)
    with make() as runner:
        loop = OptimizationLoop(opt, runner)
        loop.run()
    states = [t.state for t in study.trials]
    pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    assert len(states) == 16 and pruned and optuna.trial.TrialState.COMPLETE in states
    assert all(t.intermediate_values for t in pruned)
    stopped = [v for _, v in loop.history if v.status is StatusType.STOPPED]
    assert len(stopped) == len(pruned)
    assert study.best_value == min(v.cost for _, v in loop.history
                                   if v.status is StatusType.SUCCESS)
