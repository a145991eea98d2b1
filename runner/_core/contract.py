"""``AbstractRunner``: the interface an optimization loop talks to, and the part every backend
shares (target adaptation, ``run``/``run_wrapper``, lifecycle, ``meta``).

The protocol, in order:

1. ``submit_trial(info)`` hands a trial to the backend and returns at once; trials beyond the free
   workers wait in a queue inside the runner, none is dropped.
2. Where the trial runs, ``run_wrapper(info)`` calls ``run`` (the target), measures wall and CPU
   time, enforces the limits and turns every failure into a ``TrialValue`` with a status.
3. ``iter_results()`` yields each finished ``(info, value)`` exactly once and never blocks;
   ``wait()`` blocks until one is there; ``is_running()`` says whether any is still queued or
   executing; ``count_available_workers()`` how many more could start now.
4. ``close()`` (or leaving the ``with`` block) kills what still runs and releases the workers.

Optional, with defaults here (a runner without them still works with the loop): a running
trial's reports come out of ``iter_reports()`` (each once, never blocking; ``wait()`` returns
for them too), and ``decide(info, "stop")`` makes that trial's next ``report`` raise
``TrialStopped``.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from runner._core import lifecycle
from runner._core.adapt import as_target
from runner._core.evaluator import Evaluator
from runner._core.limits import Limits
from runner._core.returns import Objectives, Outcome
from runner._core.target import Target
from runner.errors import LimitError, PreflightError, RunnerClosedError
from trials import Report, TrialInfo, TrialValue

__all__ = ["AbstractRunner"]


class _NoTarget(Target):
    """Stands in when a subclass overrides ``run`` and passes no target."""

    def __init__(self, owner: str = "") -> None:
        self.owner = owner

    @property
    def name(self) -> str:
        """``MyRunner.run``: the overridden ``run`` is the target."""
        return f"{self.owner}.run" if self.owner else "run"

    def __call__(self, config: Mapping[str, Any], **kwargs: Any) -> Any:
        raise TypeError("this runner has no target; pass target= or override run()")


class _RunOverride:
    """Calls a subclass's overridden ``run`` in a worker, on a stub holding only user state."""

    def __init__(self, cls: Any, state: dict[str, Any]) -> None:
        self.cls, self.state = cls, state
        self._obj: Any = None

    def __getstate__(self) -> tuple[Any, dict[str, Any]]:
        return self.cls, self.state

    def __setstate__(self, state: tuple[Any, dict[str, Any]]) -> None:
        self.cls, self.state = state
        self._obj = None

    def __call__(self, config: Mapping[str, Any], **kwargs: Any) -> Any:
        if self._obj is None:
            self._obj = object.__new__(self.cls)
            self._obj.__dict__.update(self.state)
        try:
            return self.cls.run(self._obj, config, **kwargs)
        except AttributeError as exc:
            name = getattr(exc, "name", None)
            if getattr(exc, "obj", None) is self._obj and name and name not in self.state:
                raise AttributeError(
                    f"{self.cls.__name__}.run uses self.{name}, which the worker process does "
                    f"not have: only attributes set before super().__init__() travel to "
                    f"worker processes; set self.{name} before calling super().__init__()"
                ) from exc
            raise


