"""FAULTS B: resource limits (memory over the limit, children, large results, limits that cannot
be honoured, limits on daemonic dask workers), on every backend that can enforce them."""

from __future__ import annotations

import multiprocessing
import os
import time

import faults_targets as ft
import pytest
import targets

from faults.conftest import FaultMaker, configs, one, real_limits
from runner import LimitError
from trials import StatusType


@configs("every_backend", real_limits)
def test_B1_memory_over_limit(every_backend: FaultMaker, tmp_path) -> None:
    """B1: allocating 2 GB under memory_limit=256 is MEMORYOUT naming the limit within 1 s of
    the allocation attempt; the driver and the backend live on (the next trial succeeds)."""
    dask_pids = every_backend.kwargs["client"].run(os.getpid) if every_backend.is_dask else None
    stamp = tmp_path / "stamp"
    with every_backend(ft.stamped_allocate, memory_limit=256) as runner:
        value = one(runner, {"mb": 2048, "stamp": str(stamp)})
        took = time.time() - float(stamp.read_text())
        assert value.status == StatusType.MEMORYOUT, value
        assert "memory_limit of 256 MB exceeded" in value.additional_info["error"]
        assert took < 1.0, f"MEMORYOUT {took:.2f} s after the allocation began"
        assert one(runner, {"mb": 50, "stamp": str(stamp)}).status == StatusType.SUCCESS
    if dask_pids is not None:
        assert every_backend.kwargs["client"].run(os.getpid) == dask_pids, "a dask worker died"


@configs("every_backend", real_limits)
def test_B2_children_allocate(every_backend: FaultMaker) -> None:
    """B2: the documented semantics (runner/_core/limits.py: the memory limit is per process, each
    child the trial starts may use as much again): 4 children of 200 MB each under
    memory_limit=256 all succeed; one child asking 2 GB fails alone."""
    with every_backend(targets.children_allocate, memory_limit=256) as runner:
        value = one(runner, {"n": 4, "mb": 200})
        assert value.status == StatusType.SUCCESS, value
        assert value.additional_info["ok"] == 4, value.additional_info
        value = one(runner, {"n": 1, "mb": 2048})
        assert value.status == StatusType.SUCCESS, value  # the trial itself is within limits
        assert value.additional_info["ok"] == 0, value.additional_info


@configs("every_backend", real_limits)
def test_B3_large_result(every_backend: FaultMaker) -> None:
    """B3: returning a 100 MB result under memory_limit=256 is SUCCESS with the whole result:
    shipping the result back is not the target's memory."""
    with every_backend(targets.big_result, memory_limit=256) as runner:
        value = one(runner, {"mb": 100})
    assert value.status == StatusType.SUCCESS, value.additional_info.get("error")
    assert len(value.additional_info["blob"]) == 100 * 2**20


def test_B4_limit_cannot_be_honoured(every_backend: FaultMaker) -> None:
    """B4: a memory limit below the interpreter's own needs, and (on AsyncioRunner) any memory
    or CPU limit, is a LimitError at construction saying why; nothing is started."""
    maker = every_backend
    target = maker.target(targets.act) if maker.is_async else targets.act
    if maker.is_async:
        for name in ("memory_limit", "cpu_time_limit"):
            with pytest.raises(LimitError, match=f"AsyncioRunner cannot enforce {name}: its "
                                                 "trials are coroutines sharing one process"):
                maker.build(maker.cls, target, **{name: 300})
        return
    with pytest.raises(LimitError, match="memory_limit=1 MB cannot be honoured: a Python trial "
                                         "needs at least 16 MB"):
        maker.build(maker.cls, target, memory_limit=1)


def test_B5_limits_on_daemonic_dask_workers(dask_client) -> None:
    """B5: on a cluster of nanny-managed (daemonic) workers, the wall, CPU and memory limits
    are all enforced; no trial is CRASHED for want of a process to run it in."""
    from runner import DaskRunner
    from runner.testing import drain
    from trials import TrialInfo

    daemonic = dask_client.run(lambda: multiprocessing.current_process().daemon)
    assert daemonic and all(daemonic.values())
    with DaskRunner(ft.limited, client=dask_client, walltime_limit=2, cpu_time_limit=0.5,
                    memory_limit=256) as runner:
        for what in ("sleep", "busy", "alloc", "ok"):
            runner.submit_trial(TrialInfo({"do": what}))
        got = {info.config["do"]: value for info, value in drain(runner, 4, timeout=60)}
    assert got["sleep"].status == StatusType.TIMEOUT
    assert "walltime_limit of 2 s" in got["sleep"].additional_info["error"]
    assert got["busy"].status == StatusType.TIMEOUT
    assert "cpu_time_limit of 0.5 s" in got["busy"].additional_info["error"]
    assert got["alloc"].status == StatusType.MEMORYOUT
    assert got["ok"].status == StatusType.SUCCESS
