"""Issue 23's acceptance on the test SLURM: a 100-trial study on 2 one-core jobs; the same with
both original jobs cancelled mid-study (no trial lost, none CRASHED, no retry spent); jobs of
a 1-minute walltime under a 3-minute study."""

from __future__ import annotations

import threading
from collections import Counter as Tally
from pathlib import Path

import pytest

from runner import DaskRunner, OptimizationLoop
from tests.cluster.slurm_host import SlurmHost, wait_for
from tests.cluster.slurm_targets import Counter, finished_runs, nap
from trials import StatusType, TrialInfo, read_records


def _runner(tmp_path: Path, walltime: str = "00:05:00") -> DaskRunner:
    logs = tmp_path / "logs"
    logs.mkdir()
    return DaskRunner.slurm(nap, jobs=2, cores=1, memory="1GB", walltime=walltime,
                            log_directory=str(logs))


def _check(loop: OptimizationLoop, n: int | None = None) -> None:
    statuses = Tally(value.status for _, value in loop.history)
    assert statuses == {StatusType.SUCCESS: len(loop.history)}, statuses
    xs = [info.config["x"] for info, _ in loop.history]
    assert len(set(xs)) == len(xs), "a trial was told twice"
    if n is not None:
        assert sorted(xs) == list(range(n))


def test_100_trials_on_two_jobs(slurm: SlurmHost, tmp_path: Path) -> None:
    """100 trials of 0.2 s on 2 one-core jobs: 100 SUCCESS, each run once, squeue empty after."""
    marks = tmp_path / "marks"
    marks.mkdir()
    with _runner(tmp_path) as runner:
        jobs = set(slurm.jobs())
        loop = OptimizationLoop(Counter(100, 0.2, marks), runner, n_trials_goal=100)
        loop.run()
    _check(loop, 100)
    runs = finished_runs(marks)
    assert sorted(x for x, _ in runs) == list(range(100))  # each ran once
    assert {job for _, job in runs} == jobs  # on both jobs
    wait_for(lambda: not slurm.jobs(), 20, "squeue empty after close()")


def test_both_jobs_cancelled_mid_study_lose_no_trial(slurm: SlurmHost, tmp_path: Path) -> None:
    """One job scancel'ed at 30 %, the other at 60 %: replacement jobs take over, 100 SUCCESS
    each told once, retries=0 and nothing CRASHED; the journal has the lost runs as
    interrupted attempts naming the cancelled jobs."""
    marks = tmp_path / "marks"
    marks.mkdir()
    cancelled: list[str] = []
    errors: list[BaseException] = []

    def saboteur() -> None:
        try:
            first = sorted(slurm.jobs(), key=int)
            for at, job in zip((30, 60), first, strict=True):
                wait_for(lambda at=at: len(list(marks.iterdir())) >= at, 60, f"{at} trials")
                slurm.run("scancel", job)
                cancelled.append(job)
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    with _runner(tmp_path) as runner:
        thread = threading.Thread(target=saboteur)
        thread.start()
        loop = OptimizationLoop(Counter(100, 0.2, marks), runner, n_trials_goal=100,
                                retries=0, journal=tmp_path / "j.jsonl")
        try:
            loop.run()
        finally:
            thread.join(60)
    assert not errors, errors
    assert len(cancelled) == 2
    _check(loop, 100)
    jobs = {job for _, job in finished_runs(marks)}
    assert len(jobs) >= 3, f"no replacement job ran a trial: {jobs}"
    lost = [r for r in read_records(tmp_path / "j.jsonl") if r["type"] == "interrupted"]
    assert lost, "a cancelled job's running trial was not journaled as interrupted"
    assert {r["job"] for r in lost} <= set(cancelled), lost
    assert all(r["requeue"] >= 1 and "lost" in r["reason"] for r in lost), lost


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_one_minute_jobs_under_a_three_minute_study(slurm: SlurmHost, tmp_path: Path) -> None:
    """Jobs of a 1-minute walltime: workers retire before it and replacement jobs carry the
    study on; every trial of a 3-minute study is SUCCESS."""
    marks = tmp_path / "marks"
    marks.mkdir()
    with _runner(tmp_path, walltime="00:01:00") as runner:
        loop = OptimizationLoop(Counter(None, 0.5, marks), runner, duration_goal=180,
                                retries=0)
        loop.run()
    _check(loop)
    jobs = {job for _, job in finished_runs(marks)}
    assert len(loop.history) > 300
    assert len(jobs) >= 6, f"expected the study to outlive its jobs, ran on {jobs}"


def test_a_lone_job_cancelled_mid_trial_is_replaced(slurm: SlurmHost, tmp_path: Path) -> None:
    """With one job, scancel'ed while its trial runs: a replacement job (a fresh worker name,
    which dask alone would not start) runs the trial again to SUCCESS, one requeue counted."""
    logs = tmp_path / "logs"
    logs.mkdir()
    with DaskRunner.slurm(nap, jobs=1, cores=1, memory="1GB", walltime="00:05:00",
                          log_directory=str(logs)) as runner:
        runner.submit_trial(TrialInfo({"x": 1, "sleep": 2.0}))
        wait_for(lambda: any(runner.client.processing().values()), 60, "the trial to start")
        (job,) = slurm.jobs()
        slurm.run("scancel", job)
        runner.wait(120)
        ((_, value),) = list(runner.iter_results())
        assert value.status is StatusType.SUCCESS, value
        assert value.additional_info["requeues"] == 1
        assert slurm.jobs() and job not in slurm.jobs()
        ((_, lost),) = list(runner.iter_interruptions())
        assert lost.job == job and lost.requeue == 1
