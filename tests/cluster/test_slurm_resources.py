"""Resources per trial on the SLURM path (issue 30): the jobs' dask workers are started with
the job's cores (and devices) as dask resources, so ``trial_resources`` hold there as on any
dask cluster: specific device ids per trial within the job, never shared by concurrent trials,
and a need larger than a job refused at submit."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner import DaskRunner
from runner._backends.dask.devices import job_resources
from tests.cluster.slurm_host import SlurmHost
from tests.cluster.slurm_targets import devices
from trials import StatusType, TrialInfo


def test_job_resources_follow_the_job() -> None:
    """CPU from the job's cores (split over its workers), GPU from gpus=, extra tags win."""
    assert job_resources(2, 0, None, 1) == ["--resources", "CPU=2"]
    assert job_resources(4, 2, None, 1) == ["--resources", "CPU=4,GPU=2"]
    assert job_resources(4, 0, {"GPU": 2}, 2) == ["--resources", "CPU=2,GPU=2"]
    with pytest.raises(ValueError, match="processes=1"):
        job_resources(4, 2, None, 2)
    with pytest.raises(ValueError, match="gpus must be an int"):
        job_resources(1, -1, None, 1)


def test_trials_get_their_own_devices_in_a_job(slurm: SlurmHost, tmp_path: Path) -> None:
    """One job of 2 cores whose worker hands out 2 devices: two trials at a time, each with
    its own device id, one thread, recorded with its worker; 3 devices refused at submit."""
    with DaskRunner.slurm(devices, jobs=1, cores=2, memory="1GB", walltime="00:05:00",
                          log_directory=str(tmp_path), worker_resources={"GPU": 2},
                          trial_resources={"gpu": 1, "cpu": 1}) as runner:
        with pytest.raises(ValueError, match="needs 3 GPUs but the largest dask worker has "
                                             "2 GPUs"):
            runner.submit_trial(TrialInfo({"x": 0}, additional_info={"resources": {"gpu": 3}}))
        for i in range(8):
            runner.submit_trial(TrialInfo({"x": i, "sleep": 0.3}))
        got = []
        while len(got) < 8:
            runner.wait(60)
            got += list(runner.iter_results())
    spans = []
    for _, value in got:
        assert value.status == StatusType.SUCCESS, value.additional_info
        extra = value.additional_info
        assert extra["omp"] == "1"
        assert extra["resources"]["gpu"] == [extra["cuda"]]
        assert extra["resources"]["cpu"] and extra["resources"]["worker"]
        spans.append((extra["start"], extra["end"], extra["job"], extra["cuda"]))
    for k, a in enumerate(spans):
        for b in spans[k + 1:]:
            if a[0] < b[1] and b[0] < a[1] and a[2] == b[2]:
                assert a[3] != b[3], (a, b)
    assert {s[3] for s in spans} == {"0", "1"}
