"""Acceptance of issue 30 on ProcessPoolRunner: each trial gets exactly its share, read from
the trial's own process (no GPU here: targets read the device ids from the environment)."""

from __future__ import annotations

import os
import sys
from typing import Any

import pytest
from resource_targets import what_i_got

from runner import AbstractRunner, ProcessPoolRunner
from trials import StatusType, TrialInfo, TrialValue

GPUS = ["0", "1", "2", "3"]


def _run_all(runner: AbstractRunner,
             infos: list[TrialInfo]) -> list[tuple[TrialInfo, TrialValue]]:
    for info in infos:
        runner.submit_trial(info)
    out: list[tuple[TrialInfo, TrialValue]] = []
    while runner.is_running():
        runner.wait(30.0)
        out.extend(runner.iter_results())
    out.extend(runner.iter_results())
    assert len(out) == len(infos)
    assert all(v.status == StatusType.SUCCESS for _, v in out), [v for _, v in out]
    return out


def _overlapping(values: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(a, b) for i, a in enumerate(values) for b in values[i + 1:]
            if a["t0"] < b["t1"] and b["t0"] < a["t1"]]


def _max_concurrent(values: list[dict[str, Any]]) -> int:
    return max(sum(1 for b in values if b["t0"] <= a["t0"] < b["t1"]) for a in values)


def test_one_device_each_no_two_concurrent_trials_share_one() -> None:
    """4 device ids, {"gpu": 1}, 40 trials of 50 ms on 4 workers: never the same id at once."""
    with ProcessPoolRunner(what_i_got, n_workers=4, resources={"gpu": GPUS},
                           trial_resources={"gpu": 1}) as runner:
        out = _run_all(runner, [TrialInfo({"sleep": 0.05, "i": i}) for i in range(40)])
    seen = [v.additional_info for _, v in out]
    assert all(len(s["devices"]) == 1 and s["hip"] == s["devices"][0] for s in seen)
    for a, b in _overlapping(seen):
        assert set(a["devices"]).isdisjoint(b["devices"]), (a, b)
    assert all(v.additional_info["resources"]["gpu"] == v.additional_info["devices"]
               for _, v in out)


def test_two_devices_each_at_most_two_at_once() -> None:
    """{"gpu": 2} of 4: two distinct ids per trial, at most 2 trials at once."""
    with ProcessPoolRunner(what_i_got, n_workers=4, resources={"gpu": GPUS},
                           trial_resources={"gpu": 2}) as runner:
        assert runner.count_available_workers() == 2
        out = _run_all(runner, [TrialInfo({"sleep": 0.05, "i": i}) for i in range(12)])
    seen = [v.additional_info for _, v in out]
    assert all(len(set(s["devices"])) == 2 for s in seen)
    assert _max_concurrent(seen) <= 2
    for a, b in _overlapping(seen):
        assert set(a["devices"]).isdisjoint(b["devices"]), (a, b)


def test_mixed_one_and_three_devices_nothing_starves() -> None:
    """A callable mixing 1- and 3-device trials: all finish, big ones too, every device used."""
    def need(info: TrialInfo) -> dict[str, int]:
        return {"gpu": 3 if info.config["i"] % 4 == 0 else 1}

    with ProcessPoolRunner(what_i_got, n_workers=4, resources={"gpu": GPUS},
                           trial_resources=need) as runner:
        out = _run_all(runner, [TrialInfo({"sleep": 0.05, "i": i}) for i in range(24)])
    seen = [v.additional_info for _, v in out]
    assert sorted(len(s["devices"]) for s in seen).count(3) == 6
    for a, b in _overlapping(seen):
        assert set(a["devices"]).isdisjoint(b["devices"]), (a, b)
    assert {d for s in seen for d in s["devices"]} == set(GPUS)


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs two cores and sched_getaffinity")
def test_one_core_each_by_affinity_and_thread_variables() -> None:
    """{"cpu": 1}: each trial is bound to one core, two at once differ, OMP_NUM_THREADS=1."""
    cores = sorted(os.sched_getaffinity(0))[:2]
    with ProcessPoolRunner(what_i_got, n_workers=2, resources={"cpu": cores},
                           trial_resources={"cpu": 1}) as runner:
        out = _run_all(runner, [TrialInfo({"sleep": 0.05, "i": i}) for i in range(8)])
    seen = [v.additional_info for _, v in out]
    assert all(len(s["cores"]) == 1 and s["omp"] == "1" for s in seen)
    for a, b in _overlapping(seen):
        assert a["cores"] != b["cores"], (a, b)


