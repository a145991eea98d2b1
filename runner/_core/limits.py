"""Resource limits: validated once at construction, applied inside the worker process around
each trial (memory and CPU through ``setrlimit``), and enforced for wall time by the supervisor.

Semantics (docs/limits.md):

* ``memory_limit`` (MB) caps the address space the target may add to its worker process, per
  process: each child the target starts may add as much again. It is lifted before the result is
  serialised, so returning a large result is never MEMORYOUT.
* ``cpu_time_limit`` (s) is the worker's CPU-time timer (``ITIMER_PROF``): when the trial has used
  its allowance the worker dies of ``SIGPROF`` and the trial is TIMEOUT naming the CPU-time limit.
  ``RLIMIT_CPU`` (whole seconds, ``SIGXCPU``) backs it up one to two seconds later.
* ``walltime_limit`` (s) is watched by the process that started the worker: at the deadline the
  worker's process group gets SIGTERM, then SIGKILL after ``grace`` seconds.
"""

from __future__ import annotations

import math
import os
import signal
import sys
import warnings
from typing import Any

import attrs

from runner._core.validation import check_grace, check_memory_mb, check_seconds
from runner.errors import LimitError, MemoryLimitWarning

__all__ = ["Limits", "MIN_MEMORY_MB", "MemoryLimitWarning", "address_space_now"]

MIN_MEMORY_MB = 16
"""Below this a Python trial cannot allocate its own frames; smaller limits are refused."""


_STATM: list[int] = []
"""``[pid, fd]``: this process's ``/proc/self/statm``, kept open and read again at offset 0 (one
system call instead of three: about 4 µs a trial less); opened again in a forked child."""


def address_space_now() -> int:
    """This process's address space in bytes (Linux; ``OSError`` elsewhere), before a memory cap
    is laid on top of it."""
    pid = os.getpid()
    if not _STATM or _STATM[0] != pid:
        fd = os.open("/proc/self/statm", os.O_RDONLY | os.O_CLOEXEC)
        if _STATM:  # a forked child: the parent's descriptor reads the parent
            try:
                os.close(_STATM[1])
            except OSError:
                pass
        _STATM[:] = [pid, fd]
    try:
        pages = int(os.pread(_STATM[1], 256, 0).split()[0])
    except ValueError as exc:
        raise OSError(f"/proc/self/statm was not understood: {exc}") from None
    return pages * _PAGE


try:
    _PAGE = os.sysconf("SC_PAGE_SIZE")
except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
    _PAGE = 4096


def _walltime(value: Any) -> float | None:
    return check_seconds(value, "walltime_limit")


def _cpu_time(value: Any) -> float | None:
    return check_seconds(value, "cpu_time_limit")


def _memory(value: Any) -> float | None:
    limit = check_memory_mb(value, "memory_limit")
    if limit is not None:
        _warn_if_beyond_machine(limit)
    return limit


def _warn_if_beyond_machine(limit_mb: float) -> None:
    """Warn when ``memory_limit`` exceeds the machine's memory plus swap: most likely bytes or
    KiB given where megabytes are meant (2 GiB in bytes is 2 PB in MB), a limit that never acts."""
    import psutil

    have_mb = (psutil.virtual_memory().total + psutil.swap_memory().total) / 2**20
    if limit_mb <= have_mb:
        return
    warnings.warn(MemoryLimitWarning(
        f"memory_limit={limit_mb:g} MB is more than this machine has ({have_mb:,.0f} MB of "
        "memory and swap), so it will never act; memory_limit is in megabytes (MB): for 2 GiB "
        "pass memory_limit=2048, not 2 * 1024**3", limit_mb=limit_mb, have_mb=have_mb),
        stacklevel=_caller_stacklevel())


