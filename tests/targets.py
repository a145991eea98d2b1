"""Target functions shared by the tests: well-behaved ones and named saboteurs.

All are module-level, so they travel to worker processes by reference. ``ASYNC_TWINS`` maps a
target to its ``async def`` version for ``AsyncioRunner``; a saboteur whose fault cannot exist in
a coroutine (``os._exit``, a signal to its own process, a memory or CPU overrun) has none.
Most take their orders from the config, so one target covers a whole table of cases.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import subprocess
import sys
import time
from typing import Any

from runner import testing

__all__ = ["ASYNC_TWINS", "async_twin"]


def write_atomically(path: str, text: str) -> None:
    """Write ``text`` to ``path`` so that a test polling for the file never sees it empty or
    half-written (a plain ``open(path, "w")`` creates it before the text is in)."""
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def _mark(config: Any) -> None:
    """Append this process's pid to ``dir/<id>`` (one line per time the trial ran)."""
    folder = config.get("dir")
    if folder is not None:
        path = os.path.join(folder, str(config["id"]))
        before = open(path).read() if os.path.exists(path) else ""
        write_atomically(path, f"{before}{os.getpid()}\n")


def act(config: Any) -> Any:
    """Mark the trial as started, then do ``config["action"]``: ``ok`` (cost = id), ``exit``
    (``os._exit(3)``), ``kill`` (SIGKILL itself), ``segv`` (read address 0), ``raise``."""
    _mark(config)
    action = config.get("action", "ok")
    if action == "exit":
        os._exit(3)
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if action == "segv":
        ctypes.string_at(0)
    if action == "raise":
        raise RuntimeError(f"trial {config['id']} raised")
    if action == "sleep":
        time.sleep(config.get("s", 60.0))
    return float(config.get("id", 0))


def spin(config: Any) -> Any:
    """Burn CPU for ``config["s"]`` seconds of wall time; with ``config["progress"]``, keep the
    CPU seconds used so far in that file (updated every 10 ms)."""
    end = time.monotonic() + config["s"]
    path = config.get("progress")
    out = open(path, "w") if path else None  # noqa: SIM115 - kept open until the trial dies
    cpu0 = time.process_time()
    next_write = 0.0
    while time.monotonic() < end:
        if out is not None and time.monotonic() >= next_write:
            out.seek(0)
            out.write(f"{time.process_time() - cpu0:.4f}\n")
            out.flush()
            next_write = time.monotonic() + 0.01
    if out is not None:
        out.close()
    return 0.0


def allocate(config: Any) -> Any:
    """Allocate and touch ``config["mb"]`` megabytes, then return 0."""
    block = bytearray(int(config["mb"] * 2**20))
    del block
    return 0.0


def big_result(config: Any) -> Any:
    """Return a ``config["mb"]`` megabyte bytes object in the info dict."""
    return 0.0, {"blob": b"x" * int(config["mb"] * 2**20)}


def whoami(config: Any) -> Any:
    """Report the pid of the process that evaluated the trial."""
    return 0.0, {"pid": os.getpid()}


def spawn_orphan(config: Any) -> Any:
    """Start a child that would sleep for a minute, write its pid to ``config["pidfile"]``, and
    return without waiting for it."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                             stdin=subprocess.DEVNULL)
    write_atomically(config["pidfile"], str(child.pid))
    return 0.0


def children_allocate(config: Any) -> Any:
    """Start ``config["n"]`` Python children that each allocate ``config["mb"]`` MB at once;
    report how many succeeded."""
    code = f"b = bytearray({int(config['mb'])} * 2**20)"
    procs = [subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for _ in range(config["n"])]
    codes = [p.wait() for p in procs]
    return 0.0, {"ok": sum(c == 0 for c in codes), "codes": codes}


class CountingBlob:
    """A large shared object that counts how often it was unpickled in the current process."""

    loads = 0

    def __init__(self, size: int) -> None:
        self.data = b"s" * size

    def __getstate__(self) -> bytes:
        return self.data

    def __setstate__(self, data: bytes) -> None:
        type(self).loads += 1
        self.data = data


def read_shared(config: Any, blob: CountingBlob) -> Any:
    """Report the shared blob's size and how often this process unpickled one."""
    return float(len(blob.data)), {"loads": CountingBlob.loads, "pid": os.getpid()}


