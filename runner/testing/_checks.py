"""The checks of ``check_runner``, one function per rule of the contract."""


from __future__ import annotations

import json
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from typing import Any

from runner import AbstractRunner
from runner.errors import PreflightError, RunnerClosedError
from runner.testing._helpers import drain, returns_within, wait_until
from runner.testing._targets import (
    cost_of,
    echo,
    raise_value_error,
    reports_steps,
    sleep_for,
    takes_all_fields,
    takes_seed,
    takes_var_kwargs,
)
from trials import StatusType, TrialInfo, TrialValue

MakeRunner = Callable[..., AbstractRunner]
"""``make_runner(target, **runner_kwargs) -> AbstractRunner``."""


# -- the checks ---------------------------------------------------------------------------------

def _one(make_runner: MakeRunner, target: Callable[..., Any], config: dict[str, Any],
         **kwargs: Any) -> TrialValue:
    with make_runner(target, **kwargs) as runner:
        info = TrialInfo(config)
        runner.submit_trial(info)
        [(got, value)] = drain(runner, 1)
        assert got is info, "iter_results must yield the submitted TrialInfo object"
        assert not list(runner.iter_results()), "a result was yielded twice"
        return value


def check_success(make_runner: MakeRunner, n_workers: int) -> None:
    """A returned number is SUCCESS with that cost and sane timings."""
    before = time.time()
    value = _one(make_runner, cost_of, {"x": 0.25})
    assert value.status == StatusType.SUCCESS, value
    assert value.cost == 0.25
    assert value.time >= 0 and value.cpu_time >= 0
    assert before - 1 <= value.starttime <= value.endtime <= time.time() + 1, value


def check_raised(make_runner: MakeRunner, n_workers: int) -> None:
    """A raised exception is CRASHED with crash_cost, ``error`` (repr) and ``traceback``."""
    value = _one(make_runner, raise_value_error, {"msg": "boom 42"}, crash_cost=7.5)
    assert value.status == StatusType.CRASHED and value.cost == 7.5, value
    assert "ValueError" in value.additional_info["error"]
    assert "boom 42" in value.additional_info["error"]
    assert "ValueError: boom 42" in value.additional_info["traceback"]


_INVALID: list[tuple[Any, tuple[str, ...], str]] = [
    (None, ("cost",), "None"),
    (math.nan, ("cost",), "NaN"),
    (math.inf, ("cost",), "+inf"),
    (-math.inf, ("cost",), "-inf"),
    ("fast", ("cost",), "str"),
    ([1.0, 2.0], ("cost",), "2 cost(s)"),
    ({"speed": 1.0}, ("cost",), "speed"),
    (1.0, ("a", "b"), "2 cost(s)"),
    ([1.0, 2.0, 3.0], ("a", "b"), "3 cost(s)"),
    ({"a": 1.0, "b": 2.0, "c": 3.0}, ("a", "b"), "'c'"),
    ({"a": 1.0}, ("a", "b"), "'b'"),
    ({"a": 1.0, "b": math.nan}, ("a", "b"), "NaN"),
]


def check_invalid_returns(make_runner: MakeRunner, n_workers: int) -> None:
    """None, NaN, ±inf, non-numbers and wrong or unknown objectives are CRASHED, saying which."""
    for objectives in (("cost",), ("a", "b")):
        rows = [r for r in _INVALID if r[1] == objectives]
        crash = 9.0 if len(objectives) == 1 else (9.0, 8.0)
        with make_runner(echo, objectives=list(objectives), crash_cost=crash) as runner:
            infos = [TrialInfo({"ret": ret}) for ret, _, _ in rows]
            for info in infos:
                runner.submit_trial(info)
            got = {id(i): v for i, v in drain(runner, len(infos))}
        for info, (ret, _, needle) in zip(infos, rows, strict=True):
            value = got[id(info)]
            assert value.status == StatusType.CRASHED, (ret, value)
            assert value.cost == crash, (ret, value)
            assert needle in value.additional_info["error"], (ret, needle, value)


