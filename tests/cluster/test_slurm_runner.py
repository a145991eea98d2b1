"""DaskRunner.slurm on the test SLURM: workers in batch jobs, kept alive, ended on close(),
and errors that name the job's state and log when no worker comes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runner import DaskRunner
from runner._backends.dask.slurm import (
    SlurmStartError,
    lifetime_args,
    parse_walltime,
    split_kwargs,
)
from runner.errors import PreflightError
from tests.cluster.slurm_host import SlurmHost
from tests.cluster.slurm_targets import nap
from trials import StatusType, TrialInfo


@pytest.mark.parametrize(("text", "seconds"), [
    ("5", 300), ("01:30", 90), ("01:00:00", 3600), ("2-0", 172800), ("1-01:02", 90120),
    ("1-00:00:10", 86410)])
def test_parse_walltime_reads_slurm_times(text: str, seconds: float) -> None:
    """Every SLURM time format reads as seconds."""
    assert parse_walltime(text) == seconds


@pytest.mark.parametrize("bad", ["", "1h", "00:00:00", "1:2:3:4", "-5", 60])
def test_parse_walltime_refuses_others(bad: object) -> None:
    """Anything else is a ValueError naming walltime."""
    with pytest.raises(ValueError, match="walltime"):
        parse_walltime(bad)  # type: ignore[arg-type]


def test_lifetime_retires_workers_before_the_walltime() -> None:
    """A worker's lifetime plus its stagger ends a margin before the walltime."""
    assert lifetime_args(3600.0) == ["--lifetime", "3060s", "--lifetime-stagger", "180s"]
    assert lifetime_args(60.0) == ["--lifetime", "47s", "--lifetime-stagger", "3s"]
    with pytest.raises(ValueError, match="longer walltime"):
        lifetime_args(10.0)


def test_keywords_split_between_the_runner_and_dask_jobqueue() -> None:
    """Runner keywords go to DaskRunner, the rest to SLURMCluster; client= is refused."""
    own, rest = split_kwargs(DaskRunner, {"max_requeues": 1, "walltime_limit": 3.0,
                                          "interface": "lo", "account": "x"})
    assert own == {"max_requeues": 1, "walltime_limit": 3.0}
    assert rest == {"interface": "lo", "account": "x"}
    with pytest.raises(ValueError, match="n_workers"):
        split_kwargs(DaskRunner, {"n_workers": 2})


def test_no_sbatch_is_a_preflight_error(monkeypatch: pytest.MonkeyPatch,
                                        tmp_path: Path) -> None:
    """Without sbatch on PATH, DaskRunner.slurm says SLURM is not installed."""
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PreflightError, match="no `sbatch` on PATH"):
        DaskRunner.slurm(nap, jobs=1)


def _study(runner: DaskRunner, n: int, sleep: float = 0.2) -> list[tuple[TrialInfo, object]]:
    for i in range(n):
        runner.submit_trial(TrialInfo(config={"x": i, "sleep": sleep}, seed=0))
    got: list[tuple[TrialInfo, object]] = []
    while len(got) < n:
        runner.wait(60)
        got += list(runner.iter_results())
    return got


def test_slurm_runner_runs_trials_and_ends_its_jobs(slurm: SlurmHost, tmp_path: Path) -> None:
    """Trials run in the SLURM jobs' workers; close() cancels the jobs."""
    with DaskRunner.slurm(nap, jobs=2, cores=1, memory="1GB", walltime="00:05:00",
                          log_directory=str(tmp_path)) as runner:
        assert len(slurm.jobs()) == 2
        got = _study(runner, 10, sleep=0.05)
    assert sorted(v.cost for _, v in got) == list(range(10))  # type: ignore[attr-defined]
    assert all(v.status == StatusType.SUCCESS for _, v in got)  # type: ignore[attr-defined]


def test_a_pending_job_is_named_when_no_worker_comes(slurm: SlurmHost, tmp_path: Path) -> None:
    """A job that stays PENDING: SlurmStartError names its state and reason, and the job is
    cancelled."""
    with pytest.raises(SlurmStartError, match=r"(?s)PENDING \(reason BeginTime\).*interface="):
        DaskRunner.slurm(nap, jobs=1, memory="1GB", walltime="00:05:00", start_timeout=3,
                         log_directory=str(tmp_path),
                         job_extra_directives=["--begin=now+3600"])


def test_a_job_failing_at_start_is_named_with_its_log(slurm: SlurmHost,
                                                      tmp_path: Path) -> None:
    """A worker that cannot start: the error comes before start_timeout and quotes the log."""
    with pytest.raises(SlurmStartError, match=r"(?s)every job ended.*no-such-python"):
        DaskRunner.slurm(nap, jobs=1, memory="1GB", walltime="00:05:00", start_timeout=60,
                         log_directory=str(tmp_path), python="/no-such-python")
    assert os.listdir(tmp_path)
