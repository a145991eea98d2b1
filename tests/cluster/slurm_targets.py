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


def finished_runs(folder: Path) -> list[tuple[int, str]]:
    """``(x, SLURM job id)`` of every execution that finished, from the marker files."""
    out = []
    for path in folder.iterdir():
        x, job, _ = path.name.split(".")
        out.append((int(x), job))
    return out
