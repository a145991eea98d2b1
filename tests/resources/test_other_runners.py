"""The same keywords on the serial and thread runners: their trials then run in supervised
worker processes, where the share is applied."""

from __future__ import annotations

import os
from typing import Any

import pytest
from resource_targets import what_i_got

from runner import AbstractRunner, SerialRunner, ThreadPoolRunner
from trials import StatusType, TrialInfo

GPUS = ["0", "1", "2"]


def _results(runner: AbstractRunner, n: int) -> list[dict[str, Any]]:
    for i in range(n):
        runner.submit_trial(TrialInfo({"sleep": 0.03, "i": i}))
    out: list[Any] = []
    while runner.is_running():
        runner.wait(30.0)
        out.extend(runner.iter_results())
    out.extend(runner.iter_results())
    assert [v.status for _, v in out] == [StatusType.SUCCESS] * n, out
    return [v.additional_info for _, v in out]


def test_serial_runner_gives_each_trial_its_devices() -> None:
    """SerialRunner(resources=..., trial_resources=...): the trial sees its devices, the
    caller's own environment is untouched."""
    before = os.environ.get("CUDA_VISIBLE_DEVICES")
    with SerialRunner(what_i_got, resources={"gpu": GPUS}, trial_resources={"gpu": 2}) as r:
        seen = _results(r, 3)
    assert all(s["devices"] == ["0", "1"] and s["resources"]["gpu"] == ["0", "1"]
               for s in seen)
    assert os.environ.get("CUDA_VISIBLE_DEVICES") == before


def test_serial_runner_refuses_a_need_beyond_it() -> None:
    """A trial needing more devices than the serial runner has: refused at submit."""
    with SerialRunner(what_i_got, resources={"gpu": GPUS}) as r:
        with pytest.raises(ValueError, match=r"needs 4 GPUs but the runner has 3"):
            r.submit_trial(TrialInfo({"i": 0}, additional_info={"resources": {"gpu": 4}}))


def test_thread_runner_shares_devices_without_overlap() -> None:
    """ThreadPoolRunner with 3 devices, 1 each, 3 workers: concurrent trials never share one;
    with {"gpu": 2}, one at a time."""
    with ThreadPoolRunner(what_i_got, n_workers=3, resources={"gpu": GPUS},
                          trial_resources={"gpu": 1}) as r:
        seen = _results(r, 12)
    overlapping = [(a, b) for i, a in enumerate(seen) for b in seen[i + 1:]
                   if a["t0"] < b["t1"] and b["t0"] < a["t1"]]
    assert all(len(s["devices"]) == 1 for s in seen)
    assert all(a["devices"] != b["devices"] for a, b in overlapping)
    with ThreadPoolRunner(what_i_got, n_workers=3, resources={"gpu": GPUS},
                          trial_resources={"gpu": 2}) as r:
        assert r.count_available_workers() == 1
        seen = _results(r, 4)
    assert not [(a, b) for i, a in enumerate(seen) for b in seen[i + 1:]
                if a["t0"] < b["t1"] and b["t0"] < a["t1"]]


def _sim_target(config: Any) -> tuple[float, dict[str, Any]]:
    return 0.0, {"runtime": config["runtime"]}


def test_simulated_runner_allocates_virtual_devices() -> None:
    """SimulatedRunner with 4 virtual devices and 4 workers: a 3-device trial waits at the head
    until its devices free (nothing jumps ahead of it), and every trial's devices are recorded."""
    from runner import SimulatedRunner

    def need(info: TrialInfo) -> dict[str, int]:
        return {"gpu": info.config["gpu"]}

    with SimulatedRunner(_sim_target, n_workers=4, resources={"gpu": ["a", "b", "c", "d"]},
                         trial_resources=need) as r:
        jobs = [(1, 10.0), (1, 5.0), (3, 1.0), (1, 1.0)]
        for gpu, runtime in jobs:
            r.submit_trial(TrialInfo({"gpu": gpu, "runtime": runtime}))
        assert r.count_available_workers() == 0
        out: list[Any] = []
        while r.is_running():
            r.wait()
            out.extend(r.iter_results())
    by_need = {(i.config["gpu"], i.config["runtime"]): v for i, v in out}
    big = by_need[(3, 1.0)]
    # two devices free at 0 s, three once the 5 s trial ends: the big one starts then
    assert big.starttime == 5.0 and len(big.additional_info["resources"]["gpu"]) == 3
    # a free device at 0 s, but it is behind the big one: it does not jump ahead
    assert by_need[(1, 1.0)].starttime == 6.0
    with pytest.raises(ValueError, match=r"needs 5 GPUs but the runner has 4"):
        SimulatedRunner(_sim_target, n_workers=2, resources={"gpu": 4}).submit_trial(
            TrialInfo({"gpu": 5, "runtime": 1.0}, additional_info={"resources": {"gpu": 5}}))
