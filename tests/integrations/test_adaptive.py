"""AdaptiveOptimizer with the real adaptive: Learner1D, Learner2D, LearnerND and
BalancingLearner through our loop, the loss goal, failures, a learner that is done, restore."""

from __future__ import annotations

import math
from typing import Any

import pytest

adaptive = pytest.importorskip("adaptive")

from runner import OptimizationLoop, SerialRunner, ThreadPoolRunner  # noqa: E402
from runner.integrations.adaptive import AdaptiveOptimizer, loss_goal  # noqa: E402

pytestmark = pytest.mark.integration


def peak(config: Any) -> float:
    """A sharp peak at 0.3 on a slope."""
    x = config["x"]
    return x + math.exp(-((x - 0.3) ** 2) / 0.01)


def ring(config: Any) -> float:
    """A ring in 2-D (or N-D: the first two coordinates)."""
    x, y = config["x"][:2]
    return math.exp(-((x**2 + y**2 - 0.5) ** 2) / 0.01)


def scaled(config: Any) -> float:
    """``peak`` times the BalancingLearner index + 1."""
    return (config["learner"] + 1) * peak(config)


def never_learnt(x: Any) -> float:
    raise AssertionError("the learner's own function is never called: the runner evaluates")


def test_learner1d_50_points() -> None:
    """Learner1D for 50 points on two threads: the learner holds every told point, and points
    cluster around the peak."""
    learner = adaptive.Learner1D(never_learnt, bounds=(-1.0, 1.0))
    loop = OptimizationLoop(AdaptiveOptimizer(learner, npoints_goal=50),
                            ThreadPoolRunner(peak, n_workers=2))
    loop.run()
    assert learner.npoints == 50 == len(loop.history)
    near = sum(abs(x - 0.3) < 0.15 for x in learner.data)
    assert near > 50 * 0.15, "points did not concentrate on the peak"
    assert all(learner.data[i.config["x"]] == v.cost for i, v in loop.history)


def test_learner2d_and_nd_with_loss_goal() -> None:
    """Learner2D and LearnerND: points arrive as tuples; loss_goal stops the loop."""
    for learner in (adaptive.Learner2D(never_learnt, bounds=[(-1, 1), (-1, 1)]),
                    adaptive.LearnerND(never_learnt, bounds=[(-1, 1), (-1, 1)])):
        loop = OptimizationLoop(AdaptiveOptimizer(learner), SerialRunner(ring),
                                goal=loss_goal(0.1), n_trials_goal=400)
        loop.run()
        assert all(isinstance(i.config["x"], tuple) for i, _ in loop.history)
        assert learner.loss() <= 0.1 or len(loop.history) == 400
        assert learner.npoints == len(loop.history)


def test_balancing_learner() -> None:
    """BalancingLearner: each point carries its learner's index; every learner is fed."""
    learners = [adaptive.Learner1D(never_learnt, bounds=(-1.0, 1.0)) for _ in range(3)]
    balancer = adaptive.BalancingLearner(learners)
    loop = OptimizationLoop(AdaptiveOptimizer(balancer, npoints_goal=60), SerialRunner(scaled))
    loop.run()
    assert {i.config["learner"] for i, _ in loop.history} == {0, 1, 2}
    assert sum(lr.npoints for lr in learners) == 60
    assert repr(loss_goal(0.5)) == "loss_goal(0.5)"


def test_done_learner_ends_the_loop() -> None:
    """A SequenceLearner that is done ends the loop with no goal set."""
    learner = adaptive.SequenceLearner(never_learnt, sequence=[0.1, 0.2, 0.3])
    loop = OptimizationLoop(AdaptiveOptimizer(learner), SerialRunner(lambda c: c["x"][1]))
    loop.run()
    assert learner.done() and len(loop.history) == 3


def test_failed_points_are_not_told() -> None:
    """A crashed point is not told (it stays pending); the rest of the study goes on."""
    def fails_left(config: Any) -> float:
        if config["x"] < -0.5:
            raise ValueError("left")
        return peak(config)

    learner = adaptive.Learner1D(never_learnt, bounds=(-1.0, 1.0))
    opt = AdaptiveOptimizer(learner, npoints_goal=20)
    loop = OptimizationLoop(opt, SerialRunner(fails_left), raise_if_retries_exceeded=False)
    loop.run()
    assert opt.n_failed == len(loop.failed) > 0
    assert all(x >= -0.5 for x in learner.data)


def test_restore_tells_the_learner(tmp_path) -> None:
    """A resumed loop tells a fresh learner the journal's points, then continues to the goal."""
    journal = tmp_path / "j.jsonl"
    first = adaptive.Learner2D(never_learnt, bounds=[(-1, 1), (-1, 1)])
    OptimizationLoop(AdaptiveOptimizer(first, npoints_goal=20), SerialRunner(ring),
                     journal=journal).run()
    second = adaptive.Learner2D(never_learnt, bounds=[(-1, 1), (-1, 1)])
    loop = OptimizationLoop(AdaptiveOptimizer(second, npoints_goal=30), SerialRunner(ring),
                            journal=journal)
    assert second.data == first.data
    loop.run()
    assert second.npoints == 30


def test_bad_arguments_are_named() -> None:
    """A non-learner, a bad npoints_goal, a negative loss goal: errors naming them."""
    with pytest.raises(TypeError, match="learner must be an adaptive learner"):
        AdaptiveOptimizer(object())
    with pytest.raises(ValueError, match="npoints_goal must be a positive int"):
        AdaptiveOptimizer(adaptive.Learner1D(never_learnt, (0, 1)), npoints_goal=0)
    with pytest.raises(ValueError, match="loss must be a number >= 0"):
        loss_goal(-1)
