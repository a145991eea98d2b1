"""Trial runners: submit ``TrialInfo``s, collect ``TrialValue``s, on any backend.

Backends that pull in heavy dependencies (dask) load on first use, so ``import runner`` starts
no process or thread and imports no cluster library.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from runner._base import AbstractRunner
from runner._outcome import Outcome
from runner._serial import SerialRunner
from runner._target import Target
from runner.errors import (
    LimitError,
    LoopError,
    PreflightError,
    RetriesExceededError,
    RunnerClosedError,
    RunnerError,
    WorkerStartError,
)

if TYPE_CHECKING:
    from runner._asyncio import AsyncioRunner
    from runner._dask import DaskRunner
    from runner._loop import OptimizationLoop
    from runner._process_pool import ProcessPoolRunner
    from runner._threads import ThreadPoolRunner
    from runner._timings import Timings
    from runner.optimizers import Hyperband, RandomSearch, SuccessiveHalving

__all__ = [
    "AbstractRunner",
    "AsyncioRunner",
    "DaskRunner",
    "LimitError",
    "LoopError",
    "OptimizationLoop",
    "Hyperband",
    "Outcome",
    "PreflightError",
    "ProcessPoolRunner",
    "RandomSearch",
    "RetriesExceededError",
    "RunnerClosedError",
    "RunnerError",
    "SerialRunner",
    "SuccessiveHalving",
    "Target",
    "ThreadPoolRunner",
    "Timings",
    "WorkerStartError",
]

_LAZY = {
    "ProcessPoolRunner": "runner._process_pool",
    "ThreadPoolRunner": "runner._threads",
    "DaskRunner": "runner._dask",
    "AsyncioRunner": "runner._asyncio",
    "OptimizationLoop": "runner._loop",
    "Timings": "runner._timings",
    "RandomSearch": "runner.optimizers",
    "Hyperband": "runner.optimizers",
    "SuccessiveHalving": "runner.optimizers",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'runner' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
