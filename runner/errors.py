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
    "LoopError",
    "StudyMismatchError",
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
    """The optimization loop was misused or stopped on an error of the optimizer or a callback."""


class RetriesExceededError(LoopError):
    """A trial kept crashing after all its retries; ``traceback`` holds the target's last one."""

    def __init__(self, message: str, *, info: object = None, traceback: str | None = None):
        super().__init__(message)
        self.info = info
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
