"""Issue 23's acceptance on the test SLURM: the driver SIGKILLed mid-study, then the study
resumed: it completes, no trial twice, and the dead driver's jobs end by themselves."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runner import DaskRunner, OptimizationLoop
from runner._backends.dask.slurm import DEATH_TIMEOUT
from tests.cluster.slurm_host import SlurmHost, wait_for
from tests.cluster.slurm_targets import Counter, nap
from trials import JournalStaleLockWarning, StatusType, TrialValue, read_records

N = 40
ROOT = Path(__file__).resolve().parents[2]
DRIVER = """
import sys
from runner import DaskRunner, OptimizationLoop
from tests.cluster.slurm_targets import Counter, nap
marks, logs, journal = sys.argv[1:4]
runner = DaskRunner.slurm(nap, jobs=2, cores=1, memory="1GB", walltime="00:05:00",
                          log_directory=logs)
n = int(sys.argv[4])
OptimizationLoop(Counter(n, 0.3, marks), runner, n_trials_goal=n, journal=journal).run()
"""


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_killed_driver_resumed_completes_and_leaves_no_job(slurm: SlurmHost,
                                                             tmp_path: Path) -> None:
    """SIGKILL the driver of a 40-trial study while its jobs run trials; construct the loop
    again on fresh jobs: every trial ends SUCCESS exactly once in the journal's final records,
    and the old jobs are gone from ``squeue`` within DEATH_TIMEOUT plus a margin."""
    marks, logs, journal = tmp_path / "marks", tmp_path / "logs", tmp_path / "j.jsonl"
    marks.mkdir()
    logs.mkdir()
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, str(marks), str(logs),
                               str(journal), str(N)], cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        wait_for(lambda: len(list(marks.iterdir())) >= 10, 120, "10 trials done")
        old = set(slurm.jobs())
        driver.send_signal(signal.SIGKILL)
        killed = time.monotonic()
    finally:
        driver.kill()
        driver.wait()
    assert old, "the driver had no job running"
    with DaskRunner.slurm(nap, jobs=2, cores=1, memory="1GB", walltime="00:05:00",
                          log_directory=str(logs), start_timeout=120) as runner:
        with pytest.warns(JournalStaleLockWarning):  # the dead driver's lock, taken over
            loop = OptimizationLoop(Counter(N, 0.3, marks), runner, n_trials_goal=N,
                                    journal=journal)
        loop.run()
        wait_for(lambda: not old & set(slurm.jobs()), DEATH_TIMEOUT + 30,
                 "the dead driver's jobs to end")
        print(f"\nthe dead driver's jobs ended {time.monotonic() - killed:.1f} s after the kill")
    finals = [r for r in read_records(journal) if r["type"] == "result" and r["final"]]
    trials = [r["trial"] for r in finals]
    assert sorted(trials) == list(range(N)), trials
    statuses = {TrialValue.from_dict(r["value"]).status for r in finals}
    assert statuses == {StatusType.SUCCESS}, statuses
    xs = sorted(info.config["x"] for info, _ in loop.history)
    assert xs == list(range(N)), xs
