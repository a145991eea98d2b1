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


_AFFINITY = pytest.mark.skipif(
    not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="needs core affinity and two cores")


def seen(config: Any) -> tuple[float, dict[str, Any]]:
    """What the trial's own process has: cores, thread count, devices; with ``config["move"]``
    it binds itself to other cores (a trial may), which must not reach the next trial."""
    got = {"pid": os.getpid(), "cores": sorted(os.sched_getaffinity(0)),
           "omp": os.environ.get("OMP_NUM_THREADS"),
           "devices": os.environ.get("CUDA_VISIBLE_DEVICES")}
    if config.get("move") is not None:
        os.sched_setaffinity(0, config["move"])
    return 0.0, got


def _in_order(pool: ProcessPoolRunner, infos: list[TrialInfo]) -> list[dict[str, Any]]:
    """Run the trials one after the other on the pool's one worker; what each saw."""
    out: list[dict[str, Any]] = []
    for info in infos:
        pool.submit_trial(info)
        while pool.is_running():
            pool.wait(30.0)
        (_, value), = pool.iter_results()
        assert value.status == StatusType.SUCCESS, value
        out.append(value.additional_info)
    return out


def _share(**need: int) -> dict[str, Any]:
    return {"resources": need}


@_AFFINITY
def test_a_trial_without_a_share_of_cores_gets_the_workers_own_back() -> None:
    """One worker: a trial with cores and a device, then one with no share at all, then one
    with a device only, then cores again. The trials without cores see the worker's original
    affinity and environment, nothing left from the share before them."""
    own = sorted(os.sched_getaffinity(0))
    with ProcessPoolRunner(seen, n_workers=1, resources={"cpu": own[:2], "gpu": ["7", "8"]}) \
            as pool:
        got = _in_order(pool, [
            TrialInfo({"i": 0}, additional_info=_share(cpu=1, gpu=1)),
            TrialInfo({"i": 1}),
            TrialInfo({"i": 2}, additional_info=_share(cpu=1)),
            TrialInfo({"i": 3}, additional_info=_share(gpu=1)),
            TrialInfo({"i": 4}, additional_info=_share(cpu=1))])
    assert len({g["pid"] for g in got}) == 1
    assert got[0]["cores"] == [own[0]] and got[0]["omp"] == "1" and got[0]["devices"] == "7"
    original = {"cores": own, "omp": os.environ.get("OMP_NUM_THREADS"),
                "devices": os.environ.get("CUDA_VISIBLE_DEVICES")}
    assert {k: got[1][k] for k in original} == original
    assert len(got[2]["cores"]) == 1 and got[2]["omp"] == "1"
    assert got[3]["cores"] == own and got[3]["omp"] == original["omp"]
    assert got[3]["devices"] in ("7", "8")
    assert len(got[4]["cores"]) == 1 and got[4]["devices"] == original["devices"]


@_AFFINITY
def test_the_binding_is_kept_between_trials_but_not_a_trials_own() -> None:
    """{"cpu": 1}: between trials the worker stays bound to its core (read from the driver
    once the result is in; the binding is only made again when the cores differ), and a trial
    that binds itself elsewhere does not pass that on: the next trial is on its share's core."""
    own = sorted(os.sched_getaffinity(0))[:2]
    with ProcessPoolRunner(seen, n_workers=1, resources={"cpu": own},
                           trial_resources={"cpu": 1}) as pool:
        first = _in_order(pool, [TrialInfo({"i": i}) for i in range(3)])
        between = [len(os.sched_getaffinity(first[-1]["pid"]))]
        other = [c for c in own if [c] != first[-1]["cores"]]
        moved = _in_order(pool, [TrialInfo({"i": 3, "move": other}), TrialInfo({"i": 4})])
    assert all(len(g["cores"]) == 1 for g in first + moved)
    assert between == [1]
    assert moved[1]["cores"] == moved[0]["cores"], moved
