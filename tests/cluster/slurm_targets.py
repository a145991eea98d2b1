"""Targets for the SLURM tests, in a light module the dask workers in the jobs import."""

from __future__ import annotations

import time
from typing import Any


def nap(config: dict[str, Any]) -> float:
    """Cost x after ``config['sleep']`` seconds (0.2 by default)."""
    time.sleep(float(config.get("sleep", 0.2)))
    return float(config["x"])
