"""The loop's driver pass, one step at a time (see ``runner/_loop/loop.py`` for the picture):
take in reports of running trials (journal, curve, ``optimizer.on_report``, pass a stop on),
collect results (journal, retry or tell), check goals, fill free workers with asked trials,
wait. ``OptimizationLoop`` inherits it; ``step()`` is the same pass without waiting, for a
scheduler that drives many loops on one shared runner (runner/suites)."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from runner._core.capabilities import Optimizer, OptimizerCapabilities, Runner, RunnerExtras
from runner._core.reporting import Decision
from runner._loop import events, intake
from runner._loop.checkpoints import PAUSED_KEY, Checkpoints, paused_value
from runner._loop.failures import FailureRate, Failures
from runner._loop.journal import LoopJournal
from runner._loop.timings import TimingAccount
from runner.errors import RetriesExceededError, RunnerBrokenError
from trials import History, StatusType, TrialInfo, TrialValue

__all__ = ["LoopDriver", "Trial"]

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


class LoopDriver:
    """The driver pass of ``OptimizationLoop`` (it shares the loop's state)."""

    optimizer: Optimizer
    runner: Runner
    _can: OptimizerCapabilities
    _extras: RunnerExtras
    retries: int
    raise_if_retries_exceeded: bool
    history: History
    log: list[tuple[Any, ...]] | None
    _clock: Callable[[], float]
    _now: Callable[[], float]
    _goals: list[Any]
    _caps: list[Any]
    _failures: Failures
    _failure_rate: FailureRate
    _pending: dict[int, Trial]
    _set_wait: Callable[[bool], None] | None  # the runner's, when every report is answered
    _requeue: deque[Trial]
    _next_id: int
    _n_told: int
    _n_retried: int
    _exhausted: bool
    _stop_reason: str | None
    _cancel: threading.Event
    _interrupt: bool
    _account: TimingAccount
    _journal: LoopJournal | None
    _checkpoints: Checkpoints | None
    _state: str
    _error: BaseException | None
    _t1: float | None
    _done: threading.Event

    def _begin(self) -> bool:  # OptimizationLoop's: start the loop; False if cancelled before
        raise NotImplementedError

    def _end(self, state: str, reason: str | None = None) -> None:  # OptimizationLoop's
        raise NotImplementedError

    # -- stepping: one pass at a time, for a scheduler driving many loops on one runner --------

    def step(self) -> bool:
        """One driver pass that never waits (collect, goals, fill), for a scheduler that drives
        several loops in turn (``runner.suites``); starts the loop on the first call. ``False``
        once the loop is over: `status` says how, ``block_until_done(0)`` raises a failure.
        A ``cancel()`` ends it at the next step, marking its trials in flight in the journal."""
        if self._state == "new" and not self._begin():
            return False
        if self._state != "running":
            return False
        try:
            if self._cancel.is_set():
                self._stop_reason = "cancelled"
            else:
                self._take_reports()
                self._collect()
                if self._stop_reason is None:
                    self._check_goals()
                self._fill()
                if self._pending or self._requeue or not (self._stop_reason or self._exhausted):
                    return True
            self._end("cancelled" if self._stop_reason == "cancelled" else "finished")
        except Exception as exc:
            self._error = exc
            self._end("failed", reason=f"the loop failed: {exc!r}")
        self._t1 = self._clock()
        self._done.set()
        return False
    _report_error: Exception | None = None  # on_report failed in a pump (_pump_reports)
    _reports_lock = threading.RLock()  # replaced by the loop's own when it starts (_begin)

    def _drive(self) -> None:
        runner, lost_since = self.runner, None
        while True:
            if self._cancel.is_set():
                if self._interrupt:
                    raise KeyboardInterrupt
                self._stop_reason = "cancelled"
                return
            running = runner.is_running()
            self._take_reports()
            collected = self._collect()
            if self._stop_reason is None:
                self._check_goals()
            self._fill()
            if not self._pending:
                lost_since = None
                if not self._requeue and (self._stop_reason is not None or self._exhausted):
                    return
                self._cancel.wait(WAIT / 2)  # no free worker yet (e.g. a cluster starting)
                continue
            if running or collected:
                lost_since = None
            elif lost_since is None:
                lost_since = time.monotonic()
            elif time.monotonic() - lost_since > LOST_AFTER:
                lost = sorted(t.trial for t in self._pending.values())
                raise RunnerBrokenError(f"{type(runner).__name__} says nothing runs but never "
                                        f"returned trials {lost}", lost=lost)
            runner.wait(WAIT)

    def _attach(self, on: bool) -> None:
        """Give the runner the loop's report pump and, with ``wait_for_decisions``, make its
        trials' reports wait for decisions (before the first trial); ``False``: take both
        back (nobody decides any more: waiting reports go on)."""
        if on:  # the loop's own (the class's is only a stand-in before the loop starts)
            self._reports_lock = threading.RLock()
        pump = self._extras.set_report_pump
        if pump is not None:  # a runner running trials in this thread decides on reports there
            pump(self._pump_reports if on else None)
        if self._set_wait is not None:
            self._set_wait(on)

    def _take_reports(self) -> int:
        """Journal every report of a running trial ready now, add it to the trial's curve,
        ask the optimizer's ``on_report`` and pass a decision other than continue on (every
        decision, with ``wait_for_decisions``: the report waits for it). One call at a time (a
        serial trial's threads pump reports too); an ``on_report`` that failed inside a trial
        (`_pump_reports`) fails the loop here."""
        if self._report_error is not None:
            error, self._report_error = self._report_error, None
            raise error
        with self._reports_lock:
            return self._take_reports_now()

    def _take_reports_now(self) -> int:
        return intake.take_reports(self)

    def _take_interruptions(self) -> None:
        """Journal each run the runner lost outside the trial and runs again (intake.py)."""
        intake.take_interruptions(self)

    def _pump_reports(self) -> None:
        """The loop's side of ``runner.set_report_pump``: a runner running a trial in the
        loop's thread (serial) calls it on each report. An error of the optimizer's
        ``on_report`` there must fail the loop, not the trial (it would read as the trial's
        crash and be retried): it is kept, the trials in flight are told to stop, and the
        driver's next pass raises it."""
        if self._report_error is not None:
            return
        try:
            self._take_reports()
        except Exception as exc:
            self._report_error = exc
            decide = self._extras.decide
            if decide is not None:
                for trial in list(self._pending.values()):
                    decide(trial.info, Decision.STOP)

    def _collect(self) -> int:
        """Journal every result ready now, sync once, then history and tell the final ones
        (after the reports that came with them: a trial's reports precede its result)."""
        n, finals, error = 0, [], None
        results = list(self.runner.iter_results())
        self._take_interruptions()  # a result's lost runs were recorded before it
        if results:  # reading these results may have read their trials' last reports too:
            self._take_reports()  # take them while the trials are still pending
        for info, value in results:
            trial = self._pending.pop(id(info), None) or self._match(info)
            if trial is None:
                log.warning("ignoring a result the loop did not submit (or already abandoned): "
                            "%r", info)
                continue
            n += 1
            self._account.result(trial.submitted, self._now(), value)
            if trial.paused and value.status is StatusType.STOPPED:
                value = paused_value(value)
            try:
                if self._on_result(trial, value):
                    finals.append((trial.trial, trial.info, value))
            except RetriesExceededError as exc:
                error = exc
                break
        if n and self._journal is not None:
            self._timed_journal(self._journal.sync)
        drop = self._can.drop_checkpoints
        for trial_id, info, value in finals:
            best = self.history.incumbent
            self.history.append(info, value)
            if self.history.incumbent is not best:
                events.new_incumbent(trial_id, (info, value))
            self._tell(info, value)
            if self._checkpoints is not None:
                self._checkpoints.ended(info, keep=drop is not None or bool(
                    value.additional_info.get(PAUSED_KEY)))
                if drop is not None:
                    self._checkpoints.drop(drop() or ())
            self._failure_rate.add(trial_id, value)
        if error is not None:
            raise error
        if finals and self._failure_rate.exceeded():
            raise self._failure_rate.error()
        return n

    def _match(self, info: TrialInfo) -> Trial | None:
        """For a runner that returns a copy of the submitted info: by value, oldest first."""
        for key, trial in self._pending.items():
            if trial.info == info:
                return self._pending.pop(key)
        return None

    def _on_result(self, trial: Trial, value: TrialValue) -> bool:
        """Journal one result; whether it is final (to enter history and be told)."""
        status, info = value.status, trial.info
        if status is StatusType.CRASHED and trial.crashes < self.retries:
            trial.crashes += 1
            self._n_retried += 1
            events.crashed(trial.trial, trial.attempt, value, trial.crashes, self.retries)
            self._journal_result(trial, False, value)
            self._requeue.append(trial)
            return False
        if status is StatusType.CANCELLED:  # not run to its end: it stays unfinished
            log.warning("trial %d came back CANCELLED from the runner; it is not told and runs "
                        "again on resume", trial.trial)
            self._journal_result(trial, False, value)
            return False
        if status is StatusType.CRASHED:
            extra = value.additional_info  # a process death leaves an error, no traceback
            tb = str(extra.get("traceback") or extra.get("error") or "no traceback")
            self._failures.add(trial.trial, info, tb)
            # with a failure-rate policy, the policy is the guard: one trial's end is not
            ends = self.raise_if_retries_exceeded and self._failure_rate.rate is None
            events.gave_up(trial.trial, trial.attempt, value, ends)
            if ends:
                self._journal_result(trial, False, value)
                if self._journal is not None:
                    self._timed_journal(self._journal.failed, trial.trial, trial.attempt, tb)
                raise RetriesExceededError(
                    f"trial {trial.trial} crashed on all {trial.attempt + 1} attempt(s) "
                    f"(retries={self.retries}); pass raise_if_retries_exceeded=False to tell the "
                    f"optimizer and go on, or max_failure_rate to stop only a broken target. "
                    f"Its last traceback:\n{tb}", info=info, traceback=tb)
        self._journal_result(trial, True, value)
        return True

    def _tell(self, info: TrialInfo, value: TrialValue) -> None:
        t = self._clock()
        try:
            self.optimizer.tell(info, value)
        finally:
            self._account.optimizer += self._clock() - t
        self._n_told += 1
        self._exhausted = False
        if self.log is not None:
            self.log.append(("tell", info, value))

    def _check_goals(self) -> None:
        t = self._clock()
        try:
            for goal in self._goals:
                if goal(self):
                    self._stop_reason = f"goal met: {goal!r}"
                    log.info("%s; collecting the %d trials in flight", self._stop_reason,
                             len(self._pending))
                    return
        finally:
            self._account.optimizer += self._clock() - t

    def _fill(self) -> None:
        free = self.runner.count_available_workers()
        if free > self._account.workers:  # all of them at the start, when nothing runs yet
            self._account.workers = free
        requeue = self._requeue
        while free > 0 and requeue:
            self._submit(requeue.popleft())
            free -= 1
        if free <= 0 or self._stop_reason is not None or self._exhausted:
            return
        for cap in self._caps:
            free = min(free, cap.remaining(self))
        if free > 0:
            for info in self._ask(free):
                self._check_not_in_flight(info)
                self._submit(Trial(self._next_id, info))
                self._next_id += 1

    def _ask(self, n: int) -> list[TrialInfo]:
        opt = self.optimizer
        t = self._clock()
        try:
            ask_batch = self._can.ask_batch
            if n > 1 and ask_batch is not None:
                got = list(ask_batch(n) or ())
                if len(got) < n:
                    self._exhausted = True
            else:
                got = []
                for _ in range(n):
                    info = opt.ask()
                    if info is None:
                        self._exhausted = True
                        break
                    got.append(info)
        finally:
            self._account.optimizer += self._clock() - t
        for info in got:
            if not isinstance(info, TrialInfo):
                raise TypeError(f"{type(opt).__name__}.ask() must return a trials.TrialInfo or "
                                f"None, got {info!r} (type {type(info).__name__})")
        if self.log is not None:
            self.log.extend(("ask", info) for info in got)
            if self._exhausted:
                self.log.append(("ask", None))
        return got

    def _check_not_in_flight(self, info: TrialInfo) -> None:
        """Results are matched to trials by the identity of their ``TrialInfo``: the same object
        asked again while it is in flight would lose one of the two results."""
        same = self._pending.get(id(info)) or next(
            (t for t in self._requeue if t.info is info), None)
        if same is not None:
            raise ValueError(
                f"{type(self.optimizer).__name__}.ask() returned the TrialInfo object of trial "
                f"{same.trial}, which is still in flight: the loop tells each result with the "
                "object that was asked, so each ask must return a new TrialInfo (to run the "
                "same configuration again, build another TrialInfo for it)")

    def _submit(self, trial: Trial) -> None:
        # In flight first: a trial whose submit record exists is marked if Ctrl-C comes next.
        trial.attempt += 1
        trial.submitted = self._now()
        self._pending[id(trial.info)] = trial
        try:
            if self._checkpoints is not None:
                self._checkpoints.assign(trial.trial, trial.info)
            if self._journal is not None:
                self._timed_journal(self._journal.submit, trial.trial, trial.attempt, trial.info)
            self.runner.submit_trial(trial.info)
        except Exception:
            del self._pending[id(trial.info)]
            self._requeue.appendleft(trial)  # unfinished in the journal; runs again on resume
            trial.attempt -= 1
            raise

    def _journal_result(self, trial: Trial, final: bool, value: TrialValue) -> None:
        if self._journal is not None:
            self._timed_journal(self._journal.result, trial.trial, trial.attempt, final,
                                trial.info, value)

    def _timed_journal(self, write: Callable[..., None], *args: Any) -> None:
        t = self._clock()
        try:
            write(*args)
        finally:
            self._account.journal += self._clock() - t
