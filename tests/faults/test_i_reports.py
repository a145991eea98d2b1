"""FAULTS I: intermediate reports and stop decisions (issue 19) on every backend: a trial that
reports every 10 ms is stopped at most one step after the decision, STOPPED with that step's
cost; one that ignores the stop is ended within grace + 1 s where the backend can end it."""

from __future__ import annotations

import time
from typing import Any

import faults_targets as ft
from contract.conftest import Backend

from faults.conftest import FaultMaker, carries_reports, configs, real_time
from trials import StatusType, TrialInfo, TrialValue

GRACE = 0.25


def stop_at(runner: Any, config: dict[str, Any], step: int, timeout: float = 30.0
            ) -> tuple[TrialValue, float, list[Any]]:
    """Run one trial, decide "stop" on its report of ``step``; its value, the seconds from
    the decision to its result, and the reports seen."""
    info = TrialInfo(config)
    seen: list[Any] = []
    decided: list[float] = []

    def take() -> None:
        for got, report in runner.iter_reports():
            seen.append(report)
            if report.step == step:
                decided.append(time.monotonic())
                runner.decide(got, "stop")

    runner.set_report_pump(take)
    runner.submit_trial(info)
    deadline = time.monotonic() + timeout
    while True:
        take()
        results = list(runner.iter_results())
        if results:
            ended = time.monotonic()
            break
        assert time.monotonic() < deadline, f"no result within {timeout} s ({len(seen)} reports)"
        runner.wait(0.5)
    [(_, value)] = results
    assert decided, f"the trial never reported step {step}: {seen}"
    return value, ended - decided[0], seen


def _build(maker: FaultMaker, target: Any, **kwargs: Any) -> Any:
    return maker(target, grace=GRACE, **kwargs)


@configs("any_config", carries_reports)
def test_I1_stopped_within_one_step(any_config: FaultMaker) -> None:
    """I1: a target reporting every 10 ms is stopped at the decided step or the next one,
    STOPPED with that step's cost and the step in additional_info."""
    with _build(any_config, ft.reports_every) as runner:
        n = 20 if any_config.is_simulated else 500  # simulated: the target runs to its end
        value, latency, seen = stop_at(runner, {"n": n, "every": 0.01}, 5)
    assert value.status == StatusType.STOPPED, value
    step = value.additional_info["stopped_at_step"]
    assert step in (5, 6), (step, [r.step for r in seen])
    assert value.cost == 1.0 / step
    if not any_config.is_simulated:
        assert latency < 1.0, f"{latency:.3f} s from the decision to the result"


def _can_end_a_trial(backend: Backend) -> bool:
    """Not simulated (it ends a trial itself at the decision: test I1), not a trial in the
    driver's own thread (it cannot be killed; docs/early-stopping.md), takes report targets."""
    return (real_time(backend) and (backend.isolates or backend.async_targets)
            and carries_reports(backend))


@configs("any_config", _can_end_a_trial)
def test_I2_ignoring_the_stop(any_config: FaultMaker) -> None:
    """I2: a target that swallows TrialStopped and goes on ends within grace + 1 s of the
    decision where the backend can end it (a worker process, a coroutine), STOPPED with the
    cost of its last report; an inline thread cannot be ended (documented) and runs on."""
    for quiet in (False, True):
        with _build(any_config, ft.ignores_stop) as runner:
            value, latency, seen = stop_at(
                runner, {"n": 3000, "every": 0.01, "quiet": quiet}, 5)
        assert latency < GRACE + 1.0, f"ended {latency:.2f} s after the decision"
        assert value.status == StatusType.STOPPED, value
        assert value.additional_info["stopped_at_step"] in (5, 6, 7), value
        assert value.cost == 1.0 / value.additional_info["stopped_at_step"]
