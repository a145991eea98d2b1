"""``OptimizationLoop(..., wait_for_decisions=True)``: each report returns only once the
optimizer has decided on it, so a stop lands at exactly the decided step on every backend,
however short the steps; by default reports do not wait (issue 26)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from decisionhelpers import StopAt, instant, instant_async

import runner
from runner import AbstractRunner, OptimizationLoop
from runner.optimizers import ASHA
from trials import StatusType, TrialInfo, TrialValue

MAKERS: dict[str, Callable[[Any], Any]] = {
    "serial": lambda c: runner.SerialRunner(instant),
    "serial-limited": lambda c: runner.SerialRunner(instant, walltime_limit=60),
    "thread": lambda c: runner.ThreadPoolRunner(instant, n_workers=2),
    "thread-limited": lambda c: runner.ThreadPoolRunner(instant, n_workers=2,
                                                        walltime_limit=60),
    "process": lambda c: runner.ProcessPoolRunner(instant, n_workers=2),
    "asyncio": lambda c: runner.AsyncioRunner(instant_async, n_workers=4),
    "dask": lambda c: runner.DaskRunner(instant, client=c),
}


@pytest.fixture
def make(request: pytest.FixtureRequest) -> Callable[[], Any]:
    """The runner factory named by the test's ``backend`` parameter (dask: the session's
    cluster)."""
    name = request.param
    client = request.getfixturevalue("dask_client") if name == "dask" else None
    return lambda: MAKERS[name](client)


def _stopped(loop: OptimizationLoop) -> list[TrialValue]:
    return [v for _, v in loop.history if v.status is StatusType.STOPPED]


@pytest.mark.parametrize("make", ["process", "dask", "thread", "asyncio", "serial-limited"],
                         indirect=True)
def test_asha_stops_most_of_60_instant_trials(make: Callable[[], Any]) -> None:
    """ASHA (stopping type) on 60 trials whose 27 steps take no time: with waited reports at
    least 20 are STOPPED, each at a rung (1, 3 or 9), with exactly that many reports."""
    opt = ASHA({"x": (0.0, 1.0)}, 1, 27, eta=3, seed=0, n_configs=60)
    with make() as r:
        loop = OptimizationLoop(opt, r, wait_for_decisions=True)
        loop.run()
    stopped = _stopped(loop)
    assert len(loop.history) == 60
    assert len(stopped) >= 20, len(stopped)
    for info, value in loop.history:
        if value.status is StatusType.STOPPED:
            step = value.additional_info["stopped_at_step"]
            assert step in (1, 3, 9)
            assert [r.step for r in loop.history.curve(info)] == list(range(1, step + 1))


@pytest.mark.parametrize("make", list(MAKERS), indirect=True)
def test_a_stop_lands_at_exactly_the_decided_step(make: Callable[[], Any]) -> None:
    """Every trial is stopped on its 5th report: it ends STOPPED at step 5 with that step's
    cost and sent no report after it."""
    opt = StopAt(6, 5)
    with make() as r:
        loop = OptimizationLoop(opt, r, wait_for_decisions=True)
        loop.run()
    assert len(opt.told) == 6
    for info, value in loop.history:
        assert value.status is StatusType.STOPPED, value
        assert value.additional_info["stopped_at_step"] == 5
        assert value.cost == pytest.approx(info.config["x"] + 1 / 5)
        assert [r.step for r in loop.history.curve(info)] == [1, 2, 3, 4, 5]


def test_simulated_runner_takes_the_keyword() -> None:
    """The simulated runner decides before its clock moves on anyway: waiting changes
    nothing there, and the keyword is accepted."""
    def curve(config: Any, budget: float) -> Any:
        x, n = config["x"], int(budget)
        return x + 1 / n, {"runtime": float(n),
                           "curve": [(s, x + 1 / s, float(s)) for s in range(1, n + 1)]}

    opt = StopAt(4, 3, steps=9)
    with runner.SimulatedRunner(curve, n_workers=2) as r:
        loop = OptimizationLoop(opt, r, wait_for_decisions=True)
        loop.run()
    assert [v.additional_info["stopped_at_step"] for v in opt.told] == [3] * 4


def test_by_default_reports_do_not_wait() -> None:
    """The default stays asynchronous: while the optimizer takes 0.3 s over the first report,
    the trial's 27 instant reports go on and it ends SUCCESS; with waiting it is STOPPED at 1."""
    runs = {}
    for wait in (False, True):
        opt = StopAt(1, 1, think=0.3)
        with runner.ProcessPoolRunner(instant, n_workers=1) as r:
            loop = OptimizationLoop(opt, r, wait_for_decisions=wait)
            loop.run()
        runs[wait] = next(iter(loop.history))
    info, value = runs[False]
    assert value.status is StatusType.SUCCESS
    assert value.time < 0.3  # it never waited for the optimizer
    info, value = runs[True]
    assert value.status is StatusType.STOPPED
    assert value.additional_info["stopped_at_step"] == 1


