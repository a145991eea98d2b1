"""``OptimizationLoop``: drive any ask/tell optimizer through any runner, keeping every worker
busy, retrying crashed trials, journaling every submission and result before the optimizer is
told, and resuming from the journal.

One pass of the driver (``Driver.one_pass`` in driver.py: ``Driver.drive`` repeats it until it
stops asking and nothing is in flight, ``step()`` runs it once without waiting)::

    reports:  runner.iter_reports() -> journal "report", curve, optimizer.on_report -> decide
    collect:  runner.iter_results() -> journal "result" -> retry? requeue : history + tell
    goals:    any goal(loop) true -> stop asking (what is in flight still finishes)
    fill:     free = runner.count_available_workers()
              requeued trials first (retries, unfinished ones of a resumed study), then
              optimizer.ask() / ask_batch(free) -> journal "submit" -> runner.submit_trial
    wait:     runner.wait(timeout) until a result is there

``ask()`` returning ``None`` means "nothing to propose now": the loop asks again after the next
result, and finishes when ``ask()`` returns ``None`` with nothing in flight. Results match
submissions by the submitted ``TrialInfo``'s identity (configurations can repeat).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from runner._core.capabilities import Optimizer, OptimizerCapabilities, Runner, RunnerExtras
from runner._core.waiting import check_wait_for_decisions
from runner._loop import aio, events
from runner._loop import resume as resuming
from runner._loop.checkpoints import Checkpoints, check_checkpoint_arguments
from runner._loop.driver import Driver
from runner._loop.failures import FailureRate, Failures, TracebackView
from runner._loop.goals import check_arguments, goal_progress, make_goals
from runner._loop.journal import LoopJournal, PeriodicSaver
from runner._loop.signals import sigterm_as_interrupt
from runner._loop.statistics import Statistics
from runner._loop.study import ResumeMode, check_name, check_resume_mode, identity
from runner._loop.timings import TimingAccount, Timings
from runner.errors import LoopError
from trials import History, Journal, TrialInfo, TrialValue

if TYPE_CHECKING:
    from runner._loop.progress import LiveDisplay

__all__ = ["OptimizationLoop"]

log = logging.getLogger(__name__)

Status = Literal["running", "cancelled", "failed", "finished"]


class OptimizationLoop:
    """Ask ``optimizer`` for trials, evaluate them on ``runner``, tell the results, until a goal
    is met, the optimizer is exhausted, or the loop is cancelled (see docs/loop.md)."""

    def __init__(self, optimizer: Optimizer, runner: Runner, *,
                 goal: Callable[[Any], bool] | None = None, cost_goal: float | None = None,
                 n_trials_goal: int | None = None,
                 end_time_goal: float | None = None, duration_goal: float | None = None,
                 retries: int = 0, raise_if_retries_exceeded: bool = True,
                 journal: str | os.PathLike[str] | Journal | None = None, log: bool = False,
                 clock: Callable[[], float] = time.monotonic, study: str | None = None,
                 resume: ResumeMode = "check",
                 checkpoints: str | os.PathLike[str] | None = None,
                 keep_checkpoints: bool = False, max_failure_rate: float | None = None,
                 failure_window: int = 20, wait_for_decisions: bool = False) -> None:
        """Validate everything; open ``journal`` and resume the study it holds: finished trials
        enter ``history`` and are told, in order; unfinished ones run first. ``study`` names the
        study; a journal of another study (name, optimizer, space, target or objectives) is
        refused unless ``resume="force"`` (docs/loop.md). ``checkpoints``: where trials whose
        target takes ``checkpoint`` save, in a folder of this study's own inside it (default:
        beside the journal, else a temporary directory); what the study made there is removed
        when it finishes unless ``keep_checkpoints``. ``max_failure_rate``, ``failure_window``:
        the failure-rate policy, which then is the guard instead of ``raise_if_retries_exceeded``
        (docs/loop.md). ``wait_for_decisions``: each report returns only once
        ``optimizer.on_report`` decided on it (docs/early-stopping.md); by default none waits."""
        check_arguments(optimizer, runner, retries, raise_if_retries_exceeded, log, clock)
        self._can, self._extras = OptimizerCapabilities.of(optimizer), RunnerExtras.of(runner)
        self._failure_rate = FailureRate(max_failure_rate, failure_window)  # checks them
        set_wait = check_wait_for_decisions(wait_for_decisions, runner)
        checkpoint_root = check_checkpoint_arguments(checkpoints, keep_checkpoints)
        self.study = check_name(study)
        resume = check_resume_mode(resume)
        # A runner with its own clock (clock.py) sets the loop's time and the trials' Unix time.
        own = self._extras.clock
        self._clock: Callable[[], float] = own or clock
        self._now: Callable[[], float] = own or time.time
        self._goals = make_goals(goal, cost_goal, n_trials_goal, end_time_goal, duration_goal,
                                 self._clock, now=own() if own else None)
        self.optimizer = optimizer
        self.runner = runner
        self.retries = retries
        self.raise_if_retries_exceeded = raise_if_retries_exceeded
        self.history = History()
        self.log: list[tuple[Any, ...]] | None = [] if log else None
        self._failures = Failures()
        self._state = "new"
        self._error: BaseException | None = None
        self._cancel = threading.Event()
        self._done = threading.Event()
        self.task: asyncio.Task[None] | None = None  # start() on a running event loop
        self._event_loop: asyncio.AbstractEventLoop | None = None
        self._t0: float | None = None
        self._t1: float | None = None
        self._account = TimingAccount()
        self._fingerprint = (identity(optimizer, runner, self._can.fingerprint)
                             if journal is not None else None)
        self._journal = (LoopJournal(journal, self.study, self._fingerprint, resume,
                                     self._now) if journal is not None else None)
        self._resumed = (0, 0)  # finished trials replayed, unfinished ones to run again
        self._checkpoints: Checkpoints | None = None
        try:
            if self._extras.wants_checkpoint:  # fails now if no dir can be made
                self._checkpoints = Checkpoints(checkpoint_root, None if self._journal is None
                                                else Path(self._journal.path), keep_checkpoints)
            self._driver = Driver(
                loop=self, optimizer=optimizer, runner=runner, can=self._can,
                extras=self._extras, goals=self._goals, retries=retries,
                raise_if_retries_exceeded=raise_if_retries_exceeded, history=self.history,
                log=self.log, clock=self._clock, now=self._now, failures=self._failures,
                failure_rate=self._failure_rate, account=self._account, journal=self._journal,
                checkpoints=self._checkpoints, cancel=self._cancel,
                # without on_report nothing decides: there is nothing for a report to wait for
                set_wait=set_wait if self._can.on_report is not None else None)
            if self._journal is not None:
                self._resumed = resuming.apply(resuming.read_plan(self._journal),
                                               self._driver)
                logging.getLogger(__name__).info(  # (``log`` is the argument here)
                    "journal %s: %d finished trials replayed, %d unfinished to run again",
                    self._journal.path, *self._resumed)
        except BaseException:
            if self._journal is not None:
                self._journal.abandon()
            raise

    # -- state ---------------------------------------------------------------------------

    @property
    def incumbent(self) -> tuple[TrialInfo, TrialValue] | None:
        """The best successful single-objective trial, at the highest budget reached in a
        multi-fidelity study, or ``None`` (see ``History.incumbent``)."""
        return self.history.incumbent

    @property
    def failed(self) -> list[TrialInfo]:
        """Trials that crashed on every attempt (a copy)."""
        return self._failures.infos()

    @property
    def tracebacks(self) -> TracebackView:
        """The last traceback (or error) of each trial in `failed` (a read-only view)."""
        return TracebackView(self._failures)

    @property
    def pending_trials(self) -> list[TrialInfo]:
        """Trials submitted or waiting to be resubmitted, not yet finished."""
        driver = self._driver
        return [t.info for t in driver.pending.values()] + [t.info for t in driver.requeue]

    def status(self) -> Status:
        """``"running"`` (also before it starts), ``"cancelled"``, ``"failed"`` or ``"finished"``."""
        state = self._state
        return "running" if state in ("new", "running") else state  # type: ignore[return-value]

    def elapsed_time(self) -> float:
        """Seconds since the loop started (until it ended), by its clock; 0 before it starts."""
        if self._t0 is None:
            return 0.0
        end = self._t1 if self._t1 is not None else self._clock()
        return end - self._t0

    def overhead(self) -> float:
        """``100 * (1 - total target time / (workers * elapsed))``; ``workers`` is the most free
        workers the runner reported (all of them at the start, when nothing runs)."""
        return self._account.overhead(self.elapsed_time())

    def timings(self) -> Timings:
        """Where the time went so far: optimizer, journal, queue wait, target, transfer, idle."""
        now = self._now()
        in_flight = sum(max(0.0, now - t.submitted) for t in list(self._driver.pending.values()))
        return self._account.snapshot(self.elapsed_time(), in_flight)

    def statistics(self) -> Statistics:
        """A frozen snapshot of the loop's state: counts, best cost, time, goal progress."""
        elapsed = self.elapsed_time()
        incumbent = self.history.incumbent
        return Statistics(
            status=self.status(), done=len(self.history), pending=len(self.pending_trials),
            failed=len(self._failures), retried=self._driver.n_retried, told=self._driver.n_told,
            best=None if incumbent is None else incumbent[1].cost, elapsed=elapsed,
            overhead=self._account.overhead(elapsed), timings=self.timings(),
            goal=goal_progress(self._goals, len(self.history), elapsed))

    @property
    def fingerprint(self) -> dict[str, Any] | None:
        """What identifies this study in its journal (``None`` without a journal)."""
        return self._fingerprint

    def ended(self, timeout: float | None = None) -> bool:
        """Wait until the loop has ended (without raising what failed it); ``False`` on timeout."""
        return self._done.wait(timeout)

    # -- running -------------------------------------------------------------------------

    def run(self, *, progress: bool = False) -> None:
        """Run in this thread until done; raise what failed the loop. ``progress=True`` shows a
        live display (rich) while it runs."""
        if not self._begin():
            return
        if progress:
            from runner._loop.progress import LiveDisplay

            with LiveDisplay(self):
                self._main()
        else:
            self._main()
        if self._state == "failed":
            assert self._error is not None
            raise self._error

    def start(self) -> OptimizationLoop:
        """Run in the background: on the running event loop as `task` when there is one (a
        Jupyter kernel), else in a thread; see `block_until_done` and `cancel`."""
        if self._begin():
            self._event_loop = aio.running_event_loop()
            if self._event_loop is not None:  # awaitable: ends with the loop, raises its error
                self.task = self._event_loop.create_task(aio.drive(self), name="OptimizationLoop")
            else:
                threading.Thread(target=self._main, args=(False,), name="OptimizationLoop",
                                 daemon=True).start()
        return self

    async def run_async(self) -> None:
        """Run on the running event loop until done; raise what failed it (docs/notebook.md)."""
        if self._begin():
            self._event_loop = aio.running_event_loop()
            await aio.drive(self)

    def cancel(self) -> None:
        """Stop asking and stop waiting: trials in flight are marked cancelled in the journal and
        left to the runner (close the runner to kill them); they run again on resume."""
        if self._state == "new":
            self._state = "cancelled"
            self._done.set()
            if self._journal is not None:
                self._journal.close()
        self._cancel.set()

    def block_until_done(self, timeout: float | None = None) -> None:
        """Wait for a started loop; raise what failed it. Ctrl-C here interrupts the loop as in
        `run` (runner closed, trials in flight marked) and is re-raised."""
        if self._state == "new":
            raise LoopError("block_until_done() on a loop that was not started; call start()")
        aio.refuse_to_block(self._event_loop, self._done)
        try:
            if not self._done.wait(timeout):
                raise TimeoutError(f"the loop is still running after timeout={timeout} s")
        except KeyboardInterrupt:
            self._driver.interrupt = True
            self._cancel.set()
            self._done.wait()
            raise
        if self._state == "failed":
            assert self._error is not None
            raise self._error

    def live_info_terminal(self, *, refresh_per_second: float = 4.0,
                           block: bool = True) -> LiveDisplay:
        """Show a live panel of a started loop (rich). ``block=True``: until the loop is done;
        ``block=False``: return at once a display that stops itself when the loop is done (or
        call its ``stop()``)."""
        from runner._loop.progress import live_info

        return live_info(self, refresh_per_second, block)

    def live_info(self, update_interval: float = 0.5) -> Any:
        """In a notebook, a live widget with a cancel button; else a non-blocking
        `live_info_terminal` (docs/notebook.md)."""
        from runner._loop import notebook
        return notebook.live_info(self, update_interval)

    def live_plot(self, update_interval: float = 2.0,
                  plotter: Callable[[History], Any] | None = None) -> Any:
        """In a notebook, ``plotter(history)``'s figure (default: incumbent trace and worker
        timeline) redrawn in place as trials finish (docs/notebook.md)."""
        from runner._loop import notebook
        return notebook.live_plot(self, update_interval, plotter)

    def start_periodic_saving(self, path: str | os.PathLike[str], interval: float = 30.0
                              ) -> PeriodicSaver:
        """Write the history to ``path`` (journal format, atomically) every ``interval`` seconds
        and when the loop ends; ``History.load(path)`` reads it. ``.stop()`` the saver ends it."""
        saver = PeriodicSaver(self, path, interval)
        saver.start()
        return saver

    def step(self) -> bool:
        """One driver pass that never waits (reports, results, goals, fill), for a scheduler
        that drives several loops in turn (``runner.suites``); starts the loop on the first
        call. ``False`` once the loop is over: `status` says how, ``block_until_done(0)``
        raises a failure. A ``cancel()`` ends it at the next step, marking its trials in flight
        in the journal."""
        if self._state == "new" and not self._begin():
            return False
        if self._state != "running":
            return False
        driver = self._driver
        try:
            if self._cancel.is_set():
                driver.stop_reason = "cancelled"
            else:
                driver.one_pass()
                if not driver.over():
                    return True
            self._end("cancelled" if driver.stop_reason == "cancelled" else "finished")
        except Exception as exc:
            self._error = exc
            self._end("failed", reason=f"the loop failed: {exc!r}")
        self._t1 = self._clock()
        self._done.set()
        return False

    # -- the lifecycle ---------------------------------------------------------------------

    def _begin(self) -> bool:
        if self._state == "cancelled" and self._t0 is None:
            return False  # cancelled before it started
        if self._state != "new":
            raise LoopError(f"the loop was already started (status {self.status()!r}); a loop "
                            "runs once: build a new one (on the same journal to continue)")
        self._state = "running"
        self._t0 = self._clock()
        self._driver.attach(True)
        events.study_started(self.study, self.optimizer, self.runner,
                             None if self._journal is None else self._journal.path,
                             *self._resumed)
        return True

    def _main(self, reraise_interrupt: bool = True) -> None:
        restore = sigterm_as_interrupt()
        try:
            self._driver.drive()
            self._end("cancelled" if self._driver.stop_reason == "cancelled" else "finished")
        except KeyboardInterrupt:
            self._on_interrupt()
            if reraise_interrupt:
                raise
        except BaseException as exc:
            self._error = exc
            self._end("failed", reason=f"the loop failed: {exc!r}")
        finally:
            restore()
            self._t1 = self._clock()
            self._done.set()

    # -- ending ----------------------------------------------------------------------------

    def _end(self, state: str, reason: str | None = None) -> None:
        """Mark what is still in flight as cancelled in the journal, close it, set ``state``.
        (Trials waiting to be resubmitted are unfinished in the journal already.)"""
        if self._journal is not None:
            reason = reason or ("cancelled" if state == "cancelled" else state)
            self._journal.end([(t.trial, t.attempt) for t in self._driver.pending.values()],
                              reason)
        self._state = state
        if state == "finished" and self._checkpoints is not None:
            self._checkpoints.finish()
        self._driver.attach(False)
        driver = self._driver
        events.study_ended(self.study, state, reason or driver.stop_reason,
                           self._clock() - (self._t0 or 0.0), len(self.history), driver.n_told,
                           len(self._failures), driver.n_retried, self.history.incumbent)

    def _on_interrupt(self) -> None:
        """Ctrl-C/SIGTERM: close the runner (kills what runs), mark the trials, close the journal."""
        log.warning("interrupted: closing the runner and marking %d trials in flight",
                    len(self._driver.pending))
        try:
            if self._extras.close is not None:
                self._extras.close()
        except Exception:
            log.exception("closing the runner failed")
        finally:
            self._end("cancelled", reason="interrupted")

    def __repr__(self) -> str:
        return (f"<OptimizationLoop {self.status()}: {len(self.history)} done, "
                f"{len(self.pending_trials)} pending, {len(self._failures)} failed>")
