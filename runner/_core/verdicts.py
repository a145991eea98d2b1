"""Every failure status and its ``error`` text, decided here and nowhere else (DESIGN §3).

The status table, once:

    what happened                                  status      made by
    ---------------------------------------------  ----------  --------------------------------
    the target raised                              CRASHED     raised()
    it returned something that is not a cost       CRASHED     invalid()
    its process died (exit code, signal)           CRASHED     died()   (TIMEOUT for a CPU signal)
    it overran walltime_limit                      TIMEOUT     walltime_exceeded()
    it overran cpu_time_limit                      TIMEOUT     cpu_time_exceeded()
    it overran memory_limit (with evidence)        MEMORYOUT   memory_exceeded()
    it was cancelled (runner closed, loop)         CANCELLED   cancelled()
    it was stopped by a decision on its reports    STOPPED     stopped(), stopped_outcome()
    its host was lost more than max_requeues times CRASHED     worker_lost()
    it wrote into the result channel               CRASHED     channel_corrupted()
    the backend could not run it at all, or its    CRASHED     not_run()
    answer cannot be taken (too big, unreadable)

Two shapes: an `Outcome` where the evaluator classifies inside the trial's process (no
times yet), and a ``TrialValue`` where a supervisor decides from outside (the trial's times are
what the supervisor saw).
"""

from __future__ import annotations

import signal
import time
import traceback
from typing import Any

from runner._core.returns import Outcome
from trials import Cost, StatusType, TrialValue

__all__ = [
    "CPU_SIGNALS", "cancelled", "cancelled_outcome", "limit_outcome", "channel_corrupted", "cpu_time_exceeded",
    "crash_info", "died", "invalid", "memory_exceeded", "memory_outcome", "not_run",
    "raised", "signal_name", "stopped", "stopped_outcome", "walltime_exceeded", "walltime_outcome", "worker_lost",
]

CLOSED = "the runner was closed"

CPU_SIGNALS = frozenset(getattr(signal, name) for name in ("SIGPROF", "SIGXCPU")
                        if hasattr(signal, name))
"""How a worker dies of its CPU-time limit: the timer (SIGPROF), or RLIMIT_CPU (SIGXCPU)."""


def signal_name(signum: int) -> str:
    """``SIGKILL`` for 9; ``signal 40`` for a number with no name (real-time signals)."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def crash_info(exc: BaseException) -> dict[str, Any]:
    """The ``additional_info`` of a trial whose target raised ``exc``: plain strings only."""
    return {
        "error": _safe_repr(exc),
        "error_type": type(exc).__name__,
        "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    }


def _safe_repr(exc: BaseException) -> str:
    try:
        return repr(exc)
    except Exception:  # a hostile __repr__ must not cost the trial its result
        return f"<{type(exc).__name__} whose repr() raised>"


# -- in the trial's process: Outcomes ---------------------------------------------------------

def raised(exc: BaseException, crash_cost: Cost) -> Outcome:
    """The target raised ``exc``."""
    return Outcome(StatusType.CRASHED, crash_cost, None, crash_info(exc))


def invalid(error: str, crash_cost: Cost, error_type: str = "InvalidReturn") -> Outcome:
    """The target returned no valid cost; ``error`` says what was expected and what came."""
    return Outcome(StatusType.CRASHED, crash_cost, None,
                   {"error": error, "error_type": error_type})


def memory_outcome(exc: BaseException | None, memory_limit: float | None,
                   crash_cost: Cost) -> Outcome:
    """A ``MemoryError``: MEMORYOUT under a memory limit (the evidence), else CRASHED."""
    info = crash_info(exc) if exc is not None else {"error_type": "MemoryError"}
    if memory_limit is None:
        info.setdefault("error", "MemoryError while handling the trial's result")
        return Outcome(StatusType.CRASHED, crash_cost, None, info)
    info["error"] = f"memory_limit of {memory_limit:g} MB exceeded (MemoryError)"
    return Outcome(StatusType.MEMORYOUT, crash_cost, None, info)


def walltime_outcome(walltime_limit: float, crash_cost: Cost) -> Outcome:
    """A coroutine cancelled at its wall-time limit."""
    return Outcome(StatusType.TIMEOUT, crash_cost, None,
                   {"error": f"walltime_limit of {walltime_limit:g} s exceeded"})


def limit_outcome(name: str, limit: float, crash_cost: Cost, detail: str = "") -> Outcome:
    """A trial over its ``walltime_limit`` or ``cpu_time_limit`` (``name``), decided where no
    process is watched (the simulated runner: ``detail`` says why)."""
    suffix = f" ({detail})" if detail else ""
    return Outcome(StatusType.TIMEOUT, crash_cost, None,
                   {"error": f"{name} of {limit:g} s exceeded{suffix}"})


def cancelled_outcome(crash_cost: Cost, reason: str = CLOSED) -> Outcome:
    """A coroutine cancelled because its runner was closed."""
    return Outcome(StatusType.CANCELLED, crash_cost, None, {"error": f"cancelled: {reason}"})


def stopped_outcome(cost: Cost, step: Any, unwound: bool = True) -> Outcome:
    """The trial ended at a stop decision on its reports: the last reported ``cost``, and the
    ``step`` it stopped at; ``unwound``: it ended itself (else the runner could not stop it
    and it ran on, or it was killed)."""
    info: dict[str, Any] = {"stopped_at_step": step}
    if not unwound:
        info["error"] = "stopped: the target ignored the stop and was ended"
    return Outcome(StatusType.STOPPED, cost, None, info)


# -- seen from outside the trial: TrialValues --------------------------------------------------

def _value(status: StatusType, crash_cost: Cost, start: float | None,
           info: dict[str, Any]) -> TrialValue:
    now = time.time()
    start = now if start is None else min(start, now)
    return TrialValue(cost=crash_cost, time=now - start, status=status, starttime=start,
                      endtime=now, additional_info=info)


def died(returncode: int, cpu_time_limit: float | None, crash_cost: Cost,
         start: float | None) -> TrialValue:
    """The trial's process ended with ``returncode`` before answering (evidence only)."""
    if returncode < 0 and -returncode in CPU_SIGNALS and cpu_time_limit:
        return cpu_time_exceeded(cpu_time_limit, crash_cost, start,
                                 f"killed by {signal_name(-returncode)}", exitcode=returncode)
    if returncode < 0:
        error = f"the trial's process was killed by {signal_name(-returncode)}"
    else:
        error = f"the trial's process exited with code {returncode}"
    return _value(StatusType.CRASHED, crash_cost, start,
                  {"error": error, "exitcode": returncode})


