"""Validation of the runners' numeric arguments against what this platform can represent, so an
absurd value fails at construction naming the argument and its range, never later in a worker.

Bounds and why (docs/decisions.md, "Numeric arguments"):

* limits in seconds (``walltime_limit``, ``cpu_time_limit``) at most `MAX_SECONDS`: the
  supervisor waits with ``poll()``, whose timeout is a C ``int`` of milliseconds;
* ``memory_limit`` at most `MAX_MEMORY_MB`: the byte count plus the worker's own size must
  fit ``setrlimit``'s signed 64-bit ``rlim_t``;
* ``grace`` a number of seconds in ``0..MAX_GRACE``;
* worker counts at most `max_workers` (64 per usable core, and the process limit
  ``RLIMIT_NPROC``) where each worker is a process or a thread of this machine, else (coroutines,
  simulated workers, a remote executor) at most `MAX_CONCURRENCY`.
"""

from __future__ import annotations

import math
import numbers
import os
from typing import Any

from trials._numbers import describe, real_to_float

__all__ = [
    "MAX_CONCURRENCY",
    "MAX_GRACE",
    "MAX_MEMORY_MB",
    "MAX_SECONDS",
    "WORKERS_PER_CORE",
    "check_concurrency",
    "check_count",
    "check_grace",
    "check_memory_mb",
    "check_n_workers",
    "check_seconds",
    "max_workers",
    "usable_cores",
]

MAX_SECONDS = float((2**31 - 1) // 1000)
"""2,147,483 s (24.8 days): the longest wait ``poll()`` takes (a C int of milliseconds)."""

MAX_MEMORY_MB = float(2**42)
"""4 EiB in MB: ``2**62`` bytes, so the cap plus the worker's size fits a signed 64-bit rlimit."""

MAX_GRACE = 10.0
"""The longest SIGTERM-to-SIGKILL grace: a trial past its limit must not linger for minutes."""

WORKERS_PER_CORE = 64
"""Workers per usable core above which a worker count is refused as a mistake."""

MAX_CONCURRENCY = 65_536
"""Most trials in flight on workers that are not this machine's processes or threads
(coroutines, simulated workers, a remote executor's slots): the loop asks that many at once."""


def check_seconds(value: Any, name: str) -> float | None:
    """A limit in seconds: ``None`` or a finite number in ``(0, MAX_SECONDS]``."""
    return _check_limit(value, name, "seconds", MAX_SECONDS,
                        "24.8 days: the runner waits with poll(), whose timeout is a C int of milliseconds")


def check_memory_mb(value: Any, name: str = "memory_limit") -> float | None:
    """A memory limit in megabytes: ``None`` or a finite number in ``(0, MAX_MEMORY_MB]``."""
    return _check_limit(value, name, "megabytes", MAX_MEMORY_MB,
                        "the byte count must fit setrlimit's signed 64-bit rlim_t")


def _check_limit(value: Any, name: str, unit: str, maximum: float, why: str) -> float | None:
    if value is None:
        return None
    limit = real_to_float(value, name, f"a number of {unit} (finite, > 0) or None")
    if not (math.isfinite(limit) and limit > 0):
        raise ValueError(f"{name} must be a finite number of {unit} > 0 or None, got {limit!r}")
    if limit > maximum:
        raise ValueError(
            f"{name} must be at most {maximum:.0f} {unit} ({why}), got {limit:g}; "
            "use None for no limit"
        )
    return limit


def check_grace(value: Any) -> float:
    """The SIGTERM-to-SIGKILL grace: a number of seconds in ``[0, MAX_GRACE]``."""
    grace = real_to_float(value, "grace", f"a number of seconds between 0 and {MAX_GRACE:g}")
    if not 0 <= grace <= MAX_GRACE:  # also refuses NaN
        raise ValueError(f"grace must be between 0 and {MAX_GRACE:g} seconds, got {grace!r}")
    return grace


def check_count(value: Any, name: str, maximum: int, why: str = "") -> int:
    """A positive int of at most ``maximum`` (``why`` says where the bound comes from)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive int, got {describe(value)}")
    count = int(value)
    if count < 1:
        raise ValueError(f"{name} must be >= 1, got {count}")
    if count > maximum:
        raise ValueError(f"{name} must be at most {maximum}" + (f" ({why})" if why else "")
                         + f", got {count if count.bit_length() < 200 else describe(count)}")
    return count


def check_concurrency(value: Any, name: str) -> int:
    """A count of trials in flight that are not processes or threads of this machine
    (coroutines, simulated workers, a remote executor's slots): at most ``MAX_CONCURRENCY``."""
    return check_count(value, name, MAX_CONCURRENCY,
                       "the loop asks for as many trials at once as there are free workers")


def check_n_workers(n_workers: Any, name: str = "n_workers") -> int:
    """A count of worker processes or threads: a positive int of at most `max_workers`."""
    maximum, why = max_workers()
    return check_count(n_workers, name, maximum, why)


def usable_cores() -> int:
    """Cores this process may run on (its affinity mask where the platform has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def max_workers() -> tuple[int, str]:
    """The most workers this machine may be asked for, and the reason for that bound."""
    cores = usable_cores()
    maximum = WORKERS_PER_CORE * cores
    why = f"{WORKERS_PER_CORE} per usable core, {cores} here"
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NPROC)
    except (ImportError, AttributeError, OSError, ValueError):
        return maximum, why
    if soft != resource.RLIM_INFINITY and 0 < soft < maximum:
        return int(soft), f"the process limit RLIMIT_NPROC of this user is {soft}"
    return maximum, why


def refuse_reports(runner: str, target: Any, why: str) -> None:
    """Pre-flight: a runner that cannot carry a trial's reports refuses a target naming
    ``report`` at construction, saying ``why`` and where to run it instead."""
    if getattr(target, "wants_report", False) and not getattr(target, "report_optional", False):
        from runner.errors import PreflightError

        raise PreflightError(
            f"target {target.name} takes report=, but {runner} cannot carry intermediate "
            f"reports ({why}); run it on SerialRunner, ThreadPoolRunner, ProcessPoolRunner, "
            "DaskRunner, AsyncioRunner or SimulatedRunner, or drop the report argument")