def _reports(r: Any, deadline: float) -> Iterator[Any]:
    while time.monotonic() < deadline:
        yield from r.iter_reports()
        r.wait(0.05)


@pytest.mark.parametrize("name", ["thread", "process", "asyncio"])
def test_a_waiting_report_returns_only_on_its_answer(name: str) -> None:
    """At the runner: after ``set_wait_for_decisions(True)`` a trial's report waits until
    ``decide`` answers it; "continue" lets it go on to the next report, "stop" ends it there."""
    with MAKERS[name](None) as r:
        r.set_wait_for_decisions(True)
        info = TrialInfo({"x": 0.5}, budget=27.0)
        r.submit_trial(info)
        deadline = time.monotonic() + 30
        got = next(_reports(r, deadline))
        assert got[1].step == 1
        r.wait(0.2)  # time enough for 26 instant reports, were it not waiting
        assert list(r.iter_reports()) == []
        r.decide(info, "continue")
        got = next(_reports(r, deadline))
        assert got[1].step == 2
        r.decide(info, "stop")
        while not (results := list(r.iter_results())):
            assert time.monotonic() < deadline
            r.wait(0.05)
    value = results[0][1]
    assert value.status is StatusType.STOPPED and value.additional_info["stopped_at_step"] == 2


class _Raises(StopAt):
    def on_report(self, info: TrialInfo, report: Any) -> str:
        if report.step == 3:
            raise RuntimeError("the optimizer broke on a report")
        return "continue"


@pytest.mark.parametrize("make", ["thread", "process", "dask"], indirect=True)
def test_a_failed_loop_lets_its_waiting_trials_go_on(make: Callable[[], Any]) -> None:
    """A loop failing on ``on_report`` answers nothing more: the trial waiting on its report
    goes on (the runner answers its later reports itself, on dask from the client's event
    loop) and finishes."""
    with make() as r:
        loop = OptimizationLoop(_Raises(1, 99), r, wait_for_decisions=True)
        with pytest.raises(RuntimeError, match="broke on a report"):
            loop.run()
        deadline = time.monotonic() + 30
        while not (results := list(r.iter_results())):
            assert time.monotonic() < deadline, "the waiting trial never went on"
            r.wait(0.05)
    assert results[0][1].status is StatusType.SUCCESS


@pytest.mark.parametrize("name", ["thread", "asyncio", "process"])
def test_close_does_not_wait_for_an_unanswered_report(name: str) -> None:
    """Closing a runner whose trial waits on an unanswered report returns promptly."""
    r = MAKERS[name](None)
    try:
        r.set_wait_for_decisions(True)
        r.submit_trial(TrialInfo({"x": 0.5}, budget=27.0))
        next(_reports(r, time.monotonic() + 30))
    finally:
        t = time.monotonic()
        r.close()
    assert time.monotonic() - t < 5.0


def test_the_keyword_is_validated_at_construction() -> None:
    """A non-bool, or a runner that cannot make reports wait, fails at construction with a
    message naming the keyword."""
    with runner.SerialRunner(instant) as r, pytest.raises(
            TypeError, match=r"wait_for_decisions must be True or False, got 'yes' \(type str\)"):
        OptimizationLoop(StopAt(1, 1), r, wait_for_decisions="yes")  # type: ignore[arg-type]

    class Plain(AbstractRunner):
        def submit_trial(self, info: TrialInfo) -> None: ...
        def iter_results(self) -> Iterator[tuple[TrialInfo, TrialValue]]:
            return iter(())
        def wait(self, timeout: float | None = None) -> None: ...
        def is_running(self) -> bool:
            return False
        def count_available_workers(self) -> int:
            return 1

    with Plain(instant) as plain, pytest.raises(
            TypeError, match="wait_for_decisions=True needs a runner .* Plain has none"):
        OptimizationLoop(StopAt(1, 1), plain, wait_for_decisions=True)
    with Plain(instant) as plain:  # the default asks nothing of the runner
        OptimizationLoop(StopAt(1, 1), plain)
