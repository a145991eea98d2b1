"""Every error and warning of this package, in one tree rooted in builtins so ``except
ValueError`` still works. Trial failures are never exceptions: they are ``TrialValue`` data.

::

    Exception
    ├── RunnerError                          base of everything raised here
    │   ├── RunnerClosedError  (RuntimeError)   the user closed the runner; it takes no more trials
    │   ├── PreflightError     (ValueError)     checked before the first trial: unusable as given
    │   │   ├── LimitError                      a resource limit cannot be enforced here
    │   │   ├── StudyMismatchError              a journal holds another study than the loop's
    │   │   ├── SuiteFileError                  a suite file that cannot be run
    │   │   └── SlurmStartError                 no dask worker came up in a SLURM job
    │   ├── WorkerStartError   (RuntimeError)   a worker could not start or load the target
    │   ├── LoopError          (RuntimeError)   the loop was MISUSED (started twice, ...)
    │   ├── StudyFailedError   (RuntimeError)   the study ran and FAILED: not the caller's misuse
    │   │   ├── RetriesExceededError            a trial crashed on every retry
    │   │   ├── FailureRateError                too many of the last trials failed
    │   │   └── RunnerBrokenError               the runner lost trials it had accepted
    │   ├── TrialStopped                        raised by ``report`` in a trial told to stop
    │   └── TrialEndedError    (RuntimeError)   ``report`` called after the trial ended
    └── Warning
        └── UserWarning
            └── MemoryLimitWarning              ``memory_limit`` beyond the machine (unit?)

``except LoopError`` catches misuse only; ``except StudyFailedError`` catches a study that ended
in failure (``OptimizationLoop.run`` and ``await loop.task`` raise it). The journal's errors
(``trials.JournalError`` and its subclasses) belong to the data model and live in ``trials``.
"""

from __future__ import annotations

__all__ = [
    "RunnerError",
    "RunnerClosedError",
    "PreflightError",
    "LimitError",
    "StudyMismatchError",
    "SuiteFileError",
    "SlurmStartError",
    "WorkerStartError",
    "LoopError",
    "StudyFailedError",
    "RetriesExceededError",
    "FailureRateError",
    "RunnerBrokenError",
    "TrialStopped",
    "TrialEndedError",
    "MemoryLimitWarning",
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


class StudyFailedError(RunnerError, RuntimeError):
    """The study ran and ended in failure (a trial kept crashing, too many trials failed, the
    runner lost trials): not the caller's misuse, so not a ``LoopError``."""


class RunnerBrokenError(StudyFailedError):
    """The runner broke under the loop (it lost trials it had accepted); not the user's misuse.
    ``lost`` holds the trial ids the runner never returned."""

    def __init__(self, message: str, *, lost: list[int] | None = None):
        super().__init__(message)
        self.lost = list(lost or [])


class RetriesExceededError(StudyFailedError):
    """A trial kept crashing after all its retries; ``traceback`` holds the target's last one."""

    def __init__(self, message: str, *, info: object = None, traceback: str | None = None):
        super().__init__(message)
        self.info = info
        self.traceback = traceback


class FailureRateError(StudyFailedError):
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


class StudyMismatchError(PreflightError):
    """A journal holds another study than the loop resuming it (found before anything is told);
    ``differences`` maps each field that differs to ``(recorded, current)``."""

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


class SuiteFileError(PreflightError):
    """A suite file that cannot be run; the message names the file, line and key."""


class SlurmStartError(PreflightError):
    """No dask worker came up in a SLURM job: the message names each job's state and log."""


class MemoryLimitWarning(UserWarning):
    """``memory_limit`` is beyond what the machine has: probably given in the wrong unit.
    ``limit_mb`` and ``have_mb`` say both (the CLI words the warning in its own terms)."""

    def __init__(self, message: str, limit_mb: float | None = None,
                 have_mb: float | None = None) -> None:
        super().__init__(message)
        self.limit_mb = limit_mb
        self.have_mb = have_mb
