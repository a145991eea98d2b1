"""A public conformance suite for runners: ``check_runner(make_runner)`` proves that a runner
keeps the contract of ``AbstractRunner`` (DESIGN §3), so a third-party backend can show it fits
any loop written against that contract.

``make_runner(target, **kwargs)`` must build a fresh runner around ``target`` (a module-level
function of this module, so it travels to worker processes by reference) with the given
runner keywords (``objectives``, ``crash_cost``, limits). A runner that only takes ``async def``
targets converts them with :func:`async_twin`. Every wait has a deadline: a runner that hangs
fails with an ``AssertionError`` saying what it was waiting for.

    from runner.testing import check_runner
    check_runner(lambda target, **kw: MyRunner(target, n_workers=2, **kw), n_workers=2)
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from runner._core.contract import AbstractRunner
from runner.errors import RunnerClosedError
from trials import StatusType, TrialInfo, TrialValue

__all__ = [
    "CHECKS", "MakeRunner", "async_twin", "check_runner", "drain", "wait_until",
    "cost_of", "echo", "raise_value_error", "sleep_for", "takes_seed", "takes_all_fields",
    "takes_var_kwargs",
]

MakeRunner = Callable[..., AbstractRunner]
"""``make_runner(target, **runner_kwargs) -> AbstractRunner``."""

Pair = tuple[TrialInfo, TrialValue]


# -- helpers ------------------------------------------------------------------------------------

def wait_until(predicate: Callable[[], Any], timeout: float, what: str,
               interval: float = 0.01) -> None:
    """Poll ``predicate`` until it is true; ``AssertionError`` naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def drain(runner: AbstractRunner, n: int, timeout: float = 30.0) -> list[Pair]:
    """Collect ``n`` results with ``wait``/``iter_results``; fail if they do not come in time."""
    results: list[Pair] = []
    deadline = time.monotonic() + timeout
    while True:
        results.extend(runner.iter_results())
        if len(results) >= n:
            return results
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"only {len(results)} of {n} results within {timeout:g} s "
                                 f"(is_running={runner.is_running()})")
        if not runner.is_running():
            results.extend(runner.iter_results())
            if len(results) < n:
                raise AssertionError(f"the runner stopped running with {len(results)} of {n} "
                                     "results yielded")
        runner.wait(min(left, 1.0))


def _returns_within(fn: Callable[[], Any], seconds: float, what: str) -> float:
    """Run ``fn`` in a thread; fail if it has not returned after ``seconds``; its duration."""
    done = threading.Event()
    t0 = time.monotonic()

    def call() -> None:
        fn()
        done.set()

    threading.Thread(target=call, daemon=True, name="conformance-call").start()
    if not done.wait(seconds):
        raise AssertionError(f"{what} did not return within {seconds:g} s")
    return time.monotonic() - t0


# -- conformance targets: module-level, so they travel by reference -----------------------------

def cost_of(config: Any) -> Any:
    """Returns ``config["x"]``."""
    return config["x"]


def echo(config: Any) -> Any:
    """Returns ``config["ret"]`` whatever it is (every return form, valid or not)."""
    return config["ret"]


def raise_value_error(config: Any) -> Any:
    """Raises ``ValueError(config["msg"])``."""
    raise ValueError(config["msg"])


def _sleep_marker(config: Any) -> None:
    folder = config.get("dir")
    if folder:
        name = os.path.join(folder, f"started-{config['id']}")
        with open(name + ".tmp", "w") as f:
            f.write(str(os.getpid()))
        os.replace(name + ".tmp", name)


def _stop_requested(config: Any) -> bool:
    folder = config.get("dir")
    return bool(folder) and os.path.exists(os.path.join(folder, "stop"))


def sleep_for(config: Any) -> Any:
    """Sleeps ``config["s"]`` seconds (writing its pid to ``dir/started-id`` first; returning
    early once ``dir/stop`` exists, so a thread that cannot be killed still ends); cost 0."""
    _sleep_marker(config)
    end = time.monotonic() + config["s"]
    while time.monotonic() < end and not _stop_requested(config):
        time.sleep(min(0.05, max(0.0, end - time.monotonic())))
    return 0.0