def _caller_stacklevel() -> int:
    """The stack level of the first frame outside this package, so the warning points at the
    user's line that built the runner."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    frame, level = sys._getframe(1), 1
    while frame is not None and (frame.f_code.co_filename.startswith("<attrs generated")
                                 or os.path.abspath(frame.f_code.co_filename).startswith(package)):
        frame, level = frame.f_back, level + 1  # type: ignore[assignment]
    return level


@attrs.frozen
class Limits:
    """Per-trial resource limits; ``None`` means unlimited."""

    walltime: float | None = attrs.field(default=None, converter=_walltime)
    cpu_time: float | None = attrs.field(default=None, converter=_cpu_time)
    memory: float | None = attrs.field(default=None, converter=_memory)
    grace: float = attrs.field(default=0.25, converter=check_grace)
    fresh_process: bool = attrs.field(default=False)
    """A new worker process for every trial (full isolation, at the cost of a process start)."""

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.fresh_process, bool):
            raise TypeError(f"fresh_process_per_trial must be True or False, got "
                            f"{self.fresh_process!r}")
        if self.memory is not None and self.memory < MIN_MEMORY_MB:
            raise LimitError(
                f"memory_limit={self.memory:g} MB cannot be honoured: a Python trial needs at "
                f"least {MIN_MEMORY_MB} MB beyond its worker's own size"
            )
        if self.memory is not None and not sys.platform.startswith("linux"):
            raise LimitError(
                f"memory_limit cannot be enforced on {sys.platform}: it needs Linux's "
                "RLIMIT_AS; run on Linux or drop the limit"
            )
        if self.cpu_time is not None and not _has_rlimits():
            raise LimitError(
                f"cpu_time_limit cannot be enforced on {sys.platform}: it needs POSIX "
                "RLIMIT_CPU; run on Linux or macOS, or drop the limit"
            )

    @property
    def any(self) -> bool:
        """Whether trials need a supervised worker process: a limit is set, or a fresh process
        per trial was asked for."""
        return (self.walltime is not None or self.cpu_time is not None
                or self.memory is not None or self.fresh_process)

    def as_dict(self) -> dict[str, float | None]:
        """The limits by their constructor names, for ``meta``."""
        return {"walltime_limit": self.walltime, "cpu_time_limit": self.cpu_time,
                "memory_limit": self.memory}


def _has_rlimits() -> bool:
    try:
        import resource
    except ImportError:
        return False
    return (hasattr(resource, "RLIMIT_AS") and hasattr(resource, "RLIMIT_CPU")
            and hasattr(signal, "ITIMER_PROF"))


class AppliedLimits:
    """Sets memory and CPU rlimits in the worker for one trial and lifts them afterwards."""

    def __init__(self, limits: Limits) -> None:
        import resource

        self._resource = resource
        self._limits = limits
        self._as_soft, self._as_hard = resource.getrlimit(resource.RLIMIT_AS)
        self._cpu_soft, self._cpu_hard = resource.getrlimit(resource.RLIMIT_CPU)

    def __enter__(self) -> AppliedLimits:
        res, lim = self._resource, self._limits
        if lim.memory is not None:
            cap = address_space_now() + int(lim.memory * 1024 * 1024)
            if self._as_hard != res.RLIM_INFINITY:
                cap = min(cap, self._as_hard)
            res.setrlimit(res.RLIMIT_AS, (cap, self._as_hard))
        if lim.cpu_time is not None:
            # Precise: the process CPU-time timer; SIGPROF's default action ends the worker when
            # the trial has used exactly its allowance (no Python handler involved).
            signal.setitimer(signal.ITIMER_PROF, lim.cpu_time)
            # Backstop in whole seconds, never below the allowance: a target that installs its
            # own SIGPROF handler (a profiler) still dies of SIGXCPU within a second or two.
            t = os.times()
            cap = math.ceil(t.user + t.system + lim.cpu_time) + 1
            if self._cpu_hard != res.RLIM_INFINITY:
                cap = min(cap, self._cpu_hard)
            res.setrlimit(res.RLIMIT_CPU, (cap, self._cpu_hard))
        return self

    def __exit__(self, *exc: object) -> None:
        res, lim = self._resource, self._limits
        if lim.memory is not None:
            res.setrlimit(res.RLIMIT_AS, (self._as_soft, self._as_hard))
        if lim.cpu_time is not None:
            signal.setitimer(signal.ITIMER_PROF, 0)
            res.setrlimit(res.RLIMIT_CPU, (self._cpu_soft, self._cpu_hard))
