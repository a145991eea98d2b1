"""Misuse that used to pass silently (issue 28 item 10): a runner or optimizer class given where
an instance belongs, and a trial's ``report`` called after the trial ended."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from runner import (
    AsyncioRunner,
    OptimizationLoop,
    ProcessPoolRunner,
    SerialRunner,
    ThreadPoolRunner,
    TrialEndedError,
)
from runner._core.reporting import Reporter
from runner.optimizers import RandomSearch
from trials import StatusType, TrialInfo

SPACE = {"x": (0.0, 1.0)}


def test_a_runner_class_is_refused_at_construction() -> None:
    """ProcessPoolRunner (the class) as the runner: a TypeError naming the parameter at
    construction, not `set_report_pump() missing 1 required positional argument` at run()."""
    with pytest.raises(TypeError, match=r"runner must be an instance, got the class "
                                        r"ProcessPoolRunner itself; build one first, e\.g\. "
                                        r"ProcessPoolRunner\(target, \.\.\.\)"):
        OptimizationLoop(RandomSearch(SPACE, seed=1), ProcessPoolRunner, n_trials_goal=3)


def test_an_optimizer_class_is_refused_at_construction() -> None:
    """The same for the optimizer."""
    with pytest.raises(TypeError, match="optimizer must be an instance, got the class "
                                        "RandomSearch itself"):
        OptimizationLoop(RandomSearch, SerialRunner(lambda c: 0.0), n_trials_goal=3)


def test_a_reporter_raises_after_its_trial_ended() -> None:
    """Reporter.end(): the next call raises TrialEndedError (a RuntimeError) naming the call."""
    report = Reporter()
    report(1, 0.5)
    report.end()
    with pytest.raises(TrialEndedError, match=r"report\(2, 0.4\) was called after its trial "
                                              r"ended") as info:
        report(2, 0.4)
    assert isinstance(info.value, RuntimeError)


@pytest.mark.parametrize("make", [SerialRunner, lambda t: ThreadPoolRunner(t, n_workers=1)],
                         ids=["serial", "thread"])
def test_a_report_kept_past_the_trial_raises(make: Any) -> None:
    """A target that keeps its report and calls it after returning gets TrialEndedError; the
    trial itself was a SUCCESS (before: the late report vanished without a word)."""
    kept: list[Any] = []

    def target(config: Any, report: Any) -> float:
        kept.append(report)
        report(1, 0.5)
        return 0.25

    with make(target) as runner:
        loop = OptimizationLoop(RandomSearch(SPACE, seed=1), runner, n_trials_goal=1)
        loop.run()
    [(_, value)] = list(loop.history)
    assert value.status is StatusType.SUCCESS
    with pytest.raises(TrialEndedError, match="after its trial ended"):
        kept[0](2, 0.4)


def test_a_report_kept_past_a_direct_run_or_an_async_trial_raises() -> None:
    """The same for ``runner.run`` (a report to nowhere) and an ``async def`` target."""
    kept: list[Any] = []

    def target(config: Any, report: Any) -> float:
        kept.append(report)
        return 0.0

    SerialRunner(target).run({"x": 0.5})
    with pytest.raises(TrialEndedError):
        kept[0](1, 0.1)

    async def atarget(config: Any, report: Any) -> float:
        kept.append(report)
        await asyncio.sleep(0)
        return 0.0

    with AsyncioRunner(atarget, n_workers=1) as runner:
        runner.submit_trial(TrialInfo({"x": 0.5}))
        runner.wait(10)
        assert [v.status for _, v in runner.iter_results()] == [StatusType.SUCCESS]
    with pytest.raises(TrialEndedError):
        kept[-1](1, 0.1)
