"""Issue 23's acceptance on the test SLURM: a preemption notice pauses a checkpointing trial,
which continues from its saved step on another job."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from runner import DaskRunner, OptimizationLoop
from tests.cluster.slurm_host import SlurmHost, wait_for
from tests.cluster.slurm_targets import STEPS, OneTrial, finished_runs, marked_nap, steps
from trials import StatusType, TrialInfo, read_records

NOTICE_TO_KILL = 5.0
"""Seconds between the notice and the kill, as SLURM's ``--signal=USR1@5`` would give."""


def _steps_done(log: Path) -> list[tuple[int, str, float]]:
    if not log.exists():
        return []
    lines = [line.split() for line in log.read_text().splitlines()]
    return [(int(s), job, float(t)) for s, job, t in lines]


def test_a_notice_pauses_a_checkpointing_trial_which_goes_on_elsewhere(
        slurm: SlurmHost, tmp_path: Path) -> None:
    """`scancel --full --signal=USR1` on the job running a 20-step checkpointing trial, then
    `scancel` 5 s later: the trial ends SUCCESS, its steps after the notice ran on the other
    job from the step saved (none from 0), and the journal has one interrupted attempt,
    "preemption notice", naming the job; nothing CRASHED, no retry spent."""
    logs, out = tmp_path / "logs", tmp_path / "out"
    logs.mkdir()
    out.mkdir()
    log = out / "steps.log"
    noticed: list[tuple[str, float]] = []
    errors: list[BaseException] = []

    def preempt() -> None:
        try:
            wait_for(lambda: len(_steps_done(log)) >= 5, 60, "5 steps done")
            job = _steps_done(log)[-1][1]
            slurm.run("scancel", "--full", "--signal=USR1", job)
            noticed.append((job, time.time()))
            time.sleep(NOTICE_TO_KILL)  # the scenario's grace, not a synchronisation
            slurm.run("scancel", job)
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    with DaskRunner.slurm(steps, jobs=2, cores=1, memory="1GB", walltime="00:05:00",
                          log_directory=str(logs)) as runner:
        thread = threading.Thread(target=preempt)
        thread.start()
        loop = OptimizationLoop(OneTrial(out), runner, n_trials_goal=1, retries=0,
                                journal=tmp_path / "j.jsonl")
        try:
            loop.run()
        finally:
            thread.join(60)
    assert not errors, errors
    ((_, value),) = loop.history
    assert value.status is StatusType.SUCCESS, value
    assert value.cost == STEPS
    (job, at), done = noticed[0], _steps_done(log)
    before = [s for s, j, _ in done if j == job]
    after = [(s, t) for s, j, t in done if j != job]
    assert before and after, done
    assert after[0][0] > 1, f"the trial started again from step 0 on the other job: {done}"
    assert after[0][0] <= max(before) + 1, done
    assert [s for s, _ in after] == list(range(after[0][0], STEPS + 1)), done
    assert after[0][1] < at + NOTICE_TO_KILL, "it went on only after the kill, not at the notice"
    print(f"\nnotice to the checkpointed trial's next step on another job: "
          f"{after[0][1] - at:.2f} s (a step is 0.2 s)")
    records = read_records(tmp_path / "j.jsonl")
    lost = [r for r in records if r["type"] == "interrupted"]
    assert len(lost) == 1 and lost[0]["reason"].startswith("preemption notice"), lost
    assert lost[0]["job"] == job, lost
    assert not [r for r in records if r["type"] == "failed"]


def test_a_notice_requeues_a_trial_that_cannot_checkpoint_at_once(
        slurm: SlurmHost, tmp_path: Path) -> None:
    """A trial without ``checkpoint`` on a job that gets a notice is killed and run again on
    the other job at once (not after the kill, which here never comes): SUCCESS, one
    interrupted attempt naming the job; the noticed job takes no new trial."""
    logs, out = tmp_path / "logs", tmp_path / "out"
    logs.mkdir()
    out.mkdir()
    with DaskRunner.slurm(marked_nap, jobs=2, cores=1, memory="1GB", walltime="00:05:00",
                          log_directory=str(logs)) as runner:
        runner.submit_trial(TrialInfo({"x": 1, "sleep": 4.0, "dir": str(out)}))
        wait_for(lambda: list(out.glob("started.*")), 60, "the trial to start")
        (job,) = {p.name.split(".")[1] for p in out.glob("started.*")}
        slurm.run("scancel", "--full", "--signal=USR1", job)
        runner.wait(60)
        ((_, value),) = list(runner.iter_results())
        assert value.status is StatusType.SUCCESS, value
        ((_, lost),) = list(runner.iter_interruptions())
        assert lost.job == job and lost.reason.startswith("preemption notice"), lost
        assert [x for x, j in finished_runs(out) if j == job] == []  # killed there
        assert len([x for x, j in finished_runs(out) if j != job]) == 1
        runner.submit_trial(TrialInfo({"x": 2, "sleep": 0.1, "dir": str(out)}))
        runner.wait(60)
        assert [j for x, j in finished_runs(out) if x == 2] != [job]  # not on the noticed job
        assert job in slurm.jobs()  # its job still runs: the notice alone ends nothing
