"""Where worker processes are started (one long-lived thread for the whole driver process) and
with which environment."""

from __future__ import annotations

import os
import queue
import subprocess
import threading
from collections.abc import Mapping
from typing import Any

__all__ = ["SPAWNER", "child_env", "pidfd"]

_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def child_env(overlay: Mapping[str, str] | None) -> dict[str, str]:
    """A new worker's environment: ours, with this package first on ``PYTHONPATH`` (the worker
    runs ``-m runner._worker.child``), and the worker's own ``overlay`` on top."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [_PACKAGE_ROOT] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    if overlay:
        env.update(overlay)
    return env


class _Spawner:
    """Starts every worker process from one long-lived thread: PR_SET_PDEATHSIG ties a worker
    to the thread that started it, so a worker started by a short-lived caller thread would die
    with that thread, under another thread's trial."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[tuple[Any, Any, Any]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def popen(self, args: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve, daemon=True,
                                                name="trialrunner-spawner")
                self._thread.start()
        done: queue.SimpleQueue[tuple[bool, Any]] = queue.SimpleQueue()
        self._jobs.put((args, kwargs, done))
        ok, result = done.get()
        if not ok:
            raise result
        return result  # type: ignore[no-any-return]

    def _serve(self) -> None:
        while True:
            args, kwargs, done = self._jobs.get()
            try:
                done.put((True, subprocess.Popen(args, **kwargs)))
            except BaseException as exc:
                done.put((False, exc))


SPAWNER = _Spawner()


def pidfd(pid: int) -> int | None:
    """A descriptor that becomes readable when ``pid`` exits, where the platform has one."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None