def test_a_need_beyond_the_runner_is_refused_at_submit() -> None:
    """A trial needing 5 GPUs of 4: a clear error at submit naming both numbers."""
    with ProcessPoolRunner(what_i_got, n_workers=2, resources={"gpu": GPUS}) as runner:
        with pytest.raises(ValueError, match=r"needs 5 GPUs but the runner has 4"):
            runner.submit_trial(TrialInfo({"i": 0}, additional_info={"resources": {"gpu": 5}}))
        assert not runner.is_running()


def test_the_worker_gets_its_environment_back_between_trials() -> None:
    """A trial without a need after one with devices sees the worker's own environment."""
    with ProcessPoolRunner(what_i_got, n_workers=1, resources={"gpu": GPUS}) as runner:
        out = _run_all(runner, [
            TrialInfo({"sleep": 0, "i": 0}, additional_info={"resources": {"gpu": 2}}),
            TrialInfo({"sleep": 0, "i": 1})])
    by_i = {info.config["i"]: v.additional_info for info, v in out}
    assert by_i[0]["devices"] == ["0", "1"]
    assert by_i[1]["devices"] == [d for d in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")
                                  if d]
    assert by_i[1]["cores"] == sorted(os.sched_getaffinity(0))


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"resources": {"gpus": ["0"]}}, r"resources has unknown key\(s\) \['gpus'\]"),
    ({"trial_resources": {"gpu": 1.5}}, r"trial_resources\['gpu'\] must be a whole number"),
])
def test_bad_keywords_fail_at_construction(kwargs: dict[str, Any], match: str) -> None:
    """A bad resources/trial_resources fails before any worker starts."""
    with pytest.raises(ValueError, match=match):
        ProcessPoolRunner(what_i_got, n_workers=1, **kwargs)


def test_half_a_device_each_two_trials_share_one() -> None:
    """{"gpu": 0.5} on 2 devices and 4 workers: at most two trials on a device at once."""
    with ProcessPoolRunner(what_i_got, n_workers=4, resources={"gpu": ["0", "1"]},
                           trial_resources={"gpu": 0.5}) as runner:
        assert runner.count_available_workers() == 4
        out = _run_all(runner, [TrialInfo({"sleep": 0.05, "i": i}) for i in range(16)])
    seen = [v.additional_info for _, v in out]
    assert all(len(s["devices"]) == 1 and s["resources"]["gpu_share"] == 0.5 for s in seen)
    for s in seen:
        sharing = [o for o in seen if o["devices"] == s["devices"]
                   and o["t0"] <= s["t0"] < o["t1"]]
        assert len(sharing) <= 2, sharing


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS is Linux's")
def test_the_memory_share_is_the_trials_memory_limit() -> None:
    """{"memory": 64} MB without memory_limit: a trial taking 400 MB fails, one taking 8 MB
    does not, and the worker survives both."""
    from resource_targets import allocate_mb

    with ProcessPoolRunner(allocate_mb, n_workers=1, resources={"memory": 1000},
                           trial_resources={"memory": 64}) as runner:
        runner.submit_trial(TrialInfo({"mb": 400}))
        runner.submit_trial(TrialInfo({"mb": 8}))
        out: list[Any] = []
        while runner.is_running():
            runner.wait(30.0)
            out.extend(runner.iter_results())
    by_mb = {i.config["mb"]: v for i, v in out}
    assert by_mb[400].status == StatusType.CRASHED
    assert "MemoryError" in str(by_mb[400].additional_info)
    assert by_mb[8].status == StatusType.SUCCESS
