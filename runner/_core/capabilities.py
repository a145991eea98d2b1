"""The contract between `OptimizationLoop`, the optimizer it drives and the runner it drives it
through, written once as ``typing.Protocol``s, and the one place that reads them.

An optimizer needs ``ask`` and ``tell`` (`Optimizer`); each optional method is a capability of
its own (`SupportsAskBatch`, `SupportsOnReport`, `SupportsRestore`, `SupportsRestorePending`,
`SupportsDropCheckpoints`, `SupportsFingerprint`). A runner needs the five methods of `Runner`;
its optional extras are `SupportsReports`, `SupportsInterruptions`, `SupportsReportPump`,
`SupportsWaitForDecisions`, `SupportsClock`, `SupportsCheckpoints` and `SupportsClose`.
Nothing is inherited: any object with the methods fits (a SMAC3 facade, an Optuna study).

The loop reads what an optimizer and a runner can do once, when it is built
(`OptimizerCapabilities.of`, `RunnerExtras.of`), and holds the result: no other module asks
an optimizer what it has. A wrapper that forwards to another optimizer (`MedianStopping`) says
what it forwards with ``optimizer_capabilities()`` (`DeclaresCapabilities`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Protocol, runtime_checkable

import attrs

from runner._core.reporting import Decision
from trials import History, Report, TrialInfo, TrialValue

__all__ = ["DeclaresCapabilities", "Optimizer", "OptimizerCapabilities", "Runner", "RunnerExtras",
           "SupportsAskBatch", "SupportsCheckpoints", "SupportsClock", "SupportsClose",
           "SupportsDropCheckpoints", "SupportsFingerprint", "SupportsInterruptions",
           "SupportsOnReport", "SupportsReportPump", "SupportsReports", "SupportsRestore",
           "SupportsRestorePending", "SupportsWaitForDecisions", "check_optimizer",
           "check_runner"]

# -- the optimizer -------------------------------------------------------------------------


@runtime_checkable
class Optimizer(Protocol):
    """What the loop drives: ``ask()`` proposes a trial (``None``: nothing to propose now; the
    loop finishes once nothing is in flight either), ``tell(info, value)`` hears its result,
    with the very ``TrialInfo`` object ``ask`` returned."""

    def ask(self) -> TrialInfo | None: ...

    def tell(self, info: TrialInfo, value: TrialValue) -> None: ...


@runtime_checkable
class SupportsAskBatch(Protocol):
    """Asked for all free workers at once; fewer than ``n`` trials means exhausted for now."""

    def ask_batch(self, n: int) -> Iterable[TrialInfo] | None: ...


@runtime_checkable
class SupportsOnReport(Protocol):
    """Decides on each intermediate report of a running trial: ``"continue"``, ``"stop"`` or
    ``"pause"`` (a `Decision` or its name; ``None`` is continue)."""

    def on_report(self, info: TrialInfo, report: Report) -> Decision | str | None: ...


@runtime_checkable
class SupportsRestore(Protocol):
    """On resume, rebuilds its state from the journal's finished trials (with their reports)
    at once, instead of being told them one by one."""

    def restore(self, history: History) -> None: ...


@runtime_checkable
class SupportsRestorePending(Protocol):
    """On resume, hears of each trial submitted but not finished, which runs again (so it can
    skip what it proposed before)."""

    def restore_pending(self, info: TrialInfo) -> None: ...


@runtime_checkable
class SupportsDropCheckpoints(Protocol):
    """Keeps finished trials' checkpoints for continuations, and lists (after each tell) the
    trials it will never continue, whose checkpoint directories the loop then removes."""

    def drop_checkpoints(self) -> Iterable[TrialInfo] | None: ...


@runtime_checkable
class SupportsFingerprint(Protocol):
    """Adds plain data (its ``"space"`` and settings) to the study's identity in the journal."""

    def fingerprint(self) -> Mapping[str, Any]: ...


@attrs.frozen
class OptimizerCapabilities:
    """What an optimizer can do besides ``ask`` and ``tell``: each optional method, bound, or
    ``None`` when it has none. Read once by `of`."""

    ask_batch: Callable[[int], Iterable[TrialInfo] | None] | None = None
    on_report: Callable[[TrialInfo, Report], Decision | str | None] | None = None
    restore: Callable[[History], None] | None = None
    restore_pending: Callable[[TrialInfo], None] | None = None
    drop_checkpoints: Callable[[], Iterable[TrialInfo] | None] | None = None
    fingerprint: Callable[[], Mapping[str, Any]] | None = None

    @classmethod
    def of(cls, optimizer: object) -> OptimizerCapabilities:
        """The capabilities of ``optimizer``: what it declares (`DeclaresCapabilities`), else
        each optional method it has."""
        declare = _method(optimizer, "optimizer_capabilities")
        if declare is not None:
            declared = declare()
            if not isinstance(declared, OptimizerCapabilities):
                raise TypeError(f"{type(optimizer).__name__}.optimizer_capabilities() must "
                                f"return an OptimizerCapabilities, got {declared!r}")
            return declared
        return cls(**{name: _method(optimizer, name) for name in _OPTIONAL})


_OPTIONAL = tuple(field.name for field in attrs.fields(OptimizerCapabilities))


