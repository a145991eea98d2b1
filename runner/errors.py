"""Every error the runners and the loop raise on misuse, rooted in builtins so ``except
ValueError`` still works; trial failures are never exceptions, they are ``TrialValue`` data."""

from __future__ import annotations

__all__ = [
    "RunnerError",
    "RunnerClosedError",
    "PreflightError",
    "LimitError",
    "WorkerStartError",
    "RetriesExceededError",
    "FailureRateError",
    "LoopError",
    "RunnerBrokenError",
    "StudyMismatchError",
    "TrialStopped",
    "TrialEndedError",
]


class RunnerError(Exception):
    """Base class of this package's errors."""


class RunnerClosedError(RunnerError, RuntimeError):
    """The runner was closed by its user; it takes no more trials."""


class PreflightError(RunnerError, ValueError):
    """A check made before the first trial failed: the target, a limit or the cluster is unusable."""


class LimitError(PreflightError):
    """A resource limit cannot be enforced here; the message says why and what to do instead."""


class WorkerStartError(RunnerError, RuntimeError):
    """A worker process could not be started or could not load the target."""


class LoopError(RunnerError, RuntimeError):
    """The optimization loop was misused (started twice, waited for before it started)."""


class RunnerBrokenError(LoopError):
    """The runner broke under the loop (it lost trials it had accepted); not the user's misuse.
    Subclasses ``LoopError`` so code that caught ``LoopError`` before still catches it.
    ``lost`` holds the trial ids the runner never returned."""

    def __init__(self, message: str, *, lost: list[int] | None = None):
        super().__init__(message)
        self.lost = list(lost or [])


class RetriesExceededError(LoopError):
    """A trial kept crashing after all its retries; ``traceback`` holds the target's last one."""

    def __init__(self, message: str, *, info: object = None, traceback: str | None = None):
        super().__init__(message)
        self.info = info
        self.traceback = traceback


class FailureRateError(LoopError):
    """More than ``max_failure_rate`` of the last ``failure_window`` finished trials failed
    (CRASHED, TIMEOUT, MEMORYOUT): the target looks broken, so the loop ended. ``failures``
    holds ``(trial id, error)`` of the failures in that window, oldest first; ``traceback`` the
    last one's traceback (or error)."""

    def __init__(self, message: str, *, failures: list[tuple[int, str]], finished: int,
                 max_failure_rate: float, failure_window: int, traceback: str | None = None):
        super().__init__(message)
        self.failures = list(failures)
        self.finished = finished
        self.max_failure_rate = max_failure_rate
        self.failure_window = failure_window
        self.traceback = traceback


class StudyMismatchError(LoopError, ValueError):
    """A journal holds another study than the loop resuming it; ``differences`` maps each field
    that differs to ``(recorded, current)``."""

    def __init__(self, message: str, *, journal: str, recorded: object, current: object,
                 differences: dict[str, tuple[object, object]]):
        super().__init__(message)
        self.journal = journal
        self.recorded = recorded
        self.current = current
        self.differences = differences


class TrialStopped(RunnerError):
    """Raised by a trial's ``report`` callable once the trial is to stop (the optimizer decided
    so on its reports): let it propagate so the target unwinds; the trial ends STOPPED with the
    last reported cost. ``step`` and ``cost`` are those of the report that was answered."""

    def __init__(self, step: object = None, cost: object = None):
        super().__init__(f"the trial was stopped at step {step!r} (cost {cost!r}) by a decision "
                         "on its reports; let this exception propagate")
        self.step = step
        self.cost = cost


class TrialEndedError(RunnerError, RuntimeError):
    """A trial's ``report`` was called after the trial ended (its target had returned or
    raised): the report would reach no one."""