class AbstractRunner(ABC):
    """Submit trials, collect ``(TrialInfo, TrialValue)`` pairs; see the module doc for the steps.

    Subclass a concrete runner and override `run` to define a custom target; attributes
    you set *before* calling ``super().__init__`` travel with it to worker processes.
    """

    backend: str = "abstract"

    def __init__(self, target: Any = None, *, objectives: str | Sequence[str] = "cost",
                 crash_cost: float | Sequence[float] = math.inf,
                 walltime_limit: float | None = None, cpu_time_limit: float | None = None,
                 memory_limit: float | None = None,
                 shared_data: Mapping[str, Any] | None = None, grace: float = 0.25,
                 fresh_process_per_trial: bool = False) -> None:
        self._user_keys = frozenset(vars(self))
        self._overrides_run = type(self).run is not AbstractRunner.run
        if target is None and not self._overrides_run:
            raise TypeError(f"{type(self).__name__}() needs a target: a callable, a "
                            "runner.Target or a command line (or a subclass overriding run)")
        self._target = (_NoTarget(type(self).__qualname__) if target is None
                        else as_target(target, allow_async=self.backend == "asyncio"))
        self._objectives = Objectives(objectives, crash_cost)
        self._limits = Limits(walltime_limit, cpu_time_limit, memory_limit, grace,
                              fresh_process_per_trial)
        if shared_data is not None and not isinstance(shared_data, Mapping):
            raise TypeError(f"shared_data must be a dict of name to object, got "
                            f"{type(shared_data).__name__}")
        self._shared_data = dict(shared_data or {})
        if not all(isinstance(k, str) and k.isidentifier() for k in self._shared_data):
            raise TypeError("shared_data keys must be valid keyword-argument names")
        if target is not None:
            self._target.check(self._shared_data)
        self._evaluator = Evaluator(self._target, self._objectives, self._limits)
        self._closed = False
        lifecycle.opened(self)
        self._payload_bytes: bytes | None = None

    # -- the contract ------------------------------------------------------------------------

    @abstractmethod
    def submit_trial(self, info: TrialInfo) -> None:
        """Hand ``info`` to the backend; returns at once (it may wait in the runner's queue)."""

    @abstractmethod
    def iter_results(self) -> Iterator[tuple[TrialInfo, TrialValue]]:
        """Yield every finished ``(info, value)`` not yet yielded, each once; never blocks."""

    @abstractmethod
    def wait(self, timeout: float | None = None) -> None:
        """Block until a submitted trial has finished, or nothing runs, or ``timeout`` passes."""

    @abstractmethod
    def is_running(self) -> bool:
        """Whether any submitted trial is still queued or executing."""

    @abstractmethod
    def count_available_workers(self) -> int:
        """How many more trials could start now (never negative)."""

    # -- optional: intermediate reports (defaults: none, decisions ignored) ------------------

    def iter_reports(self) -> Iterator[tuple[TrialInfo, Report]]:
        """Yield every ``(info, report)`` of a running trial not yet yielded; never blocks."""
        return iter(())

    def decide(self, info: TrialInfo, decision: Any) -> None:  # noqa: B027 - optional
        """Pass the optimizer's decision (``"continue"``, ``"stop"``) on ``info``'s reports
        to the running trial; one that has ended already is left alone."""

    def set_report_pump(self, pump: Callable[[], None] | None) -> None:  # noqa: B027
        """Give the runner a callable that takes in reports and decides on them (the loop's);
        a runner that runs a trial in its caller's thread calls it on each report, since the
        caller cannot do so while the trial runs."""

    # -- shared by every backend -------------------------------------------------------------

    def run(self, config: Mapping[str, Any], instance: str | None = None,
            budget: float | None = None, seed: int | None = None) -> Outcome:
        """Evaluate the target once in this process: ``(status, cost, runtime, info)``."""
        return self._evaluator.run(config, instance, budget, seed, self._shared_data)

    def run_wrapper(self, info: TrialInfo) -> tuple[TrialInfo, TrialValue]:
        """Evaluate ``info`` with timing, limits and crash capture; here, or in a supervised
        worker process when a limit is set."""
        if self._limits.any:
            return info, self._run_isolated(info)
        run = self.run if self._overrides_run else None
        return info, self._evaluator.evaluate(info, self._shared_data, run, self._reporter(info))

    def _reporter(self, info: TrialInfo) -> Any:
        """Hook: the ``report`` callable of ``info`` when it runs in this process (``None``:
        the target gets one whose reports go nowhere)."""
        return None

    def close(self) -> None:
        """Kill what still runs and release the workers; idempotent."""
        if self._closed:
            return
        self._closed = True
        lifecycle.closed(self)
        self._close()

    def _run_isolated(self, info: TrialInfo) -> TrialValue:
        """Hook: evaluate ``info`` in a supervised worker process (limits are set); the
        built-in backends provide it (``runner/_backends/local.py``)."""
        raise LimitError(f"{type(self).__name__} cannot enforce limits in run_wrapper(); "
                         "run it without limits or on a runner that isolates trials")

    def _close(self) -> None:  # noqa: B027 - hook, optional
        """Backend hook: release the backend's workers."""

    def __enter__(self) -> AbstractRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def meta(self) -> dict[str, Any]:
        """A JSON-safe description of the runner."""
        crash = self._objectives.crash_cost
        return {
            "class": type(self).__name__,
            "backend": self.backend,
            "target": self._target.name,
            "objectives": list(self._objectives.names),
            "crash_cost": list(crash) if isinstance(crash, tuple) else crash,
            **self._limits.as_dict(),
            **self._backend_meta(),
        }

    def _backend_meta(self) -> dict[str, Any]:
        return {}

    # -- helpers for backends ----------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """Whether `close` was called."""
        return self._closed

    def _check_submit(self, info: TrialInfo) -> None:
        if self._closed:
            raise RunnerClosedError(f"submit_trial() on a closed {type(self).__name__}; "
                                    "create a new runner")
        if not isinstance(info, TrialInfo):
            raise TypeError(f"submit_trial() takes a trials.TrialInfo, got "
                            f"{type(info).__name__}")
        self._target.check_trial(info)

    def _payload(self) -> bytes:
        """The evaluator, shared data and any ``run`` override, cloudpickled once for workers."""
        if self._payload_bytes is None:
            import cloudpickle

            override = None
            if self._overrides_run:
                state = {k: v for k, v in vars(self).items() if k in self._user_keys}
                state["_evaluator"] = self._evaluator
                state["_shared_data"] = self._shared_data
                override = _RunOverride(type(self), state)
            try:
                cloudpickle.loads(cloudpickle.dumps((self._evaluator, override)))
                data = cloudpickle.dumps((self._evaluator, self._shared_data, override))
            except Exception as exc:
                raise PreflightError(
                    f"the target of {type(self).__name__} cannot travel to worker processes: "
                    f"pickling it failed with {exc!r}; make it a module-level function or a "
                    "plain-data Target"
                ) from exc
            self._payload_bytes = data
        return self._payload_bytes
