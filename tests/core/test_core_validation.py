"""Misuse fails at once, with a message naming the argument, the expectation and the value
(FAULTS G2, B4)."""

from __future__ import annotations

import math
import threading

import pytest

from runner import (
    LimitError,
    PreflightError,
    ProcessPoolRunner,
    RunnerClosedError,
    SerialRunner,
    ThreadPoolRunner,
)
from runner.testing import cost_of
from trials import TrialInfo


@pytest.mark.parametrize("name", ["walltime_limit", "cpu_time_limit", "memory_limit"])
@pytest.mark.parametrize(("value", "error", "match"), [
    (0, ValueError, "> 0"),
    (-1, ValueError, "> 0"),
    (math.nan, ValueError, "finite"),
    (math.inf, ValueError, "finite"),
    ("10", TypeError, "must be a number"),
    (True, TypeError, "must be a number"),
])
def test_bad_limits_are_refused(name, value, error, match):
    """Zero, negative, NaN, infinite and non-number limits fail at construction, naming it."""
    with pytest.raises(error, match=f"{name}.*{match}"):
        SerialRunner(cost_of, **{name: value})


def test_memory_limit_too_small_is_limit_error():
    """A memory limit below what a Python trial needs is a LimitError saying why."""
    with pytest.raises(LimitError, match="memory_limit=4 MB cannot be honoured"):
        SerialRunner(cost_of, memory_limit=4)


@pytest.mark.parametrize("grace", [-1, 11])
def test_grace_out_of_range_is_refused(grace):
    """The SIGTERM-to-SIGKILL grace must lie within 0..10 s."""
    with pytest.raises(ValueError, match="grace must be between 0 and 10"):
        SerialRunner(cost_of, walltime_limit=1, grace=grace)


@pytest.mark.parametrize("cls", [ProcessPoolRunner, ThreadPoolRunner])
@pytest.mark.parametrize(("n", "error", "match"), [
    (0, ValueError, "n_workers must be >= 1, got 0"),
    (-1, ValueError, "n_workers must be >= 1, got -1"),
    ("2", TypeError, "n_workers must be a positive int, got '2'"),
    (2.0, TypeError, "n_workers must be a positive int, got 2.0"),
    (True, TypeError, "n_workers must be a positive int, got True"),
])
def test_bad_n_workers_is_refused(cls, n, error, match):
    """n_workers must be a positive int; anything else fails at construction, naming it."""
    with pytest.raises(error, match=match):
        cls(cost_of, n_workers=n)


@pytest.mark.parametrize(("objectives", "error", "match"), [
    (3, TypeError, "objectives must be a name or a non-empty sequence"),
    ([], TypeError, "objectives must be a name or a non-empty sequence"),
    (["a", ""], TypeError, "objectives must be a name or a non-empty sequence"),
    (["a", "a"], ValueError, "objectives must be distinct"),
    ({"a": 1}, TypeError, "objectives must be a name or a non-empty sequence"),
])
def test_bad_objectives_are_refused(objectives, error, match):
    """objectives must be one name or distinct non-empty names."""
    with pytest.raises(error, match=match):
        SerialRunner(cost_of, objectives=objectives)


@pytest.mark.parametrize(("crash_cost", "error", "match"), [
    ([1.0], ValueError, "crash_cost has 1 values but there are 2 objectives"),
    ((1.0, 2.0, 3.0), ValueError, "crash_cost has 3 values but there are 2 objectives"),
    ("inf", TypeError, "crash_cost must be a float or one float per objective"),
    ((1.0, "x"), TypeError, "crash_cost must hold numbers"),
    (math.nan, ValueError, "crash_cost must not be NaN"),
])
def test_bad_crash_cost_is_refused(crash_cost, error, match):
    """crash_cost must be one number or one per objective, never NaN."""
    with pytest.raises(error, match=match):
        SerialRunner(cost_of, objectives=["a", "b"], crash_cost=crash_cost)


class HoldsLock:
    """A callable target that cannot be pickled: it holds a lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()

    def __call__(self, config):
        return 0.0


@pytest.mark.parametrize(("cls", "kwargs"), [
    (ProcessPoolRunner, {"n_workers": 1}),
    (SerialRunner, {"walltime_limit": 5}),
    (ThreadPoolRunner, {"n_workers": 1, "memory_limit": 500}),
])
def test_unpicklable_target_fails_preflight(cls, kwargs):
    """A target that cannot travel to worker processes fails at construction, saying why."""
    with pytest.raises(PreflightError, match="cannot travel to worker processes.*lock"):
        cls(HoldsLock(), **kwargs)


@pytest.mark.parametrize("cls", [SerialRunner, ThreadPoolRunner])
def test_unpicklable_target_is_fine_in_process(cls):
    """Without limits, serial and thread runners never pickle the target."""
    kwargs = {"n_workers": 1} if cls is ThreadPoolRunner else {}
    with cls(HoldsLock(), **kwargs) as runner:
        runner.submit_trial(TrialInfo({}))
        runner.wait(10)
        [(_, value)] = list(runner.iter_results())
        assert value.cost == 0.0


@pytest.mark.parametrize("bad", [{"x": 1}, None, ("config",)])
def test_submit_needs_a_trial_info(bad):
    """submit_trial takes a TrialInfo; anything else is a TypeError naming the type."""
    with SerialRunner(cost_of) as runner, pytest.raises(TypeError, match="takes a trials.TrialInfo"):
        runner.submit_trial(bad)


def test_submit_after_close_names_the_fix():
    """submit_trial on a closed runner is a RunnerClosedError (a RuntimeError) saying what to do."""
    runner = ProcessPoolRunner(cost_of, n_workers=1)
    runner.close()
    with pytest.raises(RunnerClosedError, match="closed ProcessPoolRunner; create a new runner"):
        runner.submit_trial(TrialInfo({"x": 1}))
    assert isinstance(RunnerClosedError("x"), RuntimeError)


@pytest.mark.parametrize(("worker_env", "error", "match"), [
    ([{"A": "1"}], ValueError, "worker_env has 1 entries for n_workers=2"),
    ([{"A": 1}, {"A": "2"}], TypeError, "worker_env values must map str to str"),
    ("A=1", TypeError, "worker_env must be a list"),
])
def test_bad_worker_env_is_refused(worker_env, error, match):
    """worker_env must give one str-to-str mapping per worker."""
    with pytest.raises(error, match=match):
        ProcessPoolRunner(cost_of, n_workers=2, worker_env=worker_env)


def test_worker_env_reaches_each_worker():
    """Each process-pool worker gets its own environment overlay (e.g. one GPU each)."""
    from runner.testing import drain

    with ProcessPoolRunner(_env_reader, n_workers=2,
                           worker_env=lambda i: {"CUDA_VISIBLE_DEVICES": str(i)}) as runner:
        for _ in range(8):
            runner.submit_trial(TrialInfo({}))
        devices = {v.additional_info["device"] for _, v in drain(runner, 8)}
    assert devices <= {"0", "1"} and devices


def _env_reader(config):
    import os

    return 0.0, {"device": os.environ.get("CUDA_VISIBLE_DEVICES")}
