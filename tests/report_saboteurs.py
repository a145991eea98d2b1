"""Targets that abuse ``report()`` (issue 27, items 4, 5, 11, 12): they report from threads and
forked children that outlive the trial, from many threads at once, with absurd steps and huge
metrics. Importable by worker processes (imports nothing heavy)."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

LINGER = 1.0
"""Seconds a leftover reporter keeps reporting after its trial answered."""


def _keep_reporting(report: Any, seconds: float) -> None:
    end = time.monotonic() + seconds
    step = 1000
    while time.monotonic() < end:
        try:
            report(step, 0.5)
        except BaseException:  # noqa: BLE001 - whatever it says, a leftover goes on
            pass
        step += 1
        time.sleep(0.0002)


def leaves_a_reporting_thread(config: dict[str, Any], report: Any) -> float:
    """Reports once, starts a thread that goes on reporting for ``LINGER`` s after the trial
    returns (a leftover of the trial), and returns ``config["i"]`` at once."""
    report(1, 1.0)
    threading.Thread(target=_keep_reporting, args=(report, LINGER), daemon=True).start()
    time.sleep(0.002)  # it is reporting while the trial answers
    return float(config["i"])


async def leaves_a_reporting_thread_async(config: dict[str, Any], report: Any) -> float:
    """``async`` twin of :func:`leaves_a_reporting_thread`."""
    return leaves_a_reporting_thread(config, report)


def forks_a_reporter(config: dict[str, Any], report: Any) -> float:
    """Reports once, forks a child that goes on reporting for ``LINGER`` s (it outlives the
    trial unless the worker kills it), and returns ``config["i"]`` at once."""
    report(1, 1.0)
    if os.fork() == 0:
        try:
            _keep_reporting(report, LINGER)
        finally:
            os._exit(0)
    time.sleep(0.002)
    return float(config["i"])


N_THREADS, PER_THREAD = 8, 100


def reports_from_threads(config: dict[str, Any], report: Any) -> float:
    """``N_THREADS`` threads report ``PER_THREAD`` times each at once (steps ``t * 1000 + k``),
    each report with a ``config["kb"]`` KB metric; returns ``config["i"]`` after all joined."""
    blob = "x" * (config.get("kb", 0) * 1024)
    go = threading.Event()

    def one(t: int) -> None:
        go.wait()
        for k in range(PER_THREAD):
            report(t * 1000 + k, 0.5, blob=blob)

    threads = [threading.Thread(target=one, args=(t,)) for t in range(N_THREADS)]
    for thread in threads:
        thread.start()
    go.set()
    for thread in threads:
        thread.join()
    return float(config["i"])


async def reports_from_threads_async(config: dict[str, Any], report: Any) -> float:
    """``async`` twin of :func:`reports_from_threads` (the threads' reports: plain calls)."""
    import asyncio

    return await asyncio.to_thread(reports_from_threads, config, report)


def reports_step(config: dict[str, Any], report: Any) -> float:
    """Reports ``config["step"]`` (an expression, e.g. ``"10**5000"``) and returns
    ``config["i"]``; ``config["catch"]``: go on if ``report`` refuses it, keeping the error."""
    step = eval(config["step"], {})  # noqa: S307 - test input, a literal expression
    try:
        report(step, 0.5)
    except (TypeError, ValueError) as exc:
        if not config.get("catch"):
            raise
        return float(config["i"]), {"refused": str(exc)}  # type: ignore[return-value]
    return float(config["i"])


async def reports_step_async(config: dict[str, Any], report: Any) -> float:
    """``async`` twin of :func:`reports_step`."""
    return reports_step(config, report)


def reports_big_metric(config: dict[str, Any], report: Any) -> Any:
    """Reports ``config["reports"]`` times with a ``config["mb"]`` MB ``bytes`` metric; if a
    report is refused, keeps the error and returns its cost all the same."""
    blob = b"\x00" * int(config["mb"] * 2**20)
    try:
        for step in range(1, config.get("reports", 1) + 1):
            report(step, 0.5, blob=blob, acc=0.9)
    except ValueError as exc:
        return float(config["i"]), {"refused": str(exc)}
    return float(config["i"])


async def reports_big_metric_async(config: dict[str, Any], report: Any) -> Any:
    """``async`` twin of :func:`reports_big_metric`."""
    return reports_big_metric(config, report)


def reports_n(config: dict[str, Any], report: Any) -> float:
    """Reports steps 1..``config["n"]`` at once (no sleep); returns ``config["i"]``."""
    for step in range(1, config["n"] + 1):
        report(step, 1.0 / step)
    return float(config["i"])


async def reports_n_async(config: dict[str, Any], report: Any) -> float:
    """``async`` twin of :func:`reports_n`."""
    return reports_n(config, report)


ASYNC_TWINS = {
    leaves_a_reporting_thread: leaves_a_reporting_thread_async,
    reports_from_threads: reports_from_threads_async,
    reports_step: reports_step_async,
    reports_big_metric: reports_big_metric_async,
    reports_n: reports_n_async,
}
