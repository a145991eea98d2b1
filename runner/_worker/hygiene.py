"""Worker hygiene: what a trial may change in its worker process that would change the next
trial's fate, checked after every trial so a reused worker is as good as a new one.

Checked (about 4 µs): the resource limits AS, CPU and NOFILE, the handlers
of SIGTERM, SIGINT, SIGPROF, SIGXCPU, SIGALRM, SIGCHLD and SIGPIPE, the real and profiling
interval timers, extra Python threads still running, the working directory, the environment
variables and the umask.
(Native threads are not counted: numerical libraries start idle thread pools on first import.) The
working directory, the environment and the umask are put back; anything else that differs ends
the worker after it has sent the trial's result (the driver starts a new one) and the trial's
``additional_info`` says ``worker_recycled``: why. Not checked (and so persisting between
trials on a reused worker, docs/limits.md): module state and caches, open files.
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

__all__ = ["Baseline"]

try:  # the C function: signal.getsignal wraps it in Python, converting to enums (~0.5 us each)
    from _signal import getsignal as _getsignal
except ImportError:  # pragma: no cover - not CPython
    _getsignal = signal.getsignal

_RLIMITS = ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_NOFILE")
_SIGNALS = ("SIGTERM", "SIGINT", "SIGPROF", "SIGXCPU", "SIGALRM", "SIGCHLD", "SIGPIPE")
_TIMERS = ("ITIMER_REAL", "ITIMER_PROF")


class Baseline:
    """The worker's state right after it loaded the target, and the check against it."""

    def __init__(self) -> None:
        try:
            import resource
        except ImportError:  # not POSIX: nothing of this to check
            resource = None  # type: ignore[assignment]
        self._resource: Any = resource
        self._getrlimit: Any = resource.getrlimit if resource is not None else None
        self._limits = [(getattr(resource, n), resource.getrlimit(getattr(resource, n)))
                        for n in _RLIMITS if resource is not None and hasattr(resource, n)]
        self._signals = [(int(getattr(signal, n)), _getsignal(getattr(signal, n)))
                         for n in _SIGNALS if hasattr(signal, n)]
        self._timers = [getattr(signal, n) for n in _TIMERS if hasattr(signal, n)]
        self._which = [which for which, _ in self._limits]
        self._limit_values = [limit for _, limit in self._limits]
        self._signums = [signum for signum, _ in self._signals]
        self._handlers = [handler for _, handler in self._signals]
        self._no_timers = [(0.0, 0.0)] * len(self._timers)
        self._threads = threading.active_count()
        self._cwd = os.getcwd()
        self._environ = dict(os.environ)
        self._raw_environ = dict(_raw(os.environ))  # compared in C: bytes on POSIX
        self._held: dict[int, tuple[dict[str, str], Any, dict[str, str]]] = {}
        self._umask = os.umask(0o022)
        os.umask(self._umask)

    def check(self, held: dict[str, str] | None = None) -> str | None:
        """``None`` when the worker is as it was; else what the trial changed (and left).
        ``held``: the variables of the share the worker keeps for its next trial
        (runner/_worker/assign.py), expected on top of its own. A few microseconds (the calls
        run in C through ``map``): it runs after every trial, once the answer is on its way."""
        raw_environ = self._raw_environ if held is None else self._with(held)[0]
        if (list(map(self._getrlimit, self._which)) == self._limit_values
                and list(map(_getsignal, self._signums)) == self._handlers
                and list(map(signal.getitimer, self._timers)) == self._no_timers
                and threading.active_count() <= self._threads
                and os.getcwd() == self._cwd
                and _raw(os.environ) == raw_environ
                and os.umask(self._umask) == self._umask):  # put back as it is read
            return None
        self._put_back(held)
        return self._what_changed()

    def _with(self, held: dict[str, str]) -> tuple[Any, dict[str, str]]:
        """The environment expected while ``held`` is laid over the worker's own: as stored
        (compared) and as strings (put back); made once per share."""
        got = self._held.get(id(held))
        if got is None or got[0] is not held:
            if len(self._held) > 64:  # many distinct shares: keep the memory bounded
                self._held.clear()
            environ = {**self._environ, **held}
            data = getattr(os.environ, "_data", None)
            if isinstance(data, dict):
                encode_key, encode_value = os.environ.encodekey, os.environ.encodevalue
                raw: Any = {encode_key(k): encode_value(v) for k, v in environ.items()}
            else:
                raw = environ
            got = self._held[id(held)] = (held, raw, environ)  # held: its id stays its own
        return got[1], got[2]

    def _put_back(self, held: dict[str, str] | None) -> None:
        """What a trial may change that is simply restored, not a reason for a new worker."""
        os.umask(self._umask)
        raw_environ, environ = ((self._raw_environ, self._environ) if held is None
                                else self._with(held))
        if _raw(os.environ) != raw_environ:
            os.environ.clear()  # unsetenv/putenv too, so child processes see the original
            os.environ.update(environ)

    def _what_changed(self) -> str | None:
        changed = []
        try:
            if os.getcwd() != self._cwd:
                os.chdir(self._cwd)  # put back, not a reason to replace the worker
        except OSError:
            changed.append("working directory")
        for which, limit in self._limits:
            if self._getrlimit(which) != limit:
                changed.append(f"resource limit {_rlimit_name(self._resource, which)}")
        for signum, handler in self._signals:
            if _getsignal(signum) != handler:
                changed.append(f"{signal.Signals(signum).name} handler")
        for timer in self._timers:
            if signal.getitimer(timer) != (0.0, 0.0):
                changed.append("an interval timer")
        if threading.active_count() > self._threads:
            changed.append("a thread still running")
        if not changed:
            return None
        return "the trial changed its worker process (" + ", ".join(changed) + ")"


def _raw(environ: Any) -> Any:
    """The environment's own storage where CPython has one (fast to compare), else a copy."""
    data = getattr(environ, "_data", None)
    return data if isinstance(data, dict) else dict(environ)


def _rlimit_name(resource: Any, which: int) -> str:
    for name in _RLIMITS:
        if getattr(resource, name, None) == which:
            return name
    return str(which)
