"""Fixtures of the fault-injection suite: runner factories over the contract suite's backends
(``contract.conftest``), and the small helpers the cases share.

* ``every_backend``: the five backends (serial, process, thread, dask, asyncio).
* ``any_config``: those plus serial and thread runners with a limit set, which run each trial in
  a supervised process (the configurations where a trial can die alone).
A case that cannot exist on a configuration is not generated there: ``configs(fixture, keep)``
parametrizes the fixture over the configurations ``keep`` accepts (``isolating``,
``runs_scripts``, ``real_limits``). ``FaultMaker.needs_process`` and friends remain for a case
that decides at run time; such a skip says why.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import faults_targets as ft
import psutil
import pytest
import targets
from contract.conftest import BACKENDS, LIMITED, Backend, MakeRunner, _params

from runner import AbstractRunner
from trials import TrialInfo, TrialValue

IN_DRIVER = ("the trial runs inside the driver's own process (no limit set): {what} would hit "
             "the driver itself; the serial-limited/thread-limited configurations test it")
SIMULATED_LIMITS = ("SimulatedRunner's limits are simulated seconds on the runtime a trial "
                    "reports and it refuses memory_limit: tested in tests/backends/"
                    "test_simulated.py")
NO_SCRIPT_ASYNC = "AsyncioRunner takes only `async def` targets, and a script target is not one"


TWINS = {**ft.ASYNC_TWINS, targets.big_result: ft.big_result_async}


class FaultMaker(MakeRunner):
    """``MakeRunner`` that also knows the async twins of the saboteurs in ``faults_targets``."""

    def target(self, target: Callable[..., Any]) -> Callable[..., Any]:
        if self.backend.async_targets and target in TWINS:
            return TWINS[target]  # type: ignore[no-any-return]
        return super().target(target)

    def __call__(self, target: Any, **kwargs: Any) -> AbstractRunner:
        if self.is_async and any(kwargs.get(k) is not None
                                 for k in ("memory_limit", "cpu_time_limit")):
            pytest.skip("AsyncioRunner refuses memory and CPU limits at construction: that is "
                        "case B4 (test_B4_limit_cannot_be_honoured)")
        if self.is_simulated and any(kwargs.get(k) is not None
                                     for k in ("walltime_limit", "cpu_time_limit",
                                               "memory_limit")):
            pytest.skip(SIMULATED_LIMITS)
        return super().__call__(target, **kwargs)

    @property
    def isolates(self) -> bool:
        """Whether each trial runs in a supervised process of its own."""
        return self.backend.isolates

    @property
    def is_dask(self) -> bool:
        return self.backend.dask

    @property
    def is_async(self) -> bool:
        return self.backend.async_targets

    @property
    def is_simulated(self) -> bool:
        """Whether trials run on simulated time (``SimulatedRunner``)."""
        return self.backend.name == "simulated"

    def needs_real_time(self, what: str) -> None:
        """Skip on a backend whose trials run on simulated time."""
        if self.is_simulated:
            pytest.skip(f"{what}: SimulatedRunner evaluates each trial to its end inside the "
                        "call that starts it; time passes only on its virtual clock")

    @property
    def is_serial(self) -> bool:
        return self.backend.module == "runner._backends.serial"

    def needs_process(self, what: str) -> None:
        """Skip on a configuration that evaluates trials in the driver's process."""
        if self.is_async:
            pytest.skip(f"{what}: the fault cannot exist in a coroutine; AsyncioRunner has no "
                        "process of its own")
        if not self.isolates:
            pytest.skip(IN_DRIVER.format(what=what))

    def no_scripts_on_asyncio(self) -> None:
        if self.is_async:
            pytest.skip(NO_SCRIPT_ASYNC)

    def one_worker(self) -> dict[str, Any]:
        """Keywords giving this backend a single worker (dask: the shared cluster has two)."""
        if "n_workers" in self.backend.kwargs:
            return {"n_workers": 1}
        return {}


def _maker(request: pytest.FixtureRequest) -> Iterator[FaultMaker]:
    maker = FaultMaker(request.param, request)
    try:
        yield maker
    finally:
        maker.close_all()


def isolating(backend: Backend) -> bool:
    """Each trial runs in a supervised process of its own (a fault can kill it alone)."""
    return backend.isolates


def runs_scripts(backend: Backend) -> bool:
    """Takes a script target (AsyncioRunner takes only ``async def`` targets)."""
    return not backend.async_targets


def real_limits(backend: Backend) -> bool:
    """Enforces walltime/CPU/memory limits on real processes (not AsyncioRunner, which refuses
    memory and CPU limits: case B4; not SimulatedRunner, whose limits are simulated seconds)."""
    return not backend.async_targets and backend.name != "simulated"


def real_time(backend: Backend) -> bool:
    """Trials run on real time (SimulatedRunner evaluates each trial to its end inside the call
    that starts it; time passes only on its virtual clock)."""
    return backend.name != "simulated"


def carries_reports(backend: Backend) -> bool:
    """Takes a target naming ``report`` (an ExecutorRunner refuses it at construction: tested in
    tests/core/test_core_reports.py)."""
    return not backend.name.startswith("executor")


def real_time_scripts(backend: Backend) -> bool:
    """Runs script targets on real time."""
    return runs_scripts(backend) and real_time(backend)


