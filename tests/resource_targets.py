"""Targets for the resource tests: each reports what it was given, read from its own process
(device ids from the environment, cores from its affinity) and when it ran."""

from __future__ import annotations

import os
import time
from typing import Any


def what_i_got(config: Any) -> tuple[float, dict[str, Any]]:
    """Sleep ``config["sleep"]`` seconds; return the devices, cores and thread count seen."""
    start = time.time()
    time.sleep(config.get("sleep", 0.05))
    end = time.time()
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "")
    return 0.0, {"t0": start, "t1": end,
                 "devices": [d for d in visible.split(",") if d],
                 "cores": sorted(os.sched_getaffinity(0)),
                 "omp": os.environ.get("OMP_NUM_THREADS"),
                 "hip": os.environ.get("HIP_VISIBLE_DEVICES")}


def noop(config: Any) -> float:
    """Nothing at all: for the throughput comparison."""
    return 0.0


def allocate_mb(config: Any) -> float:
    """Hold ``config["mb"]`` megabytes for a moment."""
    block = bytearray(int(config["mb"] * 2**20))
    return float(len(block) > 0)
