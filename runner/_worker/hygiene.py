"""Worker hygiene: what a trial may change in its worker process that would change the next
trial's fate, checked after every trial so a reused worker is as good as a new one.

Checked (a few microseconds): resource limits, the dispositions of the signals our limits and
supervisor rely on, interval timers, extra threads still running, the working directory. The
working directory is put back; anything else that differs ends the worker after it has sent
the trial's result (the driver starts a new one) and the trial's ``additional_info`` says
``worker_recycled``: why. Not checked (and so persisting between trials on a reused worker,
docs/limits.md): environment variables, module state and caches, open files, the umask.
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

__all__ = ["Baseline"]

_RLIMITS = ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_DATA",
            "RLIMIT_STACK", "RLIMIT_FSIZE", "RLIMIT_CORE")
_SIGNALS = ("SIGTERM", "SIGINT", "SIGPROF", "SIGXCPU", "SIGALRM", "SIGVTALRM", "SIGCHLD",
            "SIGPIPE", "SIGHUP", "SIGUSR1", "SIGUSR2")
_TIMERS = ("ITIMER_REAL", "ITIMER_VIRTUAL", "ITIMER_PROF")


class Baseline:
    """The worker's state right after it loaded the target, and the check against it."""

    def __init__(self) -> None:
        try:
            import resource
        except ImportError:  # not POSIX: nothing of this to check
            resource = None  # type: ignore[assignment]
        self._resource: Any = resource
        self._limits = [(getattr(resource, n), resource.getrlimit(getattr(resource, n)))
                        for n in _RLIMITS if resource is not None and hasattr(resource, n)]
        self._signals = [(getattr(signal, n), signal.getsignal(getattr(signal, n)))
                         for n in _SIGNALS if hasattr(signal, n)]
        self._timers = [getattr(signal, n) for n in _TIMERS if hasattr(signal, n)]
        self._threads = threading.active_count()
        self._native_threads = _native_threads()
        self._cwd = os.getcwd()

    def check(self) -> str | None:
        """``None`` when the worker is as it was; else what the trial changed (and left)."""
        changed = []
        try:
            if os.getcwd() != self._cwd:
                os.chdir(self._cwd)
        except OSError:
            changed.append("working directory")
        for which, limit in self._limits:
            if self._resource.getrlimit(which) != limit:
                changed.append(f"resource limit {_rlimit_name(self._resource, which)}")
        for signum, handler in self._signals:
            if signal.getsignal(signum) != handler:
                changed.append(f"{signal.Signals(signum).name} handler")
        for timer in self._timers:
            if signal.getitimer(timer) != (0.0, 0.0):
                changed.append("an interval timer")
        if threading.active_count() > self._threads or _native_threads() > self._native_threads:
            changed.append("a thread still running")
        if not changed:
            return None
        return "the trial changed its worker process (" + ", ".join(changed) + ")"


def _rlimit_name(resource: Any, which: int) -> str:
    for name in _RLIMITS:
        if getattr(resource, name, None) == which:
            return name
    return str(which)


def _native_threads() -> int:
    """Threads of this process the kernel knows (threads started outside ``threading`` too)."""
    try:
        with open("/proc/self/stat", "rb") as f:
            stat = f.read()
        return int(stat[stat.rindex(b")") + 2:].split()[17])
    except (OSError, ValueError, IndexError):
        return 0