def check_return_forms(make_runner: MakeRunner, n_workers: int) -> None:
    """A number, a sequence, a reordered mapping and ``(cost, info)`` are all SUCCESS."""
    cases: list[tuple[Any, tuple[str, ...], Any, dict[str, Any]]] = [
        (3, ("cost",), 3.0, {}),
        ((0.5, {"note": "hi"}), ("cost",), 0.5, {"note": "hi"}),
        ([1.0, 2.0], ("a", "b"), (1.0, 2.0), {}),
        ((1.0, 2.0), ("a", "b"), (1.0, 2.0), {}),
        ({"b": 2.0, "a": 1.0}, ("a", "b"), (1.0, 2.0), {}),
        (({"b": 4.0, "a": 3.0}, {"k": [1, 2]}), ("a", "b"), (3.0, 4.0), {"k": [1, 2]}),
        ({"cost": 1.5}, ("cost",), 1.5, {}),
    ]
    for objectives in (("cost",), ("a", "b")):
        rows = [c for c in cases if c[1] == objectives]
        with make_runner(echo, objectives=list(objectives)) as runner:
            infos = [TrialInfo({"ret": ret}) for ret, *_ in rows]
            for info in infos:
                runner.submit_trial(info)
            got = {id(i): v for i, v in drain(runner, len(infos))}
        for info, (ret, _, cost, extra) in zip(infos, rows, strict=True):
            value = got[id(info)]
            assert value.status == StatusType.SUCCESS, (ret, value)
            assert value.cost == cost, (ret, value)
            for key, item in extra.items():
                assert value.additional_info[key] == item, (ret, value)


def check_trial_fields(make_runner: MakeRunner, n_workers: int) -> None:
    """seed/instance/budget reach the target only when its signature accepts them."""
    info = TrialInfo({"x": 1}, instance="inst-1", seed=7, budget=2.5)
    with make_runner(takes_seed) as runner:
        runner.submit_trial(info)
        [(_, value)] = drain(runner, 1)
        assert value.status == StatusType.SUCCESS, value
        assert value.additional_info == {"seed": 7}, value
    with make_runner(takes_all_fields) as runner:
        runner.submit_trial(info)
        [(_, value)] = drain(runner, 1)
        assert value.additional_info == {"instance": "inst-1", "seed": 7, "budget": 2.5}, value
    with make_runner(takes_var_kwargs) as runner:
        runner.submit_trial(info)
        [(_, value)] = drain(runner, 1)
        assert value.additional_info == {"keys": ["budget", "instance", "seed"]}, value
    with make_runner(cost_of) as runner:  # would raise TypeError if a field were passed
        runner.submit_trial(info)
        [(_, value)] = drain(runner, 1)
        assert value.status == StatusType.SUCCESS, value


def check_exactly_once(make_runner: MakeRunner, n_workers: int) -> None:
    """30 submitted trials come back each exactly once, paired with their own values."""
    with make_runner(cost_of) as runner:
        infos = [TrialInfo({"x": float(i)}) for i in range(30)]
        for info in infos:
            runner.submit_trial(info)
        results = drain(runner, 30)
        runner.wait(0.05)
        results.extend(runner.iter_results())
        assert not runner.is_running()
    assert len(results) == 30, f"{len(results)} results for 30 trials"
    assert {id(i) for i, _ in results} == {id(i) for i in infos}, "not the submitted objects"
    for info, value in results:
        assert value.status == StatusType.SUCCESS and value.cost == info.config["x"], value


def check_available_workers(make_runner: MakeRunner, n_workers: int) -> None:
    """count_available_workers is n_workers when idle, 0 when saturated, never negative."""
    with make_runner(sleep_for) as runner:
        assert runner.count_available_workers() == n_workers
        for i in range(n_workers + 2):
            runner.submit_trial(TrialInfo({"s": 0.3, "id": i}))
            assert 0 <= runner.count_available_workers() <= n_workers
        if runner.is_running():
            assert runner.count_available_workers() == 0, "saturated, yet workers reported free"
        seen = []
        deadline = time.monotonic() + 30
        while runner.is_running() and time.monotonic() < deadline:
            seen.append(runner.count_available_workers())
            runner.wait(0.05)
        drain(runner, n_workers + 2)
        assert min(seen, default=0) >= 0 and max(seen, default=0) <= n_workers, seen
        wait_until(lambda: runner.count_available_workers() == n_workers, 10,
                   "all workers to be free again")