SAME_WORKER_AS_SERIAL_LIMITED = frozenset({"thread-limited"})
"""Configurations whose trials run in the same supervised worker (``runner._worker``, driven by
``LocalWorker``) as ``serial-limited``'s, only from threads: for a case about what happens
inside the worker (a hostile target against its pipes, signals, limits, encoding) they repeat
that coverage, so ``configs(..., worker_side=True)`` marks them ``exhaustive``."""


def configs(fixture: str, keep: Callable[[Backend], bool],
            worker_side: bool = False) -> pytest.MarkDecorator:
    """Parametrize ``fixture`` (``every_backend`` or ``any_config``) over the configurations
    ``keep`` accepts, so that a case that cannot exist on a configuration is never generated
    (rather than generated and skipped). ``worker_side``: the case tests the supervised worker
    itself; the configurations of ``SAME_WORKER_AS_SERIAL_LIMITED`` run only in
    ``make test-all``."""
    base = BACKENDS + LIMITED if fixture == "any_config" else BACKENDS
    params = [pytest.param(b, id=b.name, marks=[pytest.mark.exhaustive]
                           if worker_side and b.name in SAME_WORKER_AS_SERIAL_LIMITED else [])
              for b in base if keep(b)]
    return pytest.mark.parametrize(fixture, params, indirect=True)


SHARED_ON = "serial"
"""The backend that runs every case of a rule decided in shared code (validation, return-value
forms, status rules); the other backends run one smoke case of it (``shared_code``)."""


def shared_code(fixture: str, argnames: str, cases: list[Any], ids: list[str] | None = None,
                keep: Callable[[Backend], bool] = lambda backend: True) -> pytest.MarkDecorator:
    """Parametrize ``fixture`` (``every_backend`` or ``any_config``) and ``argnames`` with every
    case on ``SHARED_ON`` and the first case on each other configuration ``keep`` accepts; the
    rest of the product is marked ``exhaustive`` (``make test-all`` runs it).

    For a rule decided in code every backend shares (``runner._core``: validation, return-value
    forms, status rules) the full cartesian product tests the same lines once per backend; the
    smoke case shows each backend reaches the shared code. Several ``argnames`` take tuples."""
    base = BACKENDS + LIMITED if fixture == "any_config" else BACKENDS
    names = ids or [str(i) for i in range(len(cases))]
    several = "," in argnames
    out = []
    for backend in filter(keep, base):
        for i, (case, name) in enumerate(zip(cases, names, strict=True)):
            values = case if several else (case,)
            extra = i > 0 and backend.name != SHARED_ON
            out.append(pytest.param(backend, *values, id=f"{backend.name}-{name}",
                                    marks=[pytest.mark.exhaustive] if extra else []))
    return pytest.mark.parametrize(f"{fixture}, {argnames}", out, indirect=[fixture])


@pytest.fixture(params=_params(BACKENDS))
def every_backend(request: pytest.FixtureRequest) -> Iterator[FaultMaker]:
    """A runner factory for each of the five backends."""
    yield from _maker(request)


@pytest.fixture(params=_params(BACKENDS + LIMITED))
def any_config(request: pytest.FixtureRequest) -> Iterator[FaultMaker]:
    """A runner factory for each backend, and for serial/thread runners with a limit set."""
    yield from _maker(request)


# -- helpers -----------------------------------------------------------------------------------

def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def one(runner: AbstractRunner, config: dict[str, Any], timeout: float = 60.0,
        **fields: Any) -> TrialValue:
    """Submit one trial and wait for its value."""
    from runner.testing import drain

    info = TrialInfo(config, **fields)
    runner.submit_trial(info)
    [(got, value)] = drain(runner, 1, timeout=timeout)
    assert got is info
    return value


def runs(folder: Any, ident: Any) -> int:
    """How often trial ``ident`` executed (lines of ``runs-<id>`` written by the saboteurs)."""
    path = os.path.join(folder, f"runs-{ident}")
    if not os.path.exists(path):
        return 0
    with open(path) as f:
        return len(f.read().split())


def started(folder: Any, ident: Any) -> bool:
    return os.path.exists(os.path.join(folder, f"started-{ident}"))


def worker_pids(runner: Any) -> set[int]:
    """The pids of the runner's live worker processes (process pool, dask, limited runners)."""
    if hasattr(runner, "worker_pids"):
        return {p for p in runner.worker_pids() if p}
    if hasattr(runner, "client"):
        from runner._backends.dask.task import cached_pids

        return {p for ps in runner.client.run(cached_pids, runner._id).values() for p in ps}
    workers = [getattr(runner, "_local_worker", None)]
    workers += list(getattr(runner, "_workers", {}).values())
    return {w.pid for w in workers if w is not None and w.pid}


class Deadline:
    """Seconds since construction; for 'within N s' assertions."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.t0


class ListOptimizer:
    """Proposes the given configs in order, then ``None``; keeps what it was told."""

    def __init__(self, configs: list[dict[str, Any]]) -> None:
        self.configs = list(configs)
        self.asked = 0
        self.told: list[tuple[TrialInfo, TrialValue]] = []

    def ask(self) -> TrialInfo | None:
        if self.asked >= len(self.configs):
            return None
        self.asked += 1
        return TrialInfo(self.configs[self.asked - 1])

    def tell(self, info: TrialInfo, value: TrialValue) -> None:
        self.told.append((info, value))
