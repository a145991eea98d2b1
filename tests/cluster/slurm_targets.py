"""Targets and a counting optimizer for the SLURM tests, in a light module the dask workers in
the jobs import."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

from trials import TrialInfo, TrialValue


def nap(config: dict[str, Any]) -> float:
    """Cost x after ``config['sleep']`` seconds (0.2 by default); with ``config['dir']``, one
    marker file per finished execution, named ``<x>.<job id>.<uuid>``."""
    time.sleep(float(config.get("sleep", 0.2)))
    folder = config.get("dir")
    if folder:
        name = f"{config['x']}.{os.environ.get('SLURM_JOB_ID', 'none')}.{uuid.uuid4().hex}"
        (Path(folder) / name).write_text("")
    return float(config["x"])


class Counter:
    """Proposes ``{"x": k, "sleep": s, "dir": folder}`` for k = 0..n-1 (n=None: for ever)."""

    def __init__(self, n: int | None, sleep: float, folder: Path) -> None:
        self.n, self.sleep, self.folder, self.next = n, sleep, str(folder), 0

    def ask(self) -> TrialInfo | None:
        if self.n is not None and self.next >= self.n:
            return None
        self.next += 1
        return TrialInfo({"x": self.next - 1, "sleep": self.sleep, "dir": self.folder})

    def tell(self, info: TrialInfo, value: TrialValue) -> None:
        pass

    def restore(self, history: Any) -> None:
        """A resumed study: go on after the trials it finished."""
        self.next = max([self.next, *(info.config["x"] + 1 for info, _ in history)])

    def restore_pending(self, info: TrialInfo) -> None:
        """A resumed study runs ``info`` again: do not propose it anew."""
        self.next = max(self.next, info.config["x"] + 1)


STEPS = 20


def steps(config: dict[str, Any], report: Any, checkpoint: Path) -> float:
    """20 steps of 0.2 s, each saved in ``checkpoint`` and then reported; it resumes from the
    step saved. Each step done is a line ``<step> <SLURM job id> <time>`` in
    ``config['dir']/steps.log``."""
    state = checkpoint / "step"
    step = int(state.read_text()) if state.exists() else 0
    log = Path(config["dir"]) / "steps.log"
    while step < STEPS:
        time.sleep(0.2)
        step += 1
        state.write_text(str(step))
        with log.open("a") as out:
            out.write(f"{step} {os.environ.get('SLURM_JOB_ID', 'none')} {time.time()}\n")
        report(step, float(step))
    return float(step)


class OneTrial:
    """Proposes one trial of ``steps`` writing to ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.todo = [TrialInfo({"dir": str(folder)})]

    def ask(self) -> TrialInfo | None:
        return self.todo.pop() if self.todo else None

    def tell(self, info: TrialInfo, value: TrialValue) -> None:
        pass


def finished_runs(folder: Path) -> list[tuple[int, str]]:
    """``(x, SLURM job id)`` of every execution that finished, from the marker files."""
    out = []
    for path in folder.iterdir():
        if path.name.startswith("started.") or not path.name[0].isdigit():
            continue
        x, job, _ = path.name.split(".")
        out.append((int(x), job))
    return out


def marked_nap(config: dict[str, Any]) -> float:
    """``nap``, leaving ``started.<job id>.<uuid>`` in ``config['dir']`` when it begins."""
    job = os.environ.get("SLURM_JOB_ID", "none")
    (Path(config["dir"]) / f"started.{job}.{uuid.uuid4().hex}").write_text("")
    return nap(config)


def notices_itself(config: dict[str, Any]) -> float:
    """Sends its own process SIGUSR1, as `scancel --full --signal=USR1` would, then returns."""
    import signal

    os.kill(os.getpid(), signal.SIGUSR1)
    time.sleep(0.2)
    return 1.0


def devices(config: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    """What the trial was given: device ids, thread count, cores, and when it ran where."""
    start = time.time()
    time.sleep(float(config.get("sleep", 0.2)))
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    return 0.0, {"start": start, "end": time.time(), "worker_pid": os.getppid(),
                 "cuda": os.environ.get("CUDA_VISIBLE_DEVICES"),
                 "omp": os.environ.get("OMP_NUM_THREADS"), "cores": cores,
                 "job": os.environ.get("SLURM_JOB_ID")}