def check_wait(make_runner: MakeRunner, n_workers: int) -> None:
    """wait() returns at once when idle or a result is waiting, else when a trial ends or the
    timeout passes."""
    with make_runner(sleep_for) as runner:
        returns_within(runner.wait, 2.0, "wait() with nothing submitted")
        runner.submit_trial(TrialInfo({"s": 0.0, "id": 0}))
        wait_until(lambda: not runner.is_running(), 10, "a 0 s trial to finish")
        returns_within(runner.wait, 2.0, "wait() with a result not yet yielded")
        returns_within(runner.wait, 2.0, "wait() again with a result not yet yielded")
        assert len(drain(runner, 1)) == 1
        returns_within(runner.wait, 2.0, "wait() after everything was drained")
        if not _submits_async(runner):
            return
        runner.submit_trial(TrialInfo({"s": 1.0, "id": 1}))
        took = returns_within(lambda: runner.wait(0.3), 5.0, "wait(0.3)")
        assert 0.25 <= took < 0.9, f"wait(0.3) returned after {took:.2f} s"
        took = returns_within(runner.wait, 15.0, "wait() while a 1 s trial runs")
        assert 0.3 < took, f"wait() returned after {took:.2f} s with nothing finished"
        assert len(drain(runner, 1)) == 1


def check_is_running(make_runner: MakeRunner, n_workers: int) -> None:
    """is_running is True while a trial is queued or runs, then False with its result drainable."""
    with make_runner(sleep_for) as runner:
        assert not runner.is_running()
        infos = [TrialInfo({"s": 0.2, "id": i}) for i in range(n_workers + 1)]
        for info in infos:
            runner.submit_trial(info)
        wait_until(lambda: not runner.is_running(), 30, "is_running() to turn False")
        results = list(runner.iter_results())
        assert {id(i) for i, _ in results} == {id(i) for i in infos}, "results not drainable"
        assert not list(runner.iter_results())


def check_close_cancels(make_runner: MakeRunner, n_workers: int) -> None:
    """close() ends running trials within seconds: every trial comes back CANCELLED, once, and an
    isolated trial's process is gone."""
    folder = tempfile.mkdtemp(prefix="conformance-")
    runner = make_runner(sleep_for)
    try:
        if not _submits_async(runner):
            return  # a synchronous submit: nothing can be running when close() is called
        infos = [TrialInfo({"s": 60.0, "id": i, "dir": folder}) for i in range(n_workers + 2)]
        for info in infos:
            runner.submit_trial(info)
        started = [os.path.join(folder, f"started-{i}") for i in range(n_workers)]
        wait_until(lambda: all(os.path.exists(p) for p in started), 30,
                   f"{n_workers} sleepers to start")
        pids = {int(open(p).read()) for p in started} - {os.getpid()}
        t0 = time.monotonic()
        runner.close()
        took = time.monotonic() - t0
        assert took < 5.0, f"close() took {took:.1f} s with sleepers running"
        results = drain(runner, len(infos), timeout=10)
        assert sorted(id(i) for i, _ in results) == sorted(id(i) for i in infos)
        for _, value in results:
            assert value.status == StatusType.CANCELLED, value
        assert not runner.is_running()
        wait_until(lambda: not any(_alive(pid) for pid in pids), 5,
                   f"the sleepers' processes {sorted(pids)} to end")
    finally:
        open(os.path.join(folder, "stop"), "w").close()  # let threads that cannot be killed end
        runner.close()


