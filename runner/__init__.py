"""Trial runners: submit ``TrialInfo``s, collect ``TrialValue``s, on any backend.

Backends that pull in heavy dependencies (dask) load on first use, so ``import runner`` starts
no process or thread and imports no cluster library.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runner._backends.serial import SerialRunner
from runner._core.capabilities import (
    DeclaresCapabilities,
    Optimizer,
    OptimizerCapabilities,
    Runner,
    RunnerExtras,
    SupportsAskBatch,
    SupportsCheckpoints,
    SupportsClock,
    SupportsClose,
    SupportsDropCheckpoints,
    SupportsFingerprint,
    SupportsInterruptions,
    SupportsOnReport,
    SupportsReportPump,
    SupportsReports,
    SupportsRestore,
    SupportsRestorePending,
    SupportsWaitForDecisions,
)
from runner._core.checkpoints import continue_trial
from runner._core.contract import AbstractRunner
from runner._core.reporting import Decision
from runner._core.returns import Outcome
from runner._core.script import ScriptTarget
from runner._core.target import Target
from runner._lazy import lazy_exports as _lazy_exports
from runner.errors import (
    FailureRateError,
    LimitError,
    LoopError,
    MemoryLimitWarning,
    PreflightError,
    RetriesExceededError,
    RunnerBrokenError,
    RunnerClosedError,
    RunnerError,
    SlurmStartError,
    StudyFailedError,
    StudyMismatchError,
    SuiteFileError,
    TrialEndedError,
    TrialStopped,
    WorkerStartError,
)

if TYPE_CHECKING:
    from runner._backends.asyncio import AsyncioRunner
    from runner._backends.dask.driver import DaskRunner
    from runner._backends.executor import ExecutorRunner
    from runner._backends.process_pool import ProcessPoolRunner
    from runner._backends.simulated import SimulatedRunner
    from runner._backends.threads import ThreadPoolRunner
    from runner._loop.loop import OptimizationLoop
    from runner._loop.statistics import GoalProgress, Statistics
    from runner._loop.timings import Timings
    from runner.optimizers import Hyperband, RandomSearch, SuccessiveHalving

__all__ = [
    "AbstractRunner",
    "AsyncioRunner",
    "DaskRunner",
    "Decision",
    "ExecutorRunner",
    "FailureRateError",
    "GoalProgress",
    "LimitError",
    "LoopError",
    "MemoryLimitWarning",
    "RunnerBrokenError",
    "OptimizationLoop",
    "Hyperband",
    "Outcome",
    "PreflightError",
    "ProcessPoolRunner",
    "RandomSearch",
    "RetriesExceededError",
    "RunnerClosedError",
    "RunnerError",
    "ScriptTarget",
    "SerialRunner",
    "SimulatedRunner",
    "SlurmStartError",
    "Statistics",
    "StudyFailedError",
    "StudyMismatchError",
    "SuiteFileError",
    "SuccessiveHalving",
    "Target",
    "ThreadPoolRunner",
    "Timings",
    "TrialEndedError",
    "TrialStopped",
    "WorkerStartError",
    "continue_trial",
    # the optimizer contract and the runner's optional extras (runner._core.capabilities)
    "DeclaresCapabilities",
    "Optimizer",
    "OptimizerCapabilities",
    "Runner",
    "RunnerExtras",
    "SupportsAskBatch",
    "SupportsCheckpoints",
    "SupportsClock",
    "SupportsClose",
    "SupportsDropCheckpoints",
    "SupportsFingerprint",
    "SupportsInterruptions",
    "SupportsOnReport",
    "SupportsReportPump",
    "SupportsReports",
    "SupportsRestore",
    "SupportsRestorePending",
    "SupportsWaitForDecisions",
]

_LAZY = {
    "ProcessPoolRunner": "runner._backends.process_pool",
    "ThreadPoolRunner": "runner._backends.threads",
    "DaskRunner": "runner._backends.dask.driver",
    "AsyncioRunner": "runner._backends.asyncio",
    "SimulatedRunner": "runner._backends.simulated",
    "ExecutorRunner": "runner._backends.executor",
    "OptimizationLoop": "runner._loop.loop",
    "Timings": "runner._loop.timings",
    "Statistics": "runner._loop.statistics",
    "GoalProgress": "runner._loop.statistics",
    "RandomSearch": "runner.optimizers",
    "Hyperband": "runner.optimizers",
    "SuccessiveHalving": "runner.optimizers",
}


__getattr__, __dir__ = _lazy_exports(__name__, _LAZY, __all__)
