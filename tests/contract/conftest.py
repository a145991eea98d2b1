"""The backends the contract suite runs on, and ``make_runner(target, **kwargs)`` for each.

Adding a backend is one line in ``BACKENDS``; a backend whose module cannot be imported fails
its tests (never skips), so a renamed module cannot drop out of the suite.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest
from targets import async_twin

from runner import AbstractRunner


@attrs.frozen
class Backend:
    """How to build one backend's runner for the contract suite."""

    name: str
    module: str
    cls_name: str
    kwargs: dict[str, Any] = attrs.field(factory=dict)
    n_workers: int = 2
    isolates: bool = False  # each trial runs in a process that can die alone
    async_targets: bool = False
    dask: bool = False

    @property
    def cls(self) -> type[AbstractRunner]:
        return getattr(importlib.import_module(self.module), self.cls_name)  # type: ignore[no-any-return]


BACKENDS = [
    Backend("serial", "runner._backends.serial", "SerialRunner", n_workers=1),
    Backend("process", "runner._backends.process_pool", "ProcessPoolRunner", {"n_workers": 2},
            isolates=True),
    Backend("thread", "runner._backends.threads", "ThreadPoolRunner", {"n_workers": 2}),
    Backend("dask", "runner._backends.dask.driver", "DaskRunner", isolates=True, dask=True),
    Backend("dask-tasks", "runner._backends.dask.driver", "DaskRunner", {"streaming": False},
            isolates=True, dask=True),
    Backend("asyncio", "runner._backends.asyncio", "AsyncioRunner", {"n_workers": 2},
            async_targets=True),
    Backend("simulated", "runner._backends.simulated", "SimulatedRunner",
            {"n_workers": 2, "start_time": None}),
    Backend("executor-loky", "executor_helpers", "LokyExecutorRunner", {"n_workers": 2}),
]

LIMITED = [
    Backend("serial-limited", "runner._backends.serial", "SerialRunner", {"walltime_limit": 120.0},
            n_workers=1, isolates=True),
    Backend("thread-limited", "runner._backends.threads", "ThreadPoolRunner",
            {"n_workers": 2, "walltime_limit": 120.0}, isolates=True),
]
"""Serial and thread runners with a limit set, which run trials in supervised processes."""

ISOLATING = [b for b in BACKENDS if b.isolates] + LIMITED

NO_ASYNC = "the fault cannot exist in a coroutine: AsyncioRunner has no process of its own"


def _params(backends: list[Backend]) -> list[Any]:
    """One parameter per backend. A backend whose module cannot be imported fails its tests
    (``cls`` raises), never skips: a renamed module must not drop out of the suite silently."""
    return [pytest.param(b, id=b.name) for b in backends]


class MakeRunner:
    """``make_runner(target, **kwargs)``: a runner of one backend, closed after the test."""

    def __init__(self, backend: Backend, request: pytest.FixtureRequest) -> None:
        self.backend = backend
        self.n_workers = backend.n_workers
        self._extra: dict[str, Any] = {}
        if backend.dask:
            self._extra["client"] = request.getfixturevalue("dask_client")
        self.made: list[AbstractRunner] = []

    @property
    def name(self) -> str:
        return self.backend.name

    @property
    def cls(self) -> type[AbstractRunner]:
        return self.backend.cls

    @property
    def kwargs(self) -> dict[str, Any]:
        """The backend's own constructor keywords."""
        return {**self.backend.kwargs, **self._extra}

    def target(self, target: Callable[..., Any]) -> Callable[..., Any]:
        """``target``, or its ``async`` twin on an async backend (skip the test if it has none)."""
        if not self.backend.async_targets:
            return target
        twin = async_twin(target)
        if twin is None:
            pytest.skip(f"{getattr(target, '__name__', target)}: {NO_ASYNC}")
        return twin  # type: ignore[no-any-return]

    def __call__(self, target: Any, **kwargs: Any) -> AbstractRunner:
        if self.backend.async_targets and (kwargs.get("memory_limit") is not None
                                           or kwargs.get("cpu_time_limit") is not None):
            pytest.skip("AsyncioRunner refuses memory and CPU limits at construction "
                        "(tested in test_limits_contract)")
        target = self.target(target) if callable(target) else target
        return self.build(self.cls, target, **kwargs)

    def build(self, cls: type[AbstractRunner], target: Any = None,
              **kwargs: Any) -> AbstractRunner:
        """``cls(target, **backend keywords, **kwargs)``, closed after the test."""
        if target is not None:
            kwargs["target"] = target
        runner = cls(**{**self.kwargs, **kwargs})
        self.made.append(runner)
        return runner

    def close_all(self) -> None:
        for runner in self.made:
            runner.close()


@pytest.fixture(params=_params(BACKENDS))
def make_runner(request: pytest.FixtureRequest) -> Iterator[MakeRunner]:
    """A runner factory for each backend of the contract."""
    maker = MakeRunner(request.param, request)
    try:
        yield maker
    finally:
        maker.close_all()


@pytest.fixture(params=_params(BACKENDS + LIMITED))
def make_any_runner(request: pytest.FixtureRequest) -> Iterator[MakeRunner]:
    """A runner factory for every backend, and for serial/thread runners with a limit set."""
    maker = MakeRunner(request.param, request)
    try:
        yield maker
    finally:
        maker.close_all()


@pytest.fixture(params=_params(ISOLATING))
def make_isolated(request: pytest.FixtureRequest) -> Iterator[MakeRunner]:
    """A runner factory for each backend configuration that runs trials in worker processes."""
    maker = MakeRunner(request.param, request)
    try:
        yield maker
    finally:
        maker.close_all()