@runtime_checkable
class DeclaresCapabilities(Protocol):
    """A wrapper's own account of what it can do (what it forwards of the optimizer it wraps),
    read instead of looking for each method on it."""

    def optimizer_capabilities(self) -> OptimizerCapabilities: ...


def check_optimizer(optimizer: object, name: str = "optimizer") -> None:
    """``TypeError`` naming ``name`` unless ``optimizer`` is an instance with ``ask`` and
    ``tell``."""
    if isinstance(optimizer, type):  # its methods are there, unbound: it would fail at run()
        raise TypeError(f"{name} must be an instance, got the class {optimizer.__name__} "
                        f"itself; build one first, e.g. {optimizer.__name__}(...)")
    missing = [m for m in ("ask", "tell") if _method(optimizer, m) is None]
    if missing:
        raise TypeError(f"{name} must have ask() -> TrialInfo | None and tell(info, value); "
                        f"{type(optimizer).__name__} has no {' or '.join(missing)}()")


# -- the runner ----------------------------------------------------------------------------


@runtime_checkable
class Runner(Protocol):
    """What the loop needs of a runner (every `AbstractRunner` has it)."""

    def submit_trial(self, info: TrialInfo) -> None: ...

    def iter_results(self) -> Iterator[tuple[TrialInfo, TrialValue]]: ...

    def wait(self, timeout: float | None = None) -> None: ...

    def is_running(self) -> bool: ...

    def count_available_workers(self) -> int: ...


_RUNNER_METHODS = ("submit_trial", "iter_results", "wait", "is_running",
                   "count_available_workers")


def check_runner(runner: object, name: str = "runner") -> None:
    """``TypeError`` naming ``name`` unless ``runner`` is an instance with the methods of
    `Runner`."""
    if isinstance(runner, type):
        raise TypeError(f"{name} must be an instance, got the class {runner.__name__} "
                        f"itself; build one first, e.g. {runner.__name__}(target, ...)")
    missing = [m for m in _RUNNER_METHODS if _method(runner, m) is None]
    if missing:
        raise TypeError(f"{name} must implement the runner contract ({', '.join(_RUNNER_METHODS)}"
                        f"); {type(runner).__name__} has no {', '.join(missing)}")


@runtime_checkable
class SupportsReports(Protocol):
    """Carries trials' intermediate reports to the loop and its decisions back."""

    def iter_reports(self) -> Iterable[tuple[TrialInfo, Report]]: ...

    def decide(self, info: TrialInfo, decision: Decision) -> None: ...


@runtime_checkable
class SupportsInterruptions(Protocol):
    """Says which runs it lost outside the trial (a worker, node or batch job gone) and runs
    again; each item is ``(info, lost)`` with ``lost.reason``, ``lost.job``, ``lost.requeue``."""

    def iter_interruptions(self) -> Iterable[tuple[TrialInfo, Any]]: ...


@runtime_checkable
class SupportsReportPump(Protocol):
    """Runs trials in the loop's thread, so it calls the loop's pump on each report."""

    def set_report_pump(self, pump: Callable[[], None] | None) -> None: ...


@runtime_checkable
class SupportsWaitForDecisions(Protocol):
    """Can hold each report of a trial until the loop has decided on it."""

    def set_wait_for_decisions(self, wait: bool) -> None: ...


@runtime_checkable
class SupportsClock(Protocol):
    """Keeps time of its own (simulated time): seconds on the scale of its values'
    ``starttime``/``endtime``, never decreasing; the loop then reads it for all its time."""

    def clock(self) -> float: ...


@runtime_checkable
class SupportsCheckpoints(Protocol):
    """Its target takes ``checkpoint``: the loop gives each trial a checkpoint directory."""

    wants_checkpoint: bool


@runtime_checkable
class SupportsClose(Protocol):
    """Closed by the loop when it is interrupted (killing what runs)."""

    def close(self) -> None: ...


@attrs.frozen
class RunnerExtras:
    """The optional extras of a runner, each bound or ``None`` (``wants_checkpoint`` a flag).
    Read once by `of`."""

    iter_reports: Callable[[], Iterable[tuple[TrialInfo, Report]]] | None = None
    decide: Callable[[TrialInfo, Decision], None] | None = None
    iter_interruptions: Callable[[], Iterable[tuple[TrialInfo, Any]]] | None = None
    set_report_pump: Callable[[Callable[[], None] | None], None] | None = None
    set_wait_for_decisions: Callable[[bool], None] | None = None
    clock: Callable[[], float] | None = None
    close: Callable[[], None] | None = None
    wants_checkpoint: bool = False

    @classmethod
    def of(cls, runner: object) -> RunnerExtras:
        """The extras ``runner`` has."""
        found = {field.name: _method(runner, field.name)
                 for field in attrs.fields(cls) if field.name != "wants_checkpoint"}
        return cls(**found, wants_checkpoint=bool(getattr(runner, "wants_checkpoint", False)))


def _method(obj: object, name: str) -> Callable[..., Any] | None:
    """``obj``'s attribute ``name`` if it is callable, else ``None``."""
    found = getattr(obj, name, None)
    return found if callable(found) else None
