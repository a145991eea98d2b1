"""Saboteur targets of the fault-injection suite (``tests/faults``), next to ``targets.py``.

Module-level, so they travel to worker processes by reference. Each leaves evidence in files
(its pid, when it started, how often it ran) so a test can check what happened without trusting
the runner's own report. ``ASYNC_TWINS`` maps a target to its ``async def`` version where the
fault can exist in a coroutine.
"""

from __future__ import annotations

import math
import os
import sys
import time
from typing import Any

from targets import write_atomically

# Worker processes import this module to unpickle a target: it imports nothing heavy at the top
# (asyncio, subprocess, numpy are imported where used), so a worker starts fast.

__all__ = ["ASYNC_TWINS", "script", "wait_for_file"]


def wait_for_file(path: str, timeout: float = 60.0) -> bool:
    """Poll until ``path`` exists (a target waiting for the test's go-ahead); ``False`` on
    timeout, so a forgotten test never leaves a trial hanging for ever."""
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _append(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _started(config: Any) -> None:
    """Count one execution in ``dir/runs-<id>`` and announce it in ``dir/started-<id>``."""
    folder, ident = config["dir"], config["id"]
    _append(os.path.join(folder, f"runs-{ident}"), f"{os.getpid()}\n")
    name = os.path.join(folder, f"started-{ident}")
    with open(name + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.replace(name + ".tmp", name)


def raise_with_pid(config: Any) -> Any:
    """Write this process's pid to ``config["pidfile"]``, then raise ``ValueError``."""
    write_atomically(config["pidfile"], str(os.getpid()))
    raise ValueError(f"bad value {config['x']}")


async def raise_with_pid_async(config: Any) -> Any:
    """``async`` twin of :func:`raise_with_pid`."""
    return raise_with_pid(config)


def gated(config: Any) -> Any:
    """Count the execution, wait for ``dir/go``, then do ``config["action"]``: ``exit``
    (``os._exit(3)``) or ``ok`` (cost = id, after ``config["s"]`` seconds of work)."""
    _started(config)
    wait_for_file(os.path.join(config["dir"], "go"))
    if config.get("action") == "exit":
        os._exit(3)
    time.sleep(config.get("s", 0.0))
    return float(config["id"])


def stamped_allocate(config: Any) -> Any:
    """Write the time to ``config["stamp"]`` (if given) just before allocating
    ``config["mb"]`` MB."""
    if config.get("stamp") is not None:
        write_atomically(config["stamp"], repr(time.time()))
    block = bytearray(int(config["mb"] * 2**20))
    block[:: 4096] = b"x" * len(block[:: 4096])
    return 0.0


def busy(config: Any) -> Any:
    """Burn CPU for up to ``config["s"]`` seconds of wall time."""
    end = time.monotonic() + config["s"]
    n = 0
    while time.monotonic() < end:
        n += 1
    return 0.0


def limited(config: Any) -> Any:
    """Do ``config["do"]``: ``sleep`` a minute, ``busy`` (CPU for a minute), ``alloc`` 2 GB, or
    ``ok`` (return 0) -- one target for a runner with every limit set."""
    what = config["do"]
    if what == "sleep":
        time.sleep(60)
    elif what == "busy":
        busy({"s": 60})
    elif what == "alloc":
        stamped_allocate({"mb": 2048})  # no stamp: an atomic write would replace the path
    return 0.0


def noop(config: Any) -> Any:
    """Return 0 at once: the cheapest trial there is."""
    return 0.0


async def noop_async(config: Any) -> Any:
    """``async`` twin of :func:`noop`."""
    return 0.0


def flaky(config: Any) -> Any:
    """Raise on the first ``config["fail"]`` executions of trial ``config["id"]`` (counted in
    ``dir``), then return the id; with ``fail`` < 0 it always raises."""
    _started(config)
    with open(os.path.join(config["dir"], f"runs-{config['id']}")) as f:
        runs = len(f.read().split())
    if config["fail"] < 0 or runs <= config["fail"]:
        raise RuntimeError(f"trial {config['id']} failed on execution {runs}")
    return float(config["id"])


async def flaky_async(config: Any) -> Any:
    """``async`` twin of :func:`flaky`."""
    return flaky(config)


def record(config: Any) -> Any:
    """Count the execution, work ``config["s"]`` seconds, return ``config["x"]``."""
    _started(config)
    time.sleep(config.get("s", 0.0))
    return float(config["x"])


async def record_async(config: Any) -> Any:
    """``async`` twin of :func:`record`."""
    return record(config)


def stoppable(config: Any) -> Any:
    """Count the execution, then sleep up to a minute, ending early once ``dir/stop`` exists
    (a thread that cannot be killed still ends)."""
    _started(config)
    wait_for_file(os.path.join(config["dir"], "stop"), config.get("s", 60.0))
    return 0.0


async def stoppable_async(config: Any) -> Any:
    """``async`` twin of :func:`stoppable`."""
    _started(config)
    import asyncio

    stop = os.path.join(config["dir"], "stop")
    end = time.monotonic() + config.get("s", 60.0)
    while time.monotonic() < end and not os.path.exists(stop):
        await asyncio.sleep(0.01)
    return 0.0


def odd_values(config: Any) -> Any:
    """Return info holding what JSON has no type for: numpy scalars, a tuple, a Path, a
    datetime, NaN and an object without any encoding."""
    import datetime
    import pathlib

    import numpy as np

    info = {"np_int": np.int64(7), "np_float": np.float32(0.5), "np_bool": np.bool_(True),
            "tuple": (1, 2), "path": pathlib.Path("/tmp/x"),
            "when": datetime.datetime(2024, 1, 2, 3, 4, 5), "nan": math.nan,
            "thing": _Opaque()}
    return float(config["x"]), info


async def odd_values_async(config: Any) -> Any:
    """``async`` twin of :func:`odd_values`."""
    return odd_values(config)


class _Opaque:
    """An object with no JSON encoding (its repr is all a lenient encoder can keep)."""

    def __repr__(self) -> str:
        return "<opaque>"


def run_count(config: Any) -> Any:
    """Count the execution and return 1 (a trial that must run at most once)."""
    _started(config)
    return 1.0


async def run_count_async(config: Any) -> Any:
    """``async`` twin of :func:`run_count`."""
    return run_count(config)


def hog(config: Any) -> Any:
    """Count the execution, allocate and touch ``config["mb"]`` MB, hold it ``config["hold"]``
    seconds, and report the process and its parent (the dask worker)."""
    _started(config)
    block = bytearray(int(config["mb"] * 2**20))
    block[:: 4096] = b"x" * len(block[:: 4096])
    time.sleep(config.get("hold", 0.0))
    return 0.0, {"pid": os.getpid(), "ppid": os.getppid()}


def sleep_with_child(config: Any) -> Any:
    """A gated warm-up trial (no ``s``), or: start a child sleeping a minute, write both pids
    to ``config["pidfile"]``, then sleep ``config["s"]`` seconds."""
    if "s" not in config:
        return gated(config)
    import subprocess

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                             stdin=subprocess.DEVNULL)
    write_atomically(config["pidfile"], f"{os.getpid()} {child.pid}")
    time.sleep(config["s"])
    return 0.0


async def big_result_async(config: Any) -> Any:
    """``async`` twin of ``targets.big_result``: a ``config["mb"]`` megabyte info value."""
    return 0.0, {"blob": b"x" * int(config["mb"] * 2**20)}


ASYNC_TWINS = {
    raise_with_pid: raise_with_pid_async, noop: noop_async,
    flaky: flaky_async, record: record_async, stoppable: stoppable_async,
    odd_values: odd_values_async, run_count: run_count_async,
}


def script(folder: Any, name: str, body: str) -> str:
    """Write an executable Python script ``folder/name`` running ``body`` (with ``os``, ``sys``,
    ``time``, ``subprocess`` and ``json`` imported) under this interpreter; return its path."""
    path = folder / name
    path.write_text(f"#!{sys.executable}\nimport json, os, subprocess, sys, time\n{body}\n")
    path.chmod(0o755)
    return str(path)


def reports_every(config: Any, report: Any) -> Any:
    """Reports steps 1..``config["n"]`` (cost ``1/step``) every ``config["every"]`` seconds;
    returns the same curve for the simulated runner to replay."""
    for step in range(1, config["n"] + 1):
        time.sleep(config["every"])
        report(step, 1.0 / step)
    return 0.0, {"curve": [(s, 1.0 / s, s * config["every"]) for s in range(1, config["n"] + 1)],
                 "runtime": config["n"] * config["every"]}


async def reports_every_async(config: Any, report: Any) -> Any:
    """``async`` twin of :func:`reports_every`."""
    import asyncio

    for step in range(1, config["n"] + 1):
        await asyncio.sleep(config["every"])
        await report(step, 1.0 / step)
    return 0.0


def ignores_stop(config: Any, report: Any) -> Any:
    """Reports like :func:`reports_every` but swallows the stop (and everything) and goes on
    for ``config["n"]`` steps whatever it is told; ``config["quiet"]``: stop reporting once
    told, only sleep."""
    told = False
    for step in range(1, config["n"] + 1):
        time.sleep(config["every"])
        if told and config.get("quiet"):
            continue
        try:
            report(step, 1.0 / step)
        except BaseException:
            told = True
    return 0.0


async def ignores_stop_async(config: Any, report: Any) -> Any:
    """``async`` twin of :func:`ignores_stop` (it swallows cancellation only once)."""
    import asyncio

    for step in range(1, config["n"] + 1):
        await asyncio.sleep(config["every"])
        try:
            report(step, 1.0 / step)
        except Exception:
            pass
    return 0.0


ASYNC_TWINS.update({reports_every: reports_every_async, ignores_stop: ignores_stop_async})


def counts_in_checkpoint(config: Any, checkpoint: Any) -> Any:
    """Counts its runs in ``checkpoint/count`` (the trial's checkpoint directory); returns that
    count (0 on a fresh directory) and the directory it was given."""
    path = checkpoint / "count"
    count = int(path.read_text()) if path.exists() else 0
    path.write_text(str(count + 1))
    return float(count), {"dir": str(checkpoint), "is_dir": checkpoint.is_dir(), "runtime": 1.0}


async def counts_in_checkpoint_async(config: Any, checkpoint: Any) -> Any:
    """``async`` twin of :func:`counts_in_checkpoint`."""
    return counts_in_checkpoint(config, checkpoint)


def trains_from_checkpoint(config: Any, budget: Any, report: Any, checkpoint: Any) -> Any:
    """Trains up to ``budget`` steps of ``config["every"]`` seconds, saving its step in
    ``checkpoint`` before reporting it (cost ``1/step``) and starting from the step saved
    there; returns the step it started from."""
    state = checkpoint / "step"
    step = start = int(state.read_text()) if state.exists() else 0
    while step < budget:
        step += 1
        time.sleep(config["every"])
        state.write_text(str(step))
        report(step, 1.0 / step)
    return 1.0 / step, {"started": start}


async def trains_from_checkpoint_async(config: Any, budget: Any, report: Any,
                                       checkpoint: Any) -> Any:
    """``async`` twin of :func:`trains_from_checkpoint`."""
    import asyncio

    state = checkpoint / "step"
    step = start = int(state.read_text()) if state.exists() else 0
    while step < budget:
        step += 1
        await asyncio.sleep(config["every"])
        state.write_text(str(step))
        await report(step, 1.0 / step)
    return 1.0 / step, {"started": start}


ASYNC_TWINS.update({counts_in_checkpoint: counts_in_checkpoint_async,
                    trains_from_checkpoint: trains_from_checkpoint_async})
