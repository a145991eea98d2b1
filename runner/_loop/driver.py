"""The loop's driver (see ``runner/_loop/loop.py`` for the picture): an object given the
optimizer, the runner and the loop's books, owning the trials in flight. Its pass (`one_pass`):
take in reports of running trials (journal, curve, ``optimizer.on_report``, pass a stop on),
collect results (journal, retry or tell), check goals, fill free workers with asked trials.
`Driver.drive` repeats it, waiting on the runner in between; ``OptimizationLoop.step()`` runs
it once without waiting, for a scheduler that drives many loops on one shared runner
(runner/suites)."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import attrs

from runner._core.capabilities import Optimizer, OptimizerCapabilities, Runner, RunnerExtras
from runner._core.reporting import Decision
from runner._loop import events, intake
from runner._loop.checkpoints import PAUSED_KEY, Checkpoints, paused_value
from runner._loop.failures import FailureRate, Failures
from runner._loop.goals import Goal, LoopState, NTrialsGoal
from runner._loop.journal import LoopJournal
from runner._loop.timings import TimingAccount
from runner.errors import RetriesExceededError, RunnerBrokenError
from trials import History, StatusType, TrialInfo, TrialValue

__all__ = ["Driver", "Trial"]

log = logging.getLogger(__name__)

WAIT = 0.1  # seconds per runner.wait: how quickly cancel() and time goals are noticed
LOST_AFTER = 2.0  # seconds trials may be missing from a runner that says nothing runs


class Trial:
    """One trial in flight: its id, the attempt last submitted (0 for the first run, -1 before
    it), the crashes retried so far."""

    __slots__ = ("trial", "attempt", "info", "submitted", "crashes", "paused")

    def __init__(self, trial: int, info: TrialInfo, attempt: int = -1) -> None:
        self.trial = trial
        self.attempt = attempt
        self.info = info
        self.submitted = 0.0
        self.crashes = 0
        self.paused = False  # a "pause" decision was passed on for it


@attrs.define(eq=False, kw_only=True, repr=False)
class Driver:
    """The driver of one ``OptimizationLoop``: given the optimizer, the runner and the books it
    keeps (the loop builds it and keeps the lifecycle), it owns what is in flight and runs the
    loop's pass (`one_pass`), for both ``OptimizationLoop.step`` and `drive`."""

    loop: LoopState  # what goals are called with
    optimizer: Optimizer
    runner: Runner
    can: OptimizerCapabilities
    extras: RunnerExtras
    goals: list[Goal]
    retries: int
    raise_if_retries_exceeded: bool
    history: History
    log: list[tuple[Any, ...]] | None
    clock: Callable[[], float]
    now: Callable[[], float]
    failures: Failures
    failure_rate: FailureRate
    account: TimingAccount
    journal: LoopJournal | None
    checkpoints: Checkpoints | None
    set_wait: Callable[[bool], None] | None  # the runner's, when every report is answered
    cancel: threading.Event
    caps: list[NTrialsGoal] = attrs.field(init=False)
    pending: dict[int, Trial] = attrs.field(init=False, factory=dict)  # id(submitted info) ->
    requeue: deque[Trial] = attrs.field(init=False, factory=deque)  # to submit before asking
    next_id: int = attrs.field(init=False, default=0)
    n_told: int = attrs.field(init=False, default=0)  # results told in this session
    n_retried: int = attrs.field(init=False, default=0)
    exhausted: bool = attrs.field(init=False, default=False)  # ask() gave None, nothing told since
    stop_reason: str | None = attrs.field(init=False, default=None)
    interrupt: bool = attrs.field(init=False, default=False)  # Ctrl-C in block_until_done
    report_error: Exception | None = attrs.field(init=False, default=None)  # on_report, in a pump
    reports_lock: threading.RLock = attrs.field(init=False, factory=threading.RLock)

    def __attrs_post_init__(self) -> None:
        self.caps = [g for g in self.goals if isinstance(g, NTrialsGoal)]

    # -- the pass: one copy, for step() and drive() ------------------------------------------

    def one_pass(self) -> int:
        """Reports before results (a trial's reports precede its result), goals after
        collecting, then fill the free workers; the number of results collected."""
        self.take_reports()
        collected = self.collect()
        if self.stop_reason is None:
            self.check_goals()
        self.fill()
        return collected

    def over(self) -> bool:
        """Nothing in flight or to resubmit, and nothing more to ask (a goal, or exhausted)."""
        return not (self.pending or self.requeue) and (
            self.stop_reason is not None or self.exhausted)

    def drive(self) -> None:
        """Pass after pass, waiting on the runner between them, until the loop is over or
        cancelled; a runner that says nothing runs but keeps trials is `RunnerBrokenError`."""
        runner, lost_since = self.runner, None
        while True:
            if self.cancel.is_set():
                if self.interrupt:
                    raise KeyboardInterrupt
                self.stop_reason = "cancelled"
                return
            running = runner.is_running()
            collected = self.one_pass()
            if not self.pending:
                lost_since = None
                if self.over():
                    return
                self.cancel.wait(WAIT / 2)  # no free worker yet (e.g. a cluster starting)
                continue
            if running or collected:
                lost_since = None
            elif lost_since is None:
                lost_since = time.monotonic()
            elif time.monotonic() - lost_since > LOST_AFTER:
                lost = sorted(t.trial for t in self.pending.values())
                raise RunnerBrokenError(f"{type(runner).__name__} says nothing runs but never "
                                        f"returned trials {lost}", lost=lost)
            runner.wait(WAIT)

    def attach(self, on: bool) -> None:
        """Give the runner the loop's report pump and, with ``wait_for_decisions``, make its
        trials' reports wait for decisions (before the first trial); ``False``: take both
        back (nobody decides any more: waiting reports go on)."""
        pump = self.extras.set_report_pump
        if pump is not None:  # a runner running trials in this thread decides on reports there
            pump(self.pump_reports if on else None)
        if self.set_wait is not None:
            self.set_wait(on)

    def take_reports(self) -> int:
        """Journal every report of a running trial ready now, add it to the trial's curve,
        ask the optimizer's ``on_report`` and pass a decision other than continue on (every
        decision, with ``wait_for_decisions``: the report waits for it). One call at a time (a
        serial trial's threads pump reports too); an ``on_report`` that failed inside a trial
        (`pump_reports`) fails the loop here."""
        if self.report_error is not None:
            error, self.report_error = self.report_error, None
            raise error
        with self.reports_lock:
            return self._take_reports_now()

    def _take_reports_now(self) -> int:
        return intake.take_reports(self)

    def _take_interruptions(self) -> None:
        """Journal each run the runner lost outside the trial and runs again (intake.py)."""
        intake.take_interruptions(self)

    def pump_reports(self) -> None:
        """The loop's side of ``runner.set_report_pump``: a runner running a trial in the
        loop's thread (serial) calls it on each report. An error of the optimizer's
        ``on_report`` there must fail the loop, not the trial (it would read as the trial's
        crash and be retried): it is kept, the trials in flight are told to stop, and the
        driver's next pass raises it."""
        if self.report_error is not None:
            return
        try:
            self.take_reports()
        except Exception as exc:
            self.report_error = exc
            decide = self.extras.decide
            if decide is not None:
                for trial in list(self.pending.values()):
                    decide(trial.info, Decision.STOP)

    def collect(self) -> int:
        """Journal every result ready now, sync once, then history and tell the final ones
        (after the reports that came with them: a trial's reports precede its result)."""
        n, finals, error = 0, [], None
        results = list(self.runner.iter_results())
        self._take_interruptions()  # a result's lost runs were recorded before it
        if results:  # reading these results may have read their trials' last reports too:
            self.take_reports()  # take them while the trials are still pending
        for info, value in results:
            trial = self.pending.pop(id(info), None) or self._match(info)
            if trial is None:
                log.warning("ignoring a result the loop did not submit (or already abandoned): "
                            "%r", info)
                continue
            n += 1
            self.account.result(trial.submitted, self.now(), value)
            if trial.paused and value.status is StatusType.STOPPED:
                value = paused_value(value)
            try:
                if self._on_result(trial, value):
                    finals.append((trial.trial, trial.info, value))
            except RetriesExceededError as exc:
                error = exc
                break
        if n and self.journal is not None:
            self.timed_journal(self.journal.sync)
        drop = self.can.drop_checkpoints
        for trial_id, info, value in finals:
            best = self.history.incumbent
            self.history.append(info, value)
            if self.history.incumbent is not best:
                events.new_incumbent(trial_id, (info, value))
            self.tell(info, value)
            if self.checkpoints is not None:
                self.checkpoints.ended(info, keep=drop is not None or bool(
                    value.additional_info.get(PAUSED_KEY)))
                if drop is not None:
                    self.checkpoints.drop(drop() or ())
            self.failure_rate.add(trial_id, value)
        if error is not None:
            raise error
        if finals and self.failure_rate.exceeded():
            raise self.failure_rate.error()
        return n

    def _match(self, info: TrialInfo) -> Trial | None:
        """For a runner that returns a copy of the submitted info: by value, oldest first."""
        for key, trial in self.pending.items():
            if trial.info == info:
                return self.pending.pop(key)
        return None

    def _on_result(self, trial: Trial, value: TrialValue) -> bool:
        """Journal one result; whether it is final (to enter history and be told)."""
        status, info = value.status, trial.info
        if status is StatusType.CRASHED and trial.crashes < self.retries:
            trial.crashes += 1
            self.n_retried += 1
            events.crashed(trial.trial, trial.attempt, value, trial.crashes, self.retries)
            self._journal_result(trial, False, value)
            self.requeue.append(trial)
            return False
        if status is StatusType.CANCELLED:  # not run to its end: it stays unfinished
            log.warning("trial %d came back CANCELLED from the runner; it is not told and runs "
                        "again on resume", trial.trial)
            self._journal_result(trial, False, value)
            return False
        if status is StatusType.CRASHED:
            extra = value.additional_info  # a process death leaves an error, no traceback
            tb = str(extra.get("traceback") or extra.get("error") or "no traceback")
            self.failures.add(trial.trial, info, tb)
            # with a failure-rate policy, the policy is the guard: one trial's end is not
            ends = self.raise_if_retries_exceeded and self.failure_rate.rate is None
            events.gave_up(trial.trial, trial.attempt, value, ends)
            if ends:
                self._journal_result(trial, False, value)
                if self.journal is not None:
                    self.timed_journal(self.journal.failed, trial.trial, trial.attempt, tb)
                raise RetriesExceededError(
                    f"trial {trial.trial} crashed on all {trial.attempt + 1} attempt(s) "
                    f"(retries={self.retries}); pass raise_if_retries_exceeded=False to tell the "
                    f"optimizer and go on, or max_failure_rate to stop only a broken target. "
                    f"Its last traceback:\n{tb}", info=info, traceback=tb)
        self._journal_result(trial, True, value)
        return True

    def tell(self, info: TrialInfo, value: TrialValue) -> None:
        t = self.clock()
        try:
            self.optimizer.tell(info, value)
        finally:
            self.account.optimizer += self.clock() - t
        self.n_told += 1
        self.exhausted = False
        if self.log is not None:
            self.log.append(("tell", info, value))

    def check_goals(self) -> None:
        t = self.clock()
        try:
            for goal in self.goals:
                if goal(self.loop):
                    self.stop_reason = f"goal met: {goal!r}"
                    log.info("%s; collecting the %d trials in flight", self.stop_reason,
                             len(self.pending))
                    return
        finally:
            self.account.optimizer += self.clock() - t

    def fill(self) -> None:
        free = self.runner.count_available_workers()
        if free > self.account.workers:  # all of them at the start, when nothing runs yet
            self.account.workers = free
        requeue = self.requeue
        while free > 0 and requeue:
            self._submit(requeue.popleft())
            free -= 1
        if free <= 0 or self.stop_reason is not None or self.exhausted:
            return
        for cap in self.caps:
            free = min(free, cap.remaining(self.loop))
        if free > 0:
            for info in self._ask(free):
                self._check_not_in_flight(info)
                self._submit(Trial(self.next_id, info))
                self.next_id += 1

    def _ask(self, n: int) -> list[TrialInfo]:
        opt = self.optimizer
        t = self.clock()
        try:
            ask_batch = self.can.ask_batch
            if n > 1 and ask_batch is not None:
                got = list(ask_batch(n) or ())
                if len(got) < n:
                    self.exhausted = True
            else:
                got = []
                for _ in range(n):
                    info = opt.ask()
                    if info is None:
                        self.exhausted = True
                        break
                    got.append(info)
        finally:
            self.account.optimizer += self.clock() - t
        for info in got:
            if not isinstance(info, TrialInfo):
                raise TypeError(f"{type(opt).__name__}.ask() must return a trials.TrialInfo or "
                                f"None, got {info!r} (type {type(info).__name__})")
        if self.log is not None:
            self.log.extend(("ask", info) for info in got)
            if self.exhausted:
                self.log.append(("ask", None))
        return got

    def _check_not_in_flight(self, info: TrialInfo) -> None:
        """Results are matched to trials by the identity of their ``TrialInfo``: the same object
        asked again while it is in flight would lose one of the two results."""
        same = self.pending.get(id(info)) or next(
            (t for t in self.requeue if t.info is info), None)
        if same is not None:
            raise ValueError(
                f"{type(self.optimizer).__name__}.ask() returned the TrialInfo object of trial "
                f"{same.trial}, which is still in flight: the loop tells each result with the "
                "object that was asked, so each ask must return a new TrialInfo (to run the "
                "same configuration again, build another TrialInfo for it)")

    def _submit(self, trial: Trial) -> None:
        # In flight first: a trial whose submit record exists is marked if Ctrl-C comes next.
        trial.attempt += 1
        trial.submitted = self.now()
        self.pending[id(trial.info)] = trial
        try:
            if self.checkpoints is not None:
                self.checkpoints.assign(trial.trial, trial.info)
            if self.journal is not None:
                self.timed_journal(self.journal.submit, trial.trial, trial.attempt, trial.info)
            self.runner.submit_trial(trial.info)
        except Exception:
            del self.pending[id(trial.info)]
            self.requeue.appendleft(trial)  # unfinished in the journal; runs again on resume
            trial.attempt -= 1
            raise

    def _journal_result(self, trial: Trial, final: bool, value: TrialValue) -> None:
        if self.journal is not None:
            self.timed_journal(self.journal.result, trial.trial, trial.attempt, final,
                                trial.info, value)

    def timed_journal(self, write: Callable[..., None], *args: Any) -> None:
        t = self.clock()
        try:
            write(*args)
        finally:
            self.account.journal += self.clock() - t