async def act_async(config: Any) -> Any:
    """``async`` twin of :func:`act` for the actions a coroutine can take."""
    _mark(config)
    action = config.get("action", "ok")
    if action == "raise":
        raise RuntimeError(f"trial {config['id']} raised")
    if action == "sleep":
        await asyncio.sleep(config.get("s", 60.0))
    if action not in ("ok", "raise", "sleep"):
        raise ValueError(f"act_async cannot {action!r}")
    return float(config.get("id", 0))


async def whoami_async(config: Any) -> Any:
    """``async`` twin of :func:`whoami`."""
    return whoami(config)


async def read_shared_async(config: Any, blob: CountingBlob) -> Any:
    """``async`` twin of :func:`read_shared`."""
    return read_shared(config, blob)


ASYNC_TWINS = {act: act_async, whoami: whoami_async, read_shared: read_shared_async}


def async_twin(target: Any) -> Any:
    """The ``async`` version of a test target or conformance target, or ``None``."""
    twin = ASYNC_TWINS.get(target)
    if twin is None:
        try:
            twin = testing.async_twin(target)
        except KeyError:
            return None
    return twin


def ignore_sigterm_and_sleep(config: Any) -> Any:
    """Ignore SIGTERM, then sleep ``config["s"]`` seconds."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    time.sleep(config["s"])
    return 0.0


def sleep_with_child(config: Any) -> Any:
    """Start a child sleeping a minute, write both pids to ``config["pidfile"]``, then sleep."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                             stdin=subprocess.DEVNULL)
    write_atomically(config["pidfile"], f"{os.getpid()} {child.pid}")
    time.sleep(config["s"])
    return 0.0


def spin_ignoring_sigprof(config: Any) -> Any:
    """Ignore SIGPROF (as a profiler's handler would swallow it), then spin like :func:`spin`."""
    signal.signal(signal.SIGPROF, signal.SIG_IGN)
    return spin(config)


def _refuse_to_load() -> Any:
    raise RuntimeError("this result cannot be rebuilt")


class UnloadableResult:
    """Pickles fine in the worker, fails to unpickle in the driver."""

    def __reduce__(self) -> Any:
        return (_refuse_to_load, ())


def returns_unloadable(config: Any) -> Any:
    """Return an info value that cannot be unpickled by the driver."""
    return 0.0, {"thing": UnloadableResult()}


def returns_unpicklable(config: Any) -> Any:
    """Return an info dict holding a lock (cannot be pickled) next to plain values."""
    import threading

    return 1.5, {"lock": threading.Lock(), "note": "kept"}


def fork_then_exit(config: Any) -> Any:
    """Fork a child that sleeps (holding every inherited descriptor), write its pid to
    ``config["pidfile"]``, then ``os._exit(3)``: the worker dies while its pipes stay open."""
    pid = os.fork()
    if pid == 0:
        time.sleep(config.get("s", 30.0))
        os._exit(0)
    write_atomically(config["pidfile"], str(pid))
    os._exit(3)


def environ_probe(config: Any) -> Any:
    """With ``config["change"]``: set ``TR_LEAK``, drop ``TR_KEEP`` and set the umask to 077.
    Returns what it found first: ``TR_LEAK``, ``TR_KEEP``, the umask, and its pid."""
    umask = os.umask(0o022)
    os.umask(umask)
    found = {"leak": os.environ.get("TR_LEAK"), "keep": os.environ.get("TR_KEEP"),
             "umask": umask, "pid": os.getpid()}
    if config.get("change"):
        os.environ["TR_LEAK"] = "1"
        os.environ.pop("TR_KEEP", None)
        os.umask(0o077)
    return 0.0, found