def walltime_exceeded(walltime_limit: float, crash_cost: Cost, start: float | None) -> TrialValue:
    """The trial overran its wall-time limit (whatever it did after being told to stop)."""
    return _value(StatusType.TIMEOUT, crash_cost, start,
                  {"error": f"walltime_limit of {walltime_limit:g} s exceeded"})


def cpu_time_exceeded(cpu_time_limit: float, crash_cost: Cost, start: float | None,
                      evidence: str, **extra: Any) -> TrialValue:
    """The trial's processes used more CPU time than allowed; ``evidence`` says how we know."""
    return _value(StatusType.TIMEOUT, crash_cost, start, {
        "error": f"cpu_time_limit of {cpu_time_limit:g} s exceeded ({evidence})", **extra})


def memory_exceeded(crash_cost: Cost, start: float | None, evidence: str,
                    **extra: Any) -> TrialValue:
    """The trial's processes used more memory than allowed; ``evidence`` names limit and use."""
    return _value(StatusType.MEMORYOUT, crash_cost, start, {"error": evidence, **extra})


def cancelled(crash_cost: Cost, start: float | None = None, reason: str = CLOSED) -> TrialValue:
    """The trial was cancelled before it could finish (or start)."""
    return _value(StatusType.CANCELLED, crash_cost, start, {"error": f"cancelled: {reason}"})


def stopped(last: Any, crash_cost: Cost, start: float | None, *,
            killed: bool = False) -> TrialValue:
    """The trial was stopped by a decision after its report ``last`` (a ``trials.Report``,
    ``None`` if none arrived: then the crash cost); ``killed``: it ignored the stop past the
    grace period and its process was ended (the cost is still its last reported one)."""
    cost = crash_cost if last is None else last.cost
    info: dict[str, Any] = {"stopped_at_step": None if last is None else last.step}
    if killed:
        info["error"] = "stopped: the target ignored the stop for the grace period and was killed"
    return _value(StatusType.STOPPED, cost, start, info)


def worker_lost(crash_cost: Cost, losses: int, max_requeues: int, last: str) -> TrialValue:
    """The host of the trial was lost more often than ``max_requeues`` allows."""
    return _value(StatusType.CRASHED, crash_cost, None, {
        "error": f"worker lost {losses} time{'s' * (losses != 1)} (max_requeues="
                 f"{max_requeues}); last: {last}",
        "requeues": losses - 1, "workers_lost": losses})


def channel_corrupted(crash_cost: Cost, start: float | None, detail: str) -> TrialValue:
    """Bytes that are not our worker's answer came through the result channel: the target
    wrote to a descriptor it does not own, or a process it forked answered for the worker."""
    return _value(StatusType.CRASHED, crash_cost, start, {
        "error": f"result channel corrupted by the target ({detail}); its worker was replaced"})


def not_run(crash_cost: Cost, reason: str, exc: BaseException | None = None,
            start: float | None = None, error_type: str | None = None) -> TrialValue:
    """The backend could not run the trial (no worker, cluster gone, unsendable), or its answer
    arrived but cannot be taken (over the size cap, unpicklable in the driver, not a valid
    value): ``reason`` says which. ``error_type`` names the exception behind it, by default
    ``exc``'s type."""
    info: dict[str, Any] = {"error": reason}
    if error_type is None and exc is not None:
        error_type = type(exc).__name__
    if error_type is not None:
        info["error_type"] = error_type
    return _value(StatusType.CRASHED, crash_cost, start, info)
