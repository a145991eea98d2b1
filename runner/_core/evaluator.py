"""The in-process half of ``run_wrapper``: call the target, time it, and turn every exception and
invalid return into data. This object (target + objectives + limits) is what travels to workers,
once, never the runner."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from runner._core import verdicts
from runner._core.checkpoints import checkpoint_dir, trial_checkpoint
from runner._core.limits import Limits
from runner._core.reporting import Reporter
from runner._core.returns import InvalidReturn, Objectives, Outcome, RawResult, normalize_return
from runner._core.target import Target
from runner._core.verdicts import crash_info
from runner.errors import TrialStopped
from trials import StatusType, TrialInfo, TrialValue

__all__ = ["Evaluator", "RunFn", "TrialFields", "crash_info"]

RunFn = Callable[..., Any]
"""A runner's ``run(config, instance=, budget=, seed=)`` when a subclass overrides it."""


class TrialFields(Protocol):
    """What the evaluator reads of a trial: a ``TrialInfo``, or the worker's plain copy."""

    @property
    def config(self) -> Any: ...
    @property
    def instance(self) -> str | None: ...
    @property
    def seed(self) -> int | None: ...
    @property
    def budget(self) -> float | None: ...


class Evaluator:
    """Target, objectives and limits: everything a worker needs to evaluate trials."""

    __slots__ = ("target", "objectives", "limits")

    def __init__(self, target: Target, objectives: Objectives, limits: Limits) -> None:
        self.target = target
        self.objectives = objectives
        self.limits = limits

    def __getstate__(self) -> tuple[Target, Objectives, Limits]:
        return self.target, self.objectives, self.limits

    def __setstate__(self, state: tuple[Target, Objectives, Limits]) -> None:
        self.target, self.objectives, self.limits = state

    def run(self, config: Mapping[str, Any], instance: str | None, budget: float | None,
            seed: int | None, shared: Mapping[str, Any],
            reporter: Reporter | None = None, checkpoint: str | None = None) -> Outcome:
        """Call the target once and classify what it did; never raises for the target's faults.
        ``reporter``: the trial's ``report`` callable, passed if the target names ``report``;
        ``checkpoint``: the trial's checkpoint directory, passed (created) if it names
        ``checkpoint`` (runner/_core/checkpoints.py)."""
        if self.target.wants_report and (reporter is not None
                                         or not self.target.report_optional):
            if reporter is None:  # a direct run(): its reports go nowhere
                reporter = Reporter()
            shared = {**shared, "report": reporter}
        if self.target.wants_checkpoint:
            try:
                with trial_checkpoint(checkpoint) as path:
                    return self._call(config, instance, budget, seed,
                                      {**shared, "checkpoint": path}, reporter)
            except OSError as exc:  # the directory could not be made: the trial cannot run
                return verdicts.raised(exc, self.objectives.crash_cost)
        return self._call(config, instance, budget, seed, shared, reporter)

    def _call(self, config: Mapping[str, Any], instance: str | None, budget: float | None,
              seed: int | None, shared: Mapping[str, Any], reporter: Reporter | None
              ) -> Outcome:
        try:
            return self._call_target(config, instance, budget, seed, shared, reporter)
        finally:
            if reporter is not None:  # a report() kept past the trial's end now says so
                reporter.end()

    def _call_target(self, config: Mapping[str, Any], instance: str | None,
                     budget: float | None, seed: int | None, shared: Mapping[str, Any],
                     reporter: Reporter | None) -> Outcome:
        try:
            raw = self.target(config, instance=instance, seed=seed, budget=budget, **shared)
        except (Exception, SystemExit) as exc:
            return self.failure(exc, reporter)
        return self.returned(raw, reporter)

    def failure(self, exc: BaseException, reporter: Reporter | None,
                stop_cancelled: Callable[[], bool] | None = None) -> Outcome:
        """The one exception-to-status ladder of a call that raised ``exc`` (sync or async,
        target or ``run`` override); ``stop_cancelled`` only for an awaited call, whose
        timeout and cancellation are the runner's (`run_async`)."""
        crash = self.objectives.crash_cost
        if isinstance(exc, TrialStopped):
            return self.stopped(reporter)
        if stop_cancelled is not None:
            import asyncio  # (imported already: the call was awaited; workers never import it)

            walltime = self.limits.walltime
            if isinstance(exc, asyncio.TimeoutError) and walltime is not None:
                return verdicts.walltime_outcome(walltime, crash)
            if isinstance(exc, asyncio.CancelledError):
                return self.stopped(reporter) if stop_cancelled() else (
                    verdicts.cancelled_outcome(crash))
        if isinstance(exc, MemoryError):
            return verdicts.memory_outcome(exc, self.limits.memory, crash)
        if isinstance(exc, InvalidReturn):  # an adapter's verdict (a script's): the message
            return verdicts.invalid(str(exc), crash, type(exc).__name__)
        if reporter is not None and reporter.stopped:  # it failed while unwinding
            return self.stopped(reporter)
        return verdicts.raised(exc, crash)

    def returned(self, raw: Any, reporter: Reporter | None, override: bool = False
                 ) -> Outcome:
        """What a call that returned ``raw`` means (``override``: a ``run`` override's)."""
        if reporter is not None and reporter.stopped:  # it caught the stop and returned
            return self.stopped(reporter)
        return self.classify_run(raw) if override else self.classify(raw)

    async def run_async(self, info: TrialFields, shared: Mapping[str, Any],
                        run: RunFn | None = None, reporter: Reporter | None = None,
                        stop_cancelled: Callable[[], bool] = lambda: False) -> Outcome:
        """`run` for ``async def`` targets (or an ``async def run`` override), with the
        wall-time limit enforced by cancelling the coroutine; ``reporter``: the trial's
        ``report``, and ``stop_cancelled()`` says whether a cancellation was a stop decision's
        (the task ignored the stop)."""
        if run is None and reporter is not None and self.target.wants_report:
            shared = {**shared, "report": reporter}
        try:
            if run is None and self.target.wants_checkpoint:
                try:
                    with trial_checkpoint(checkpoint_dir(info)) as path:
                        return await self._call_async(info, {**shared, "checkpoint": path},
                                                      None, reporter, stop_cancelled)
                except OSError as exc:
                    return verdicts.raised(exc, self.objectives.crash_cost)
            return await self._call_async(info, shared, run, reporter, stop_cancelled)
        finally:
            if reporter is not None:  # what a leftover thread reports from now on is dropped
                reporter.close()

    async def _call_async(self, info: TrialFields, shared: Mapping[str, Any],
                          run: RunFn | None, reporter: Reporter | None,
                          stop_cancelled: Callable[[], bool]) -> Outcome:
        try:
            return await self._await_target(info, shared, run, reporter, stop_cancelled)
        finally:
            if reporter is not None:
                reporter.end()

    async def _await_target(self, info: TrialFields, shared: Mapping[str, Any],
                          run: RunFn | None, reporter: Reporter | None,
                          stop_cancelled: Callable[[], bool]) -> Outcome:
        import asyncio

        walltime = self.limits.walltime
        try:
            if run is not None:
                coro = run(info.config, instance=info.instance, budget=info.budget,
                           seed=info.seed)
            else:
                coro = self.target(info.config, instance=info.instance, seed=info.seed,
                                   budget=info.budget, **shared)
            raw = await (asyncio.wait_for(coro, walltime) if walltime is not None else coro)
        except (Exception, SystemExit, asyncio.CancelledError) as exc:
            return self.failure(exc, reporter, stop_cancelled)
        return self.returned(raw, reporter, override=run is not None)

    def stopped(self, reporter: Reporter | None) -> Outcome:
        """STOPPED at the reporter's last report (the decision answered that one)."""
        last = None if reporter is None else reporter.last
        if last is None:  # TrialStopped raised by the target itself, with no report
            return verdicts.stopped_outcome(self.objectives.crash_cost, None)
        return verdicts.stopped_outcome(last.cost, last.step)

    def classify(self, raw: Any) -> Outcome:
        """Map a return value (any form of the design) to an ``Outcome``."""
        try:
            outcome = normalize_return(raw, self.objectives)
        except InvalidReturn as exc:
            return verdicts.invalid(str(exc), self.objectives.crash_cost)
        if outcome.status != StatusType.SUCCESS:
            outcome.additional_info.setdefault("error", f"run reported {outcome.status.name}")
        return outcome

    def evaluate(self, info: TrialInfo, shared: Mapping[str, Any],
                 run: RunFn | None = None, reporter: Reporter | None = None) -> TrialValue:
        """Run ``info`` here, timing wall and CPU (own and waited-for children)."""
        return self.run_wrapper(info, shared, run, reporter).to_value()

    def run_wrapper(self, info: TrialFields, shared: Mapping[str, Any],
                    run: RunFn | None = None, reporter: Reporter | None = None) -> RawResult:
        """`evaluate` as the `RawResult` that a worker process sends: the driver builds the
        one ``TrialValue``."""
        start = time.time()
        t0 = time.perf_counter()
        c0 = os.times()
        if run is None:
            outcome = self.run(info.config, info.instance, info.budget, info.seed, shared,
                               reporter, checkpoint_dir(info))
        else:
            outcome = self._run_override(run, info)
        wall = time.perf_counter() - t0
        c1 = os.times()
        cpu = (c1.user - c0.user + c1.system - c0.system
               + c1.children_user - c0.children_user + c1.children_system - c0.children_system)
        if reporter is not None:  # what a leftover thread reports from now on is dropped
            reporter.close()
            wall -= reporter.outside  # the optimizer deciding on a report (serial): not ours
            cpu -= reporter.outside_cpu
        extra, seconds = outcome.additional_info, wall
        reported = outcome.runtime
        if (isinstance(reported, (int, float)) and not isinstance(reported, bool)
                and 0 <= reported < float("inf")):
            # The target's own runtime wins, as in SMAC3 (a script's ``runtime=``, the runtime
            # of a ``(status, cost, runtime, info)`` return); what we measured is kept beside it.
            seconds = float(reported)
            extra["measured_time"] = wall
        return RawResult(outcome.status, outcome.cost, seconds, max(0.0, cpu), start,
                         start + wall, extra)

    def _run_override(self, run: RunFn, info: TrialFields) -> Outcome:
        try:
            raw = run(info.config, instance=info.instance, budget=info.budget, seed=info.seed)
        except (Exception, SystemExit) as exc:
            return self.failure(exc, None)
        return self.returned(raw, None, override=True)

    def classify_run(self, raw: Any) -> Outcome:
        """Like `classify`, for what an overridden ``run`` returned: a 4-tuple's status
        may be a plain int (SMAC3 code often returns one)."""
        if isinstance(raw, tuple) and len(raw) == 4 and not isinstance(raw[0], StatusType):
            try:
                raw = (StatusType(raw[0]), *raw[1:])
            except ValueError:
                pass
        return self.classify(raw)
