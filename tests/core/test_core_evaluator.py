"""The evaluator's one exception-to-status ladder (``Evaluator.failure`` in
``runner/_core/evaluator.py``): a synchronous target, an ``async def`` target and a ``run``
override that raise the same thing end with the same status and error."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from runner._core.adapt import as_target
from runner._core.evaluator import Evaluator
from runner._core.limits import Limits
from runner._core.reporting import AsyncReporter, Reporter
from runner._core.returns import InvalidReturn, Objectives, Outcome
from runner.errors import TrialStopped
from trials import StatusType, TrialInfo

CRASH = 99.0
INFO = TrialInfo({"x": 1.0})


def _evaluator(target: Any, **limits: Any) -> Evaluator:
    return Evaluator(as_target(target, allow_async=True), Objectives("cost", CRASH),
                     Limits(**limits))


def _stopping_send(report: Any) -> bool:
    return True  # the decision on every report: stop


def _raiser(exc: BaseException, after_stop: bool) -> Callable[..., Any]:
    """A target body raising ``exc``; ``after_stop``: first report, be told to stop, catch
    that and raise ``exc`` while unwinding."""
    def body(report: Any) -> None:
        if after_stop:
            try:
                report(1, 0.5)
            except TrialStopped:
                raise exc from None
        raise exc
    return body


def run_sync(exc: BaseException, after_stop: bool = False, **limits: Any) -> Outcome:
    """``exc`` raised by a synchronous target."""
    body = _raiser(exc, after_stop)

    def target(config: Any, report: Any) -> float:
        body(report)
        return 0.0

    return _evaluator(target, **limits).run(INFO.config, None, None, None, {},
                                            Reporter(_stopping_send))


def run_async(exc: BaseException, after_stop: bool = False, **limits: Any) -> Outcome:
    """``exc`` raised by an ``async def`` target."""
    body = _raiser(exc, after_stop)

    async def target(config: Any, report: Any) -> float:
        body(report)
        return 0.0

    return asyncio.run(_evaluator(target, **limits).run_async(
        INFO, {}, None, AsyncReporter(_stopping_send)))


def run_override(exc: BaseException, after_stop: bool = False, **limits: Any) -> Outcome:
    """``exc`` raised by a synchronous ``run`` override (no reports: ``after_stop`` unused)."""
    def run(config: Any, **_: Any) -> float:
        raise exc

    return _evaluator(lambda config: 0.0, **limits)._run_override(run, INFO)


PATHS = [run_sync, run_async, run_override]

LADDER = [  # (what is raised, after a stop decision, limits, status, error_type)
    (TrialStopped(None, None), False, {}, StatusType.STOPPED, None),
    (MemoryError(), False, {}, StatusType.CRASHED, "MemoryError"),
    (MemoryError(), False, {"memory": 512}, StatusType.MEMORYOUT, "MemoryError"),
    (InvalidReturn("no cost in the output"), False, {}, StatusType.CRASHED, "InvalidReturn"),
    (ValueError("bad"), False, {}, StatusType.CRASHED, "ValueError"),
    (SystemExit(3), False, {}, StatusType.CRASHED, "SystemExit"),
    (TimeoutError("the target's own"), False, {}, StatusType.CRASHED, "TimeoutError"),
    (ValueError("while unwinding"), True, {}, StatusType.STOPPED, None),
]


CASES = [pytest.param(path, *case, id=f"{path.__name__}-{type(case[0]).__name__}"
                      f"{'-after-stop' if case[1] else ''}{'-limited' if case[2] else ''}")
         for path in PATHS for case in LADDER
         if not (case[1] and path is run_override)]  # an override gets no report callable


@pytest.mark.parametrize(("path", "exc", "after_stop", "limits", "status", "error_type"), CASES)
def test_the_ladder_is_the_same_for_every_call_path(
        path: Callable[..., Outcome], exc: BaseException, after_stop: bool,
        limits: dict[str, Any], status: StatusType, error_type: str | None) -> None:
    """What a target raises maps to one status, whether it is called, awaited or overridden."""
    outcome = path(exc, after_stop, **limits)
    assert outcome.status == status
    assert outcome.additional_info.get("error_type") == error_type
    if status == StatusType.STOPPED:
        assert outcome.cost == (0.5 if after_stop else CRASH)
    else:
        assert outcome.cost == CRASH
    if isinstance(exc, InvalidReturn):  # an adapter's verdict: its message is the error
        assert outcome.additional_info["error"] == "no cost in the output"


def test_an_awaited_target_over_its_walltime_is_timeout() -> None:
    """Only an awaited call has a timeout of the runner's own: TIMEOUT, not the target's error."""
    async def slow(config: Any) -> float:
        await asyncio.sleep(30)
        return 0.0

    outcome = asyncio.run(_evaluator(slow, walltime=0.05).run_async(INFO, {}))
    assert outcome.status == StatusType.TIMEOUT
    assert outcome.additional_info["error"] == "walltime_limit of 0.05 s exceeded"


@pytest.mark.parametrize(("by_stop", "status"), [(False, StatusType.CANCELLED),
                                                 (True, StatusType.STOPPED)])
def test_an_awaited_target_cancelled_is_cancelled_or_stopped(by_stop: bool,
                                                            status: StatusType) -> None:
    """A cancelled task is CANCELLED (the runner closed), or STOPPED when the cancellation
    ended a trial that ignored its stop decision."""
    async def main() -> Outcome:
        started = asyncio.Event()

        async def forever(config: Any) -> float:
            started.set()
            await asyncio.sleep(30)
            return 0.0

        task = asyncio.ensure_future(_evaluator(forever).run_async(
            INFO, {}, stop_cancelled=lambda: by_stop))
        await asyncio.wait_for(started.wait(), 10)
        task.cancel()
        return await task

    outcome = asyncio.run(main())
    assert outcome.status == status
