"""The three limits on every backend: TIMEOUT and MEMORYOUT naming the limit, and the runner
runs the next trial normally afterwards."""

from __future__ import annotations

import time

import pytest
import targets

from contract.conftest import BACKENDS
from runner import LimitError
from runner.testing import drain
from trials import StatusType, TrialInfo

SIMULATED = ("SimulatedRunner's limits are simulated seconds on the runtime a trial reports (a "
             "real sleeper would really sleep) and it refuses memory_limit; tested in "
             "tests/backends/test_simulated.py")


def _on(keep) -> pytest.MarkDecorator:
    """``make_runner`` over the backends ``keep`` accepts: a case that cannot exist on a backend
    is not generated there."""
    return pytest.mark.parametrize("make_runner", [pytest.param(b, id=b.name) for b in BACKENDS
                                                   if keep(b)], indirect=True)


REAL_TIME = _on(lambda b: b.name != "simulated")
"""Limits on real time: not on SimulatedRunner (``SIMULATED``)."""
PROCESS_LIMITS = _on(lambda b: b.name != "simulated" and not b.async_targets)
"""CPU and memory limits: neither on SimulatedRunner nor on AsyncioRunner, which refuses them at
construction (``test_asyncio_refuses_process_limits``)."""


def _then_ok(runner) -> None:
    info = TrialInfo({"id": 7, "action": "ok"})
    runner.submit_trial(info)
    [(got, value)] = drain(runner, 1)
    assert got is info and value.status == StatusType.SUCCESS and value.cost == 7.0, value


@REAL_TIME
def test_walltime_limit_is_timeout(make_runner):
    """A 30 s sleeper under walltime_limit=1 is TIMEOUT naming the limit within 3 s."""
    with make_runner(targets.act, walltime_limit=1, crash_cost=5.0) as runner:
        t0 = time.monotonic()
        runner.submit_trial(TrialInfo({"id": 0, "action": "sleep", "s": 30.0}))
        [(_, value)] = drain(runner, 1)
        took = time.monotonic() - t0
        assert value.status == StatusType.TIMEOUT, value
        assert value.cost == 5.0
        assert "walltime_limit of 1 s" in value.additional_info["error"]
        assert took < 3.0, f"TIMEOUT after {took:.1f} s"
        _then_ok(runner)


@PROCESS_LIMITS
def test_cpu_time_limit_is_timeout(make_runner):
    """A spinning target under cpu_time_limit=1 is TIMEOUT naming the CPU-time limit."""
    with make_runner(targets.spin, cpu_time_limit=1) as runner:
        t0 = time.monotonic()
        runner.submit_trial(TrialInfo({"s": 20.0}))
        [(_, value)] = drain(runner, 1)
        took = time.monotonic() - t0
        assert value.status == StatusType.TIMEOUT, value
        assert "cpu_time_limit of 1 s" in value.additional_info["error"]
        assert took < 10.0, f"TIMEOUT after {took:.1f} s"
        runner.submit_trial(TrialInfo({"s": 0.0}))
        [(_, value)] = drain(runner, 1)
        assert value.status == StatusType.SUCCESS, value


@PROCESS_LIMITS
def test_memory_limit_is_memoryout(make_runner):
    """Allocating 2 GB under memory_limit=300 is MEMORYOUT naming the limit."""
    with make_runner(targets.allocate, memory_limit=300) as runner:
        runner.submit_trial(TrialInfo({"mb": 2048}))
        [(_, value)] = drain(runner, 1)
        assert value.status == StatusType.MEMORYOUT, value
        assert "memory_limit of 300 MB" in value.additional_info["error"]
        runner.submit_trial(TrialInfo({"mb": 10}))
        [(_, value)] = drain(runner, 1)
        assert value.status == StatusType.SUCCESS, value


@pytest.mark.parametrize("limit", ["memory_limit", "cpu_time_limit"])
def test_asyncio_refuses_process_limits(limit):
    """AsyncioRunner refuses memory and CPU limits at construction, naming the limit."""
    from runner import AsyncioRunner

    with pytest.raises(LimitError, match=limit):
        AsyncioRunner(targets.act_async, n_workers=2, **{limit: 100})


def test_asyncio_refuses_sync_targets():
    """AsyncioRunner takes only async def targets; a plain function is a TypeError."""
    from runner import AsyncioRunner

    with pytest.raises(TypeError, match="async def"):
        AsyncioRunner(targets.act, n_workers=2)
