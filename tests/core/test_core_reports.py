"""Reports of running trials, the pieces: the ``Report`` record, ``Decision``, the ``report``
callable a target gets, script report lines, and the runners that refuse report targets."""

from __future__ import annotations

import math

import pytest

from runner import Decision, SerialRunner, TrialStopped
from runner._core.reporting import AsyncReporter, Reporter
from runner._core.script import parse_report_line
from runner.errors import PreflightError, TrialEndedError
from trials import Report, StatusType, TrialInfo


def test_report_record_validates_and_round_trips() -> None:
    """A Report is frozen and validated; to_dict/from_dict give an equal one."""
    r = Report(3, 0.5, {"acc": 0.9}, 1.25)
    assert Report.from_dict(r.to_dict()) == r and r.to_dict()["metrics"] == {"acc": 0.9}
    assert Report(2, (1.0, 2.0)).cost == (1.0, 2.0)
    with pytest.raises(TypeError, match="Report.step must be a number"):
        Report("3", 0.5)
    with pytest.raises(ValueError, match="Report.step must be a finite number >= 0"):
        Report(-1, 0.5)
    with pytest.raises(TypeError, match="TrialValue.cost must be a number"):
        Report(1, "low")
    with pytest.raises(TypeError, match="Report.metrics must be a mapping"):
        Report(1, 0.5, [1])  # type: ignore[arg-type]


def test_decision_accepts_members_names_and_none() -> None:
    """Decision members equal their names; of() takes a member, a name in any case or None."""
    assert Decision.STOP == "stop" and Decision.of("STOP") is Decision.STOP
    assert Decision.of(None) is Decision.CONTINUE and Decision.of(Decision.PAUSE) is Decision.PAUSE
    with pytest.raises(ValueError, match="a report decision must be one of"):
        Decision.of("halt")
    assert StatusType.STOPPED == 6


def test_reporter_raises_once_stopped_and_on_every_call_after() -> None:
    """report() raises TrialStopped when its sink says stop, and again on later calls, carrying
    the step and cost of the report that was answered."""
    calls: list[Report] = []
    reporter = Reporter(lambda r: calls.append(r) or r.step >= 2)
    reporter(1, 0.9)
    with pytest.raises(TrialStopped) as info:
        reporter(2, 0.8, acc=0.5)
    assert (info.value.step, info.value.cost) == (2, 0.8) and calls[-1].metrics == {"acc": 0.5}
    with pytest.raises(TrialStopped, match="stopped at step 2"):
        reporter(3, 0.7)
    assert len(calls) == 2 and reporter.last == calls[-1]
    with pytest.raises(TypeError, match="Report.step"):
        Reporter()(None, 1.0)


def test_async_reporter_can_be_awaited_or_called() -> None:
    """An async target may call report plainly or await it."""
    import asyncio

    reporter = AsyncReporter()

    async def body() -> None:
        reporter(1, 0.5)
        await reporter(2, 0.4)

    asyncio.run(body())
    assert reporter.last is not None and reporter.last.step == 2


@pytest.mark.parametrize(("line", "expected"), [
    ("report: step=3; cost=0.5", (3, 0.5, {})),
    ("  report: cost=0.5; step=2.5; acc=0.9; phase=train", (2.5, 0.5, {"acc": 0.9,
                                                                     "phase": "train"})),
    ("report: step=1; cost=0.5, 0.25", (1, (0.5, 0.25), {})),
    ("report: step=x; cost=0.5", None),
    ("report: cost=0.5", None),
    ("cost=0.5; status=SUCCESS", None),
    ("reporting: step=1; cost=2", None),
])
def test_script_report_lines(line: str, expected: object) -> None:
    """A script's 'report: step=..; cost=..' line parses to (step, cost, metrics)."""
    assert parse_report_line(line) == expected


def test_a_script_report_line_is_never_its_result(tmp_path) -> None:
    """A script that printed reports but no result line is CRASHED for the missing result,
    not mistaken for a result with the last report's cost."""
    script = tmp_path / "s.sh"
    script.write_text("#!/bin/sh\necho 'report: step=1; cost=0.5'\n")
    script.chmod(0o755)
    with SerialRunner(str(script)) as runner:
        _, value = runner.run_wrapper(TrialInfo({}))
    assert value.status == StatusType.CRASHED and "no result line" in value.additional_info[
        "error"]


def _reporting(config: dict, report) -> float:  # type: ignore[no-untyped-def]
    report(1, 0.5)
    return 0.0


def test_the_executor_runner_refuses_report_targets_but_runs_scripts(tmp_path) -> None:
    """ExecutorRunner refuses a target naming report at construction, saying where to run it;
    a script target (whose reports are optional) it runs, its report lines ignored."""
    import concurrent.futures

    from runner import ExecutorRunner

    with concurrent.futures.ThreadPoolExecutor(1) as executor:
        with pytest.raises(PreflightError, match="cannot carry intermediate reports"):
            ExecutorRunner(_reporting, executor)
        script = tmp_path / "s.sh"
        script.write_text("#!/bin/sh\necho 'report: step=1; cost=0.5'\necho 'cost=0.25'\n")
        script.chmod(0o755)
        with ExecutorRunner(str(script), executor) as runner:
            runner.submit_trial(TrialInfo({}))
            runner.wait(10)
            [(_, value)] = list(runner.iter_results())
    assert value.status == StatusType.SUCCESS and value.cost == 0.25


def test_a_target_stopping_itself_without_a_report_is_stopped_at_crash_cost() -> None:
    """A target raising TrialStopped itself before any report ends STOPPED at crash_cost."""
    def stops(config, report):  # type: ignore[no-untyped-def]
        raise TrialStopped()

    with SerialRunner(stops, crash_cost=9.0) as runner:
        _, value = runner.run_wrapper(TrialInfo({}))
    assert value.status == StatusType.STOPPED and value.cost == 9.0
    assert value.additional_info["stopped_at_step"] is None and not math.isnan(value.cost)


def test_a_closed_reporter_drops_counts_and_logs_once(caplog) -> None:
    """Once its trial answered, a reporter sends nothing: each call is counted, the first one
    logged (a leftover thread's reports never reach the runner), and the caller is told with
    TrialEndedError (issue 28); in a forked child the call is dropped without raising."""
    calls: list[Report] = []
    reporter = Reporter(lambda r: calls.append(r) or False)
    reporter(1, 0.5)
    reporter.close()
    with caplog.at_level("WARNING", logger="runner._core.reporting"):
        for step, cost in ((2, 0.4), (3, 0.3)):
            with pytest.raises(TrialEndedError, match=r"report\(2, 0.4\)|report\(3, 0.3\)"):
                reporter(step, cost)
    assert [r.step for r in calls] == [1] and reporter.dropped == 2
    reporter.closed_by_fork()
    assert reporter(4, 0.2) is None and reporter.dropped == 3
    assert len([r for r in caplog.records if "after its trial answered" in r.message]) == 1
    assert reporter.last is not None and reporter.last.step == 1


def test_a_refused_report_is_not_the_last() -> None:
    """A report its sink refuses (raises) is not taken as the trial's last report."""
    def sink(report: Report) -> bool:
        if report.step == 2:
            raise ValueError("too large")
        return False

    reporter = Reporter(sink)
    reporter(1, 0.5)
    with pytest.raises(ValueError, match="too large"):
        reporter(2, 0.4)
    assert reporter.last is not None and reporter.last.step == 1
