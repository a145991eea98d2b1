"""A worker keeps its cores from one trial to the next (``{"cpu": 1}``): binding it to other
cores forces the kernel to migrate it, which costs far more than the binding itself (see the
resources section of docs/performance.md)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from runner import ProcessPoolRunner
from runner._core.resources import Allocator, Capacity, Need
from trials import StatusType, TrialInfo


def test_the_cores_freed_last_are_taken_first() -> None:
    """Fresh: the lowest ids first. Afterwards: the cores a trial just gave back go to the next
    trial, whatever their ids."""
    alloc = Allocator(Capacity((0, 1, 2, 3), (), None))
    a, b = alloc.allocate(Need(cpu=1)), alloc.allocate(Need(cpu=2))
    assert a is not None and b is not None and (a.cpus, b.cpus) == ((0,), (1, 2))
    alloc.free(b)
    alloc.free(a)
    assert alloc.allocate(Need(cpu=1)).cpus == (0,)  # type: ignore[union-attr]
    assert alloc.allocate(Need(cpu=2)).cpus == (1, 2)  # type: ignore[union-attr]


def pid(config: Any) -> tuple[float, dict[str, int]]:
    """Which worker process ran the trial."""
    return 0.0, {"pid": os.getpid()}


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs core affinity and two cores")
def test_each_worker_keeps_its_core_across_trials() -> None:
    """2 workers, {"cpu": 1} of 2 cores, 60 rounds of two no-op trials, each round starting
    when both workers are idle (the case where the last one to finish used to get the lowest
    free core, its partner's, half the time): every worker ran all its trials on one core."""
    cores = sorted(os.sched_getaffinity(0))[:2]
    out: list[Any] = []
    with ProcessPoolRunner(pid, n_workers=2, resources={"cpu": cores},
                           trial_resources={"cpu": 1}) as pool:
        for i in range(60):
            pool.submit_trial(TrialInfo({"i": i, "j": 0}))
            pool.submit_trial(TrialInfo({"i": i, "j": 1}))
            while pool.is_running():
                pool.wait(30.0)
            out.extend(pool.iter_results())
    assert len(out) == 120 and all(v.status == StatusType.SUCCESS for _, v in out)
    by_worker: dict[int, set[int]] = {}
    for _, value in out:
        by_worker.setdefault(value.additional_info["pid"], set()).update(
            value.additional_info["resources"]["cpu"])
    assert len(by_worker) == 2 and all(len(got) == 1 for got in by_worker.values()), by_worker
