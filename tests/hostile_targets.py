"""Targets that attack the machinery around them (FAULTS part H): they fork, write into
descriptors they do not own, outlive their wall limit politely, disarm their limits, leave
state behind, or hand back values that break the worker's own code."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
import time
from typing import Any


def _write_atomically(path: str, text: str) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def fork_and_return(config: dict[str, Any]) -> float:
    """Forks; parent and child both return (a fork+exec whose exec failed)."""
    os.fork()
    return float(config["i"])


def write_garbage_low_fds(config: dict[str, Any]) -> float:
    """Writes junk to descriptors 3..20, whatever they are."""
    for fd in range(3, 21):
        try:
            os.write(fd, b"garbage")
        except OSError:
            pass
    return float(config["i"])


def write_garbage_to_pipes(config: dict[str, Any]) -> float:
    """Writes junk (and a length that claims 1.7 GB) into every pipe it can find."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd < 3:
            continue
        try:
            if stat.S_ISFIFO(os.fstat(fd).st_mode):
                os.write(fd, b"garbage!" * 4)
        except OSError:
            pass
    return float(config["i"])


def returns_on_sigterm(config: dict[str, Any]) -> float:
    """Turns SIGTERM into an orderly return of a (too late) result."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    while not stop.is_set():
        time.sleep(0.01)
    return 0.5


def exits_on_sigterm(config: dict[str, Any]) -> float:
    """Turns SIGTERM into sys.exit."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    time.sleep(60)
    return 0.5


def escaped_child(config: dict[str, Any]) -> float:
    """Starts a child in a session of its own (out of the worker's process group), then ends
    as ``config["then"]`` says: "sleep" (past the wall limit) or "exit" (os._exit(3))."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                             start_new_session=True)
    _write_atomically(config["pidfile"], str(child.pid))
    time.sleep(float(config.get("settle", 0.6)))  # long enough for the outside watch to see it
    if config["then"] == "exit":
        os._exit(3)
    time.sleep(60)
    return 0.0


def disarms_cpu_limit(config: dict[str, Any]) -> float:
    """Ignores SIGPROF/SIGXCPU, raises its own CPU rlimit, then spins."""
    import resource

    signal.signal(signal.SIGPROF, signal.SIG_IGN)
    signal.signal(signal.SIGXCPU, signal.SIG_IGN)
    soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(resource.RLIMIT_CPU, (hard, hard))
    end = time.monotonic() + float(config["s"])
    while time.monotonic() < end:
        pass
    return 0.0


def disarms_memory_limit(config: dict[str, Any]) -> float:
    """Lifts its own address-space limit, then touches ``mb`` megabytes and holds them."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
    blob = b"\x01" * (int(config["mb"]) * 2**20)
    time.sleep(float(config.get("hold", 3.0)))
    return float(len(blob) > 0)


def spin(config: dict[str, Any]) -> float:
    """Spins on the CPU for ``s`` seconds."""
    end = time.monotonic() + float(config["s"])
    while time.monotonic() < end:
        pass
    return 1.0, {"pid": os.getpid()}


def leaves_a_spinning_thread(config: dict[str, Any]) -> float:
    """Returns at once, leaving a thread that spins for ever."""
    def forever() -> None:
        while True:
            pass

    threading.Thread(target=forever, daemon=True).start()
    return 1.0, {"pid": os.getpid()}


def lowers_nofile(config: dict[str, Any]) -> float:
    """Lowers its soft descriptor limit to 12 and returns."""
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (12, hard))
    return 1.0, {"pid": os.getpid()}


def opens_many_files(config: dict[str, Any]) -> float:
    """Opens 40 files at once (fails under a descriptor limit a previous trial left)."""
    files = [open(os.devnull) for _ in range(40)]
    for f in files:
        f.close()
    return 2.0, {"pid": os.getpid()}


class _Unpicklable:
    def __reduce__(self) -> Any:
        raise RuntimeError("refuses to pickle")


class _Unprintable(_Unpicklable):
    def __repr__(self) -> str:
        raise RuntimeError("refuses to print")


def info_that_will_not_travel(config: dict[str, Any]) -> Any:
    """Returns a cost with info values (and a key) that break pickling and repr."""
    return 0.25, {"ok": "kept", "bad": _Unpicklable(), "worse": _Unprintable(),
                  _Unprintable(): "a key that will not travel"}


def identity(config: dict[str, Any]) -> float:
    return float(config["i"])


class _Bomb:
    """Pickles to a few bytes, unpickles to ``n`` bytes."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __reduce__(self) -> Any:
        return bytes, (self.n,)


def returns_a_pickle_bomb(config: dict[str, Any]) -> Any:
    """A cost, and an info value whose pickle is tiny but decodes to ``mb`` megabytes."""
    return 0.5, {"bomb": _Bomb(int(config["mb"]) * 2**20)}


def first_then_second(config: dict[str, Any]) -> Any:
    """Runs the target of this module named ``config["which"]`` (one runner, several faults)."""
    return globals()[config["which"]](config)