def takes_seed(config: Any, seed: Any) -> Any:
    """Accepts only ``seed``; reports it."""
    return 0.0, {"seed": seed}


def takes_all_fields(config: Any, instance: Any, seed: Any, budget: Any) -> Any:
    """Accepts every trial field; reports them."""
    return 0.0, {"instance": instance, "seed": seed, "budget": budget}


def takes_var_kwargs(config: Any, **kwargs: Any) -> Any:
    """Accepts ``**kwargs``; reports which keywords came."""
    return 0.0, {"keys": sorted(kwargs)}


async def cost_of_async(config: Any) -> Any:
    """``async`` twin of :func:`cost_of`."""
    return cost_of(config)


async def echo_async(config: Any) -> Any:
    """``async`` twin of :func:`echo`."""
    return echo(config)


async def raise_value_error_async(config: Any) -> Any:
    """``async`` twin of :func:`raise_value_error`."""
    return raise_value_error(config)


async def sleep_for_async(config: Any) -> Any:
    """``async`` twin of :func:`sleep_for` (awaits instead of blocking the loop)."""
    _sleep_marker(config)
    end = time.monotonic() + config["s"]
    while time.monotonic() < end and not _stop_requested(config):
        await asyncio.sleep(min(0.05, max(0.0, end - time.monotonic())))
    return 0.0


async def takes_seed_async(config: Any, seed: Any) -> Any:
    """``async`` twin of :func:`takes_seed`."""
    return takes_seed(config, seed)


async def takes_all_fields_async(config: Any, instance: Any, seed: Any, budget: Any) -> Any:
    """``async`` twin of :func:`takes_all_fields`."""
    return takes_all_fields(config, instance, seed, budget)


async def takes_var_kwargs_async(config: Any, **kwargs: Any) -> Any:
    """``async`` twin of :func:`takes_var_kwargs`."""
    return takes_var_kwargs(config, **kwargs)


_TWINS: dict[Callable[..., Any], Callable[..., Any]] = {
    cost_of: cost_of_async, echo: echo_async, raise_value_error: raise_value_error_async,
    sleep_for: sleep_for_async, takes_seed: takes_seed_async,
    takes_all_fields: takes_all_fields_async, takes_var_kwargs: takes_var_kwargs_async,
}


def async_twin(target: Callable[..., Any]) -> Callable[..., Any]:
    """The ``async def`` version of a conformance target (``KeyError`` for one without)."""
    return _TWINS[target]


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
        _returns_within(runner.wait, 2.0, "wait() with nothing submitted")
        runner.submit_trial(TrialInfo({"s": 0.0, "id": 0}))
        wait_until(lambda: not runner.is_running(), 10, "a 0 s trial to finish")
        _returns_within(runner.wait, 2.0, "wait() with a result not yet yielded")
        _returns_within(runner.wait, 2.0, "wait() again with a result not yet yielded")
        assert len(drain(runner, 1)) == 1
        _returns_within(runner.wait, 2.0, "wait() after everything was drained")
        if not _submits_async(runner):
            return
        runner.submit_trial(TrialInfo({"s": 1.0, "id": 1}))
        took = _returns_within(lambda: runner.wait(0.3), 5.0, "wait(0.3)")
        assert 0.25 <= took < 0.9, f"wait(0.3) returned after {took:.2f} s"
        took = _returns_within(runner.wait, 15.0, "wait() while a 1 s trial runs")
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
        check_is_running, check_close_cancels, check_closed, check_meta,
    )
}
"""Every conformance check by name; each takes ``(make_runner, n_workers)``."""


def check_runner(make_runner: MakeRunner, *, n_workers: int = 1,
                 skip: Iterable[str] = ()) -> None:
    """Run every check in :data:`CHECKS` (but ``skip``); raise the first failure, naming it."""
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
