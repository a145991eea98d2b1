"""OptunaOptimizer with the real Optuna: TPE through our loop, failures told as FAIL,
multi-objective studies, restore from a journal, bad arguments."""

from __future__ import annotations

from typing import Any

import pytest

optuna = pytest.importorskip("optuna")

from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution  # noqa: E402
from optuna.trial import TrialState  # noqa: E402

from runner import OptimizationLoop, SerialRunner, ThreadPoolRunner  # noqa: E402
from runner.integrations.optuna import OptunaOptimizer  # noqa: E402

pytestmark = pytest.mark.integration
optuna.logging.set_verbosity(optuna.logging.WARNING)

SPACE = {"x": FloatDistribution(-5.0, 5.0)}


def quadratic(config: Any) -> float:
    """(x - 1)**2."""
    return (config["x"] - 1.0) ** 2


def fails_right(config: Any) -> float:
    """Raises for x > 2, else ``quadratic``."""
    if config["x"] > 2.0:
        raise ValueError("too far right")
    return quadratic(config)


def tpe_study(seed: int = 0) -> Any:
    return optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))


def test_tpe_40_trials_reaches_the_optimum() -> None:
    """Optuna TPE for 40 trials on two threads: every trial told, the best near x = 1."""
    study = tpe_study()
    loop = OptimizationLoop(OptunaOptimizer(study, SPACE, n_trials=40),
                            ThreadPoolRunner(quadratic, n_workers=2))
    loop.run()
    assert len(loop.history) == 40 == len(study.trials)
    assert all(t.state == TrialState.COMPLETE for t in study.trials)
    assert study.best_value < 0.05 and study.best_value == loop.incumbent[1].cost


def test_crashed_trials_are_told_as_failed() -> None:
    """CRASHED (and TIMEOUT/MEMORYOUT) trials are FAIL in the study; the rest COMPLETE."""
    study = tpe_study()
    loop = OptimizationLoop(OptunaOptimizer(study, SPACE, n_trials=20), SerialRunner(fails_right),
                            raise_if_retries_exceeded=False)
    loop.run()
    failed = [t for t in study.trials if t.state == TrialState.FAIL]
    assert failed and all(t.params["x"] > 2.0 for t in failed)
    assert len(failed) == len(loop.failed)


def test_timeout_is_told_as_failed() -> None:
    """A trial over its wall-time limit is FAIL in the study."""
    import time

    def slow(config: Any) -> float:
        time.sleep(5)
        return 0.0

    study = tpe_study()
    loop = OptimizationLoop(OptunaOptimizer(study, SPACE, n_trials=1),
                            SerialRunner(slow, walltime_limit=0.5))
    loop.run()
    assert [t.state for t in study.trials] == [TrialState.FAIL]


def test_multi_objective_study() -> None:
    """A two-direction study is told both objectives, in the runner's objectives order."""
    study = optuna.create_study(directions=["minimize", "minimize"],
                                sampler=optuna.samplers.RandomSampler(seed=0))
    runner = SerialRunner(lambda c: {"b": (c["x"] - 2.0) ** 2, "a": c["x"] ** 2},
                          objectives=["a", "b"])
    OptimizationLoop(OptunaOptimizer(study, SPACE, n_trials=10), runner).run()
    assert all(t.values == [t.params["x"] ** 2, (t.params["x"] - 2.0) ** 2]
               for t in study.trials)
    assert study.best_trials


def test_restore_rebuilds_the_study(tmp_path) -> None:
    """A resumed loop adds the journal's trials to a fresh study (params of every kind, values,
    failures) and asks only the trials still needed."""
    space = {"x": FloatDistribution(-5.0, 5.0), "n": IntDistribution(1, 5),
             "kind": CategoricalDistribution(["a", "b"])}
    journal = tmp_path / "j.jsonl"
    first = tpe_study()
    OptimizationLoop(OptunaOptimizer(first, space, n_trials=8), SerialRunner(fails_right),
                     raise_if_retries_exceeded=False, journal=journal).run()
    second = tpe_study()
    opt = OptunaOptimizer(second, space, n_trials=12)
    loop = OptimizationLoop(opt, SerialRunner(fails_right), raise_if_retries_exceeded=False,
                            journal=journal)
    assert [(t.params, t.state, t.values) for t in second.trials] == [
        (t.params, t.state, t.values) for t in first.trials]
    loop.run()
    assert len(second.trials) == 12 and len(loop.history) == 12


def test_bad_arguments_are_named() -> None:
    """A non-study, a search space that is not distributions, a bad n_trials: errors naming
    them."""
    with pytest.raises(TypeError, match="study must be an optuna.Study"):
        OptunaOptimizer(object(), SPACE)
    with pytest.raises(TypeError, match=r"search_space\['x'\] must be an optuna distribution"):
        OptunaOptimizer(tpe_study(), {"x": (0.0, 1.0)})
    with pytest.raises(ValueError, match="n_trials must be a positive int"):
        OptunaOptimizer(tpe_study(), SPACE, n_trials=0)
