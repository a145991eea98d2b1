"""Targets and process helpers for the DaskRunner tests: targets live here (not in the test
module) so the trials' worker processes import a light module; the helpers start real
``dask scheduler``/``dask worker`` processes and wait on conditions with deadlines."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

TESTS_DIR = str(Path(__file__).resolve().parent)
REPO_DIR = str(Path(__file__).resolve().parent.parent)

# -- targets -----------------------------------------------------------------------------------


def square(config: dict[str, Any]) -> float:
    """Cost x**2."""
    return float(config["x"]) ** 2


def check_shared(config: dict[str, Any], blob: bytes) -> float:
    """Succeeds only if the shared blob arrived whole."""
    assert len(blob) == config["size"] and blob[:4] == b"blob", "shared_data did not arrive"
    return float(config["x"])


def _mark(config: dict[str, Any], extra: str = "") -> None:
    """One marker file per execution: ``<i>.<uuid>`` holding the dask worker's pid, written
    under a dot-name first so that a test never reads it empty."""
    name = f"{config['i']}.{uuid.uuid4().hex}"
    folder = Path(config["dir"])
    (folder / f".{name}").write_text(f"{os.getppid()} {extra}")
    os.replace(folder / f".{name}", folder / name)


def executions(folder: Path) -> Counter[int]:
    """Executions per trial index, from the marker files (not the dot-named ones in writing)."""
    return Counter(int(p.name.split(".")[0]) for p in folder.iterdir()
                   if not p.name.startswith("."))


def sleep_mark(config: dict[str, Any]) -> float:
    """Record an execution, sleep ``config['sleep']`` seconds, cost ``i``."""
    _mark(config)
    time.sleep(config.get("sleep", 0.0))
    return float(config["i"])


def misbehave(config: dict[str, Any]) -> float:
    """Record an execution, then exit, SIGKILL itself, or succeed after ``config['sleep']``
    seconds (mode ``once``: only the first execution sleeps), as ``config['mode']`` says."""
    first = not any(Path(config["dir"]).glob(f"{config['i']}.*"))
    _mark(config)
    if config["mode"] == "exit":
        os._exit(3)
    if config["mode"] == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if config["mode"] != "once" or first:
        time.sleep(config.get("sleep", 0.0))
    return 1.0


def sleeper(config: dict[str, Any]) -> float:
    """Sleep ``config['t']`` seconds."""
    time.sleep(config["t"])
    return 0.0


def allocate(config: dict[str, Any]) -> float:
    """Allocate ``config['mb']`` megabytes and touch them."""
    block = bytearray(config["mb"] * 1024 * 1024)
    block[::4096] = b"x" * len(block[::4096])
    return float(len(block))


def devices(config: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    """Report the device ids and thread count it saw, when it ran, on which dask worker."""
    start = time.time()
    time.sleep(config.get("sleep", 0.05))
    return 0.0, {"start": start, "end": time.time(), "worker_pid": os.getppid(),
                 "cuda": os.environ.get("CUDA_VISIBLE_DEVICES"),
                 "rocr": os.environ.get("ROCR_VISIBLE_DEVICES"),
                 "omp": os.environ.get("OMP_NUM_THREADS")}


def interval(config: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    """Report when it ran and on which dask worker (pid), for placement checks."""
    start = time.time()
    time.sleep(config.get("sleep", 0.2))
    return 0.0, {"start": start, "end": time.time(), "worker_pid": os.getppid()}


# -- waiting and processes ---------------------------------------------------------------------


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``predicate`` until it is truthy; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.02)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([REPO_DIR, TESTS_DIR, env.get("PYTHONPATH", "")])
    return env


def start_scheduler(port: int) -> subprocess.Popen[bytes]:
    """A real ``dask scheduler`` on 127.0.0.1:``port`` (no dashboard) in its own session."""
    cmd = [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
           "--port", str(port), "--no-dashboard", "--dashboard-address", "127.0.0.1:0"]
    return subprocess.Popen(cmd, env=_env(), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_worker(address: str, name: str, *extra: str,
                 nthreads: int = 1) -> subprocess.Popen[bytes]:
    """A real ``dask worker`` (one thread, no nanny: a SIGKILL really loses it)."""
    cmd = [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads",
           str(nthreads),
           "--no-nanny", "--no-dashboard", "--name", name, "--host", "127.0.0.1",
           "--death-timeout", "60", *extra]
    return subprocess.Popen(cmd, env=_env(), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def kill_tree(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL a process started here, its session and its descendants, and reap it."""
    try:
        kids = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        kids = []
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    for kid in kids:
        try:
            kid.kill()
        except psutil.Error:
            pass
    proc.wait(timeout=10)


def dask_descendants(but: frozenset[int] = frozenset()) -> list[psutil.Process]:
    """Processes below this one (pids not in ``but``) that belong to dask or to trials."""
    out = []
    for p in psutil.Process().children(recursive=True):
        if p.pid in but:
            continue
        try:
            cmd = " ".join(p.cmdline())
        except psutil.Error:
            continue
        if "distributed" in cmd or "runner._worker.child" in cmd or "spawn_main" in cmd:
            out.append(p)
    return out


class ProcessCluster:
    """A dask scheduler and workers started as real processes on a free 127.0.0.1 port;
    :meth:`close` SIGKILLs and reaps every one."""

    def __init__(self) -> None:
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.started: list[Any] = []
        self.scheduler_proc: Any = None

    def scheduler(self) -> Any:
        self.scheduler_proc = start_scheduler(self.port)
        self.started.append(self.scheduler_proc)
        return self.scheduler_proc

    def worker(self, name: str, *extra: str, nthreads: int = 1) -> Any:
        self.started.append(start_worker(self.address, name, *extra, nthreads=nthreads))
        return self.started[-1]

    def wait_workers(self, n: int, timeout: float = 120.0) -> None:
        """Until ``n`` workers have joined; a scheduler still starting on a loaded machine can
        let a first connection time out, so connecting is retried until ``timeout``."""
        import distributed

        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                with distributed.Client(self.address, timeout=min(30.0, max(1.0, left)),
                                        set_as_default=False) as c:
                    c.wait_for_workers(n, timeout=max(1.0, deadline - time.monotonic()))
                    return
            except (OSError, TimeoutError):
                if time.monotonic() >= deadline:
                    raise

    def close(self) -> None:
        for p in self.started:
            kill_tree(p)


def drain(runner: Any, timeout: float = 60.0) -> list[Any]:
    """Collect ``(info, value)`` results until nothing is queued or executing (fails after
    ``timeout``)."""
    out: list[Any] = []
    deadline = time.monotonic() + timeout
    while runner.is_running():
        assert time.monotonic() < deadline, f"trials still running after {timeout} s"
        runner.wait(timeout=0.5)
        out.extend(runner.iter_results())
    out.extend(runner.iter_results())
    return out
