"""DaskRunner.slurm on a one-node SLURM on this host (started here, as the tests do; needs root
or SLURM installed): time to the first worker, per-trial overhead against DaskRunner on a
LocalCluster, seconds from a `scancel` to the lost trial running again, and seconds from a
preemption notice (`scancel --full --signal=USR1`) to a checkpointed trial resuming elsewhere.

    python -m benchmarks.bench_slurm [--quick]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

N_TRIALS = 200


def noop(config: dict[str, Any]) -> float:
    return float(config["x"])


def mark_start(config: dict[str, Any]) -> float:
    """Write ``<dir>/<x>.<n>`` at the start of each run, then sleep ``config['sleep']``."""
    folder = Path(config["dir"])
    n = len(list(folder.glob(f"{config['x']}.*")))
    (folder / f"{config['x']}.{n}").write_text(str(time.time()))
    time.sleep(float(config["sleep"]))
    return 0.0


def _feed(runner: Any, n: int) -> float:
    """Seconds per trial, fed as a loop feeds: submit while a worker is free, collect any."""
    from trials import TrialInfo

    t0, sent, got = time.perf_counter(), 0, 0
    while got < n:
        while sent < n and runner.count_available_workers() > 0:
            runner.submit_trial(TrialInfo({"x": sent}))
            sent += 1
        runner.wait(1.0)
        got += len(list(runner.iter_results()))
    return (time.perf_counter() - t0) / n


def _lost_to_rerun(slurm_kwargs: dict[str, Any], jobs: int, folder: Path) -> float:
    """Seconds from the scancel of a running trial's job to that trial starting again."""
    import subprocess

    from runner import DaskRunner
    from tests.cluster.slurm_host import wait_for
    from trials import TrialInfo

    with DaskRunner.slurm(mark_start, jobs=jobs, **slurm_kwargs) as runner:
        runner.submit_trial(TrialInfo({"x": 0, "sleep": 2.0, "dir": str(folder)}))
        wait_for(lambda: (folder / "0.0").exists(), 60, "the trial to start")
        job = _job_running(runner)
        t0 = time.time()
        subprocess.run(["scancel", job], check=True)
        wait_for(lambda: (folder / "0.1").exists(), 120, "the trial to start again")
        again = float((folder / "0.1").read_text())
        runner.wait(30)
    for path in folder.iterdir():
        path.unlink()
    return again - t0


def _notice_to_resume(slurm_kwargs: dict[str, Any], folder: Path) -> float:
    """Seconds from a notice to the job running a checkpointed trial (20 steps of 0.2 s) to
    that trial's next step beginning on the other job, from its saved step."""
    import subprocess

    from runner import DaskRunner
    from tests.cluster.slurm_host import wait_for
    from tests.cluster.slurm_targets import steps
    from trials import TrialInfo

    log = folder / "steps.log"

    def done() -> list[list[str]]:
        return [line.split() for line in log.read_text().splitlines()] if log.exists() else []

    info = TrialInfo({"dir": str(folder)}, additional_info={
        "checkpoint_dir": str(folder / "checkpoint")})
    with DaskRunner.slurm(steps, jobs=2, **slurm_kwargs) as runner:
        runner.submit_trial(info)
        wait_for(lambda: len(done()) >= 3, 60, "3 steps done")
        job = done()[-1][1]
        t0 = time.time()
        subprocess.run(["scancel", "--full", "--signal=USR1", job], check=True)
        wait_for(lambda: any(j != job for _, j, _ in done()), 60, "a step on the other job")
        runner.wait(60)
    first = min(float(t) for _, j, t in done() if j != job)
    for path in folder.iterdir():
        if path.is_file():
            path.unlink()
    return first - 0.2 - t0  # the step's line is written after its 0.2 s


def _job_running(runner: Any) -> str:
    """The SLURM job of the worker executing the (only) trial."""
    client = runner.client
    processing = client.processing()
    busy = [addr for addr, keys in processing.items() if keys]
    info = client.scheduler_info()["workers"]
    name = str(info[busy[0]]["name"])
    return str(runner._cluster.job_of(name))


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from runner import DaskRunner
    from tests.cluster.slurm_host import SlurmHost, ensure_packages

    why = ensure_packages()
    if why is not None:
        print(f"skipped: {why}")
        return 0
    host = SlurmHost(Path(tempfile.mkdtemp(prefix="bench-slurm-")))
    host.start()
    os.environ["SLURM_CONF"] = str(host.conf)
    logs = tempfile.mkdtemp(prefix="bench-slurm-logs-")
    kwargs = {"cores": 1, "memory": "1GB", "walltime": "00:10:00", "log_directory": logs}
    try:
        host.wait_idle()
        firsts = []
        for _ in range(1 if quick else 3):
            t0 = time.perf_counter()
            with DaskRunner.slurm(noop, jobs=2, **kwargs) as runner:
                firsts.append(time.perf_counter() - t0)
                slurm_trial = _feed(runner, N_TRIALS)
        with DaskRunner(noop, n_workers=2) as runner:
            local_trial = _feed(runner, N_TRIALS)
        folder = Path(tempfile.mkdtemp(prefix="bench-slurm-marks-"))
        other_worker = _lost_to_rerun(kwargs, 2, folder)
        replacement = _lost_to_rerun(kwargs, 1, folder)
        notices = [_notice_to_resume(kwargs, folder) for _ in range(1 if quick else 3)]
    finally:
        host.cancel_all()
        host.stop()
    print(f"time to the first worker (2 jobs): {statistics.median(firsts):.2f} s "
          f"(median of {len(firsts)})")
    print(f"per-trial time, no-op trials, 2 workers: SLURM jobs {1000 * slurm_trial:.1f} ms, "
          f"LocalCluster {1000 * local_trial:.1f} ms")
    print(f"scancel to the trial running again: {other_worker:.2f} s on the other job's "
          f"worker; {replacement:.2f} s when it waits for the replacement job")
    print(f"notice to the checkpointed trial resuming on the other job: "
          f"{statistics.median(notices):.2f} s (median of {len(notices)}: "
          f"{', '.join(f'{n:.2f}' for n in notices)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
