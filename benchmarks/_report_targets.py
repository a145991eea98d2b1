"""Targets of ``bench_reports`` (importable, so worker processes load them by reference)."""

from __future__ import annotations

import time
from typing import Any


def report_many(config: Any, report: Any) -> Any:
    """Calls ``report`` ``config["n"]`` times as fast as it can; returns the µs per call."""
    n = config["n"]
    t0 = time.perf_counter()
    for step in range(n):
        report(step, 0.5)
    per_call = (time.perf_counter() - t0) / n * 1e6
    return 0.0, {"us_per_report": per_call}


def report_every_10ms(config: Any, report: Any) -> Any:
    """Reports every 10 ms for up to 30 s (cost 1/step)."""
    for step in range(1, 3001):
        time.sleep(0.01)
        report(step, 1.0 / step)
    return 0.0