def check_closed(make_runner: MakeRunner, n_workers: int) -> None:
    """close() is idempotent; submit_trial afterwards raises RunnerClosedError."""
    runner = make_runner(cost_of)
    runner.close()
    runner.close()
    try:
        runner.submit_trial(TrialInfo({"x": 1.0}))
    except RunnerClosedError as exc:
        assert "closed" in str(exc)
    else:
        raise AssertionError("submit_trial() after close() did not raise RunnerClosedError")
    assert not runner.is_running()


def check_meta(make_runner: MakeRunner, n_workers: int) -> None:
    """meta is JSON-serialisable and names the class, backend and target."""
    with make_runner(cost_of, walltime_limit=30.0) as runner:
        meta = json.loads(json.dumps(runner.meta))
    assert meta["class"] == type(runner).__name__
    assert isinstance(meta["backend"], str) and meta["backend"]
    assert "cost_of" in meta["target"]


def check_reports(make_runner: MakeRunner, n_workers: int) -> None:
    """A target naming ``report`` has its reports yielded once each, in order, by
    ``iter_reports`` (``wait`` returns for them); ``decide(info, "stop")`` ends it STOPPED at
    most one step after the decided one, with that step's cost. A runner that cannot carry
    reports refuses such a target at construction (``PreflightError``)."""
    try:
        runner = make_runner(reports_steps)
    except PreflightError as exc:
        assert "report" in str(exc), f"the refusal must say why: {exc}"
        return
    with runner:
        info = TrialInfo({"n": 200, "every": 0.01})
        seen: list[Any] = []

        def take() -> None:  # also the pump of a runner that runs trials in the caller's thread
            for got, report in runner.iter_reports():
                assert got is info, "iter_reports must yield the submitted TrialInfo object"
                seen.append(report)
                if report.step == 5:
                    runner.decide(info, "stop")

        runner.set_report_pump(take)
        runner.submit_trial(info)
        results: list[tuple[TrialInfo, TrialValue]] = []
        deadline = time.monotonic() + 30.0
        while not results:
            assert time.monotonic() < deadline, f"no result within 30 s ({len(seen)} reports)"
            take()
            results.extend(runner.iter_results())
            if not results:
                runner.wait(1.0)
        take()
        [(got, value)] = results
    steps = [r.step for r in seen]
    assert steps == list(range(1, len(steps) + 1)), f"reports lost, repeated or reordered: {steps}"
    assert all(r.metrics == {"phase": "train"} for r in seen), seen[:2]
    assert value.status == StatusType.STOPPED, value
    step = value.additional_info["stopped_at_step"]
    assert step in (5, 6), f"stopped at step {step}, decided at 5"
    assert value.cost == 1.0 / step, value


def _submits_async(runner: AbstractRunner) -> bool:
    """Whether ``submit_trial`` returns before the trial ends (probed with a 0.3 s trial)."""
    t0 = time.monotonic()
    runner.submit_trial(TrialInfo({"s": 0.3, "id": "probe"}))
    synchronous = time.monotonic() - t0 >= 0.25
    drain(runner, 1)
    return not synchronous


def _alive(pid: int) -> bool:
    try:
        import psutil

        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except Exception:
        return False


CHECKS: dict[str, Callable[[MakeRunner, int], None]] = {
    f.__name__[len("check_"):]: f for f in (
        check_success, check_raised, check_invalid_returns, check_return_forms,
        check_trial_fields, check_exactly_once, check_available_workers, check_wait,
        check_is_running, check_close_cancels, check_closed, check_meta, check_reports,
    )
}
"""Every conformance check by name; each takes ``(make_runner, n_workers)``."""


def check_runner(make_runner: MakeRunner, *, n_workers: int = 1,
                 skip: Iterable[str] = ()) -> None:
    """Run every check in `CHECKS` (but ``skip``); raise the first failure, naming it."""
    skipped = set(skip)
    unknown = skipped - set(CHECKS)
    if unknown:
        raise ValueError(f"skip names unknown checks {sorted(unknown)}; known: {sorted(CHECKS)}")
    for name, check in CHECKS.items():
        if name in skipped:
            continue
        try:
            check(make_runner, n_workers)
        except AssertionError as exc:
            raise AssertionError(f"conformance check {name!r} failed: {exc}") from exc
