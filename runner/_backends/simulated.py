"""``SimulatedRunner``: trials evaluated in this process, their *runtime* played out on a virtual
clock over ``n_workers`` virtual workers, so hours of a parallel study replay in seconds, exactly.

    submit_trial ──> free virtual worker? ──yes──> evaluate now (target, in this process)
                          │ no                         │ runtime = info[runtime_key] (limits cut it)
                          v                            v
                     _pending (deque)            _running heap of (next event, seq, ...)
                          ^                            │ wait(): clock := earliest event
                          └── a worker frees ──────────┘──> _deliver ──> iter_results()

A target that returns its learning curve (``info[curve_key]``: ``(step, cost, runtime)`` rows
(a fourth field: a dict of metrics),
``runtime`` the seconds into the trial when it reached that step) has each row reported at its
virtual time; ``wait()`` stops there so the loop decides before the clock moves on, and a stop
decision ends the trial at once, STOPPED with that report's cost after that many seconds.

The clock moves only in ``wait()`` (to the next completion or report) and, with
``charge_optimizer_time=True``, by the real time the caller spent between calls into the runner
(the optimizer's ask/tell, as a real parallel run pays it). A trial's timestamps are
``start_time`` + virtual seconds. Ties end in submission order. See docs/simulated.md.
"""

from __future__ import annotations

import heapq
import logging
import math
import numbers
import time
from collections import deque
from collections.abc import Iterator, Mapping
from typing import Any

from runner._backends.allocation import TrialResources, plan_of
from runner._core import verdicts
from runner._core.backend import BackendRunner
from runner._core.checkpoints import checkpoint_dir
from runner._core.resources import NOTHING, Assignment
from runner._core.returns import Outcome
from runner._core.validation import check_concurrency
from runner.errors import LimitError
from trials import Report, StatusType, TrialInfo, TrialValue

__all__ = ["SimulatedRunner"]

log = logging.getLogger(__name__)

_Curve = deque[tuple[float, Report]]
_Running = tuple[float, int, TrialInfo, TrialValue, _Curve]
"""A trial on a virtual worker: ``(next event, seq, info, value, reports to come)``, ordered by
its next event (a report, else its end), then submission; ``value`` is its final value."""


def _seconds(value: Any, name: str, *, allow_none: bool = False) -> float | None:
    """A finite number of seconds >= 0 (or ``None`` when allowed), else a clear error."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number of seconds{' or None' if allow_none else ''}, "
                        f"got {value!r} (type {type(value).__name__})")
    seconds = float(value)
    if not (math.isfinite(seconds) and seconds >= 0):
        raise ValueError(f"{name} must be a finite number of seconds >= 0, got {seconds!r}")
    return seconds


class SimulatedRunner(BackendRunner):
    """Run trials on ``n_workers`` virtual workers in simulated time (see the module doc).

    ``runtime_key``: the key of the target's info dict holding the seconds the trial would have
    taken; a trial that reports none (a crash included) takes ``default_runtime`` seconds
    (0 by default, so the run stays deterministic; ``None``: its measured wall time). ``start_time``: the clock's reading at the start (``None``:
    the Unix time at construction). Limits are simulated seconds; ``memory_limit`` is refused.
    ``resources``/``trial_resources`` allocate virtual devices, cores and memory as the process
    pool does (a trial starts when its share is free in simulated time; the assignment is in its
    ``additional_info["resources"]``); nothing is applied to this process.
    """

    backend = "simulated"

    def __init__(self, target: Any = None, n_workers: int = 1, *, runtime_key: str = "runtime",
                 start_time: float | None = 0.0, charge_optimizer_time: bool = False,
                 default_runtime: float | None = 0.0, curve_key: str = "curve",
                 resources: Mapping[str, Any] | None = None,
                 trial_resources: TrialResources = None, **kwargs: Any) -> None:
        super().__init__(target, **kwargs)
        self._plan = plan_of(resources, trial_resources)
        self._shares: dict[int, Assignment | None] = {}  # id(info) of a running trial -> share
        self._capacity = check_concurrency(n_workers, "n_workers")  # virtual: no per-core bound
        if not isinstance(runtime_key, str) or not runtime_key:
            raise TypeError(f"runtime_key must be a non-empty str, got {runtime_key!r} "
                            f"(type {type(runtime_key).__name__})")
        if not isinstance(charge_optimizer_time, bool):
            raise TypeError(f"charge_optimizer_time must be True or False, got "
                            f"{charge_optimizer_time!r}")
        if self._limits.memory is not None:
            raise LimitError("memory_limit cannot be honoured by SimulatedRunner: trials run in "
                             "this process and report no memory use; drop the limit")
        if start_time is None:
            start_time = time.time()
        elif isinstance(start_time, bool) or not isinstance(start_time, numbers.Real) \
                or not math.isfinite(start_time):
            raise TypeError(f"start_time must be a finite number of seconds or None, got "
                            f"{start_time!r} (type {type(start_time).__name__})")
        if not isinstance(curve_key, str) or not curve_key:
            raise TypeError(f"curve_key must be a non-empty str, got {curve_key!r} "
                            f"(type {type(curve_key).__name__})")
        self._runtime_key, self._curve_key = runtime_key, curve_key
        self._start_time = float(start_time)
        self._default_runtime = _seconds(default_runtime, "default_runtime", allow_none=True)
        self._charge = charge_optimizer_time
        self._now = 0.0  # virtual seconds since start_time
        self._left: float | None = None  # perf_counter when the caller last left the runner
        self._charged = 0.0  # real caller seconds added to the clock so far
        self._running: list[_Running] = []
        self._last: dict[int, Report] = {}  # id(info) -> last report of a running trial
        self._seq = 0  # trials started so far = submission order (the queue is FIFO)

    # -- the optional clock protocol (runner/_loop/clock.py) ------------------------------

    def clock(self) -> float:
        """The virtual time now: ``start_time`` + simulated seconds (+ the caller's real time
        since its last call, not yet charged, when ``charge_optimizer_time`` is on)."""
        pending = 0.0
        if self._charge and self._left is not None:
            pending = time.perf_counter() - self._left
        return self._start_time + self._now + pending

    @property
    def charged_time(self) -> float:
        """Real seconds of the caller's own work added to the clock so far."""
        return self._charged

    # -- the contract ----------------------------------------------------------------------

    def submit_trial(self, info: TrialInfo) -> None:
        self._enter()
        try:
            self._check_submit(info)
            if self._plan is not None:
                self._plan.admit(info)  # refused now if it can never fit
            with self._lock:
                self._enqueue(info)
            if len(self._running) < self._capacity and len(self._pending) == 1:
                self._start_queued()
                self._advance(self._now)  # a 0 s trial is done at once
        finally:
            self._leave()

    def iter_results(self) -> Iterator[tuple[TrialInfo, TrialValue]]:
        self._enter()
        try:
            return super().iter_results()
        finally:
            self._leave()

    def wait(self, timeout: float | None = None) -> None:
        """Advance the clock to the next completion (at once in real time; ``timeout`` is never
        reached), unless a result is waiting or nothing runs."""
        self._enter()
        try:
            if not self._finished and not self._reports and self._running:
                self._advance(self._running[0][0])
        finally:
            self._leave()

    def is_running(self) -> bool:
        self._enter()
        try:
            return super().is_running()
        finally:
            self._leave()

    def count_available_workers(self) -> int:
        self._enter()
        try:
            free = super().count_available_workers()
            if self._plan is None or not free or self._pending:
                return free
            return min(free, self._plan.count_fitting())
        finally:
            self._leave()

    # -- the simulation --------------------------------------------------------------------

    def _enter(self) -> None:
        """Charge the caller's real time since it last left the runner (when asked to)."""
        if self._charge and self._left is not None:
            spent = time.perf_counter() - self._left
            self._left = None
            self._charged += spent
            self._advance(self._now + spent)

    def _leave(self) -> None:
        if self._charge:
            self._left = time.perf_counter()

    def _advance(self, now: float) -> None:
        """Move the clock to ``now``: deliver every trial ended by then (end, then submission
        order), each freed worker taking the next queued trial at its end time."""
        running = self._running
        self._now = max(self._now, now)
        while running and running[0][0] <= self._now:
            end, seq, info, value, curve = heapq.heappop(running)
            if curve:  # a report is due: the trial goes on to its next event
                _, report = curve.popleft()
                heapq.heappush(running, (curve[0][0] if curve else end_of(value, self),
                                         seq, info, value, curve))
                self._last[id(info)] = report
                self._report(info, report)
                continue
            self._last.pop(id(info), None)
            self._release(info)
            self._deliver(info, value)
            if self._pending and not self._closed:
                saved, self._now = self._now, end  # the queued trial starts when the worker frees
                self._start_queued()
                self._now = saved

    def _start_queued(self) -> None:
        """Start queued trials, in order, while a virtual worker is free and (with resources)
        the head's share is free: the head waits for its share, nothing jumps ahead."""
        while self._pending and len(self._running) < self._capacity and not self._closed:
            share = None
            if self._plan is not None:
                share = self._plan.take(self._pending[0])
                if share is None:
                    return
            with self._lock:
                info = self._dequeue()
            self._shares[id(info)] = share
            self._start(info, share)

    def _release(self, info: TrialInfo) -> None:
        """A trial left its virtual worker: its share is free again."""
        if self._plan is not None:
            self._plan.give_back(self._shares.pop(id(info), None))

    def _start(self, info: TrialInfo, share: Assignment | None = None) -> None:
        """Evaluate ``info`` now on a free virtual worker and schedule its end."""
        start = self._now
        outcome, wall = self._evaluate(info)
        status, cost, extra = outcome.status, outcome.cost, outcome.additional_info
        runtime = self._runtime(outcome, wall, extra)
        if runtime is None:
            bad = verdicts.invalid(f"additional_info[{self._runtime_key!r}] must be a finite "
                                   f"number of seconds >= 0, got "
                                   f"{extra.get(self._runtime_key)!r}",
                                   self._objectives.crash_cost)
            status, cost, extra = bad.status, bad.cost, {**extra, **bad.additional_info}
            runtime = self._default_runtime if self._default_runtime is not None else wall
        status, cost, runtime, extra = self._limit(status, cost, runtime, extra)
        curve: _Curve = deque()
        if self._curve_key in extra:
            extra = dict(extra)
            rows = extra.pop(self._curve_key)
            try:
                curve = _curve(rows, start, runtime)
            except (TypeError, ValueError) as exc:
                bad = verdicts.invalid(f"additional_info[{self._curve_key!r}] must be rows of "
                                       f"(step, cost, runtime): {exc}",
                                       self._objectives.crash_cost)
                status, cost, extra = bad.status, bad.cost, {**extra, **bad.additional_info}
        end = start + runtime
        if share is not None and share is not NOTHING:
            extra = {**extra, "resources": share.as_dict()}
        value = TrialValue(cost=cost, time=runtime, cpu_time=runtime, status=status,
                           starttime=self._start_time + start, endtime=self._start_time + end,
                           additional_info=extra)
        with self._lock:
            self._started()
        heapq.heappush(self._running, (curve[0][0] if curve else end, self._seq, info, value,
                                       curve))
        self._seq += 1

    def _decide(self, info: TrialInfo, decision: Any) -> None:
        """Stop ``info`` now (the clock stands at its last report): STOPPED with that cost."""
        running = self._running
        k = next((k for k, entry in enumerate(running) if entry[2] is info), None)
        if k is None:
            return
        value = running[k][3]
        running[k] = running[-1]
        running.pop()
        heapq.heapify(running)
        last = self._last.pop(id(info))
        stop = verdicts.stopped_outcome(last.cost, last.step)
        elapsed = self._start_time + self._now - value.starttime
        self._deliver(info, TrialValue(cost=stop.cost, time=elapsed, cpu_time=elapsed,
                                       status=stop.status, starttime=value.starttime,
                                       endtime=self._start_time + self._now,
                                       additional_info=stop.additional_info))
        self._release(info)
        self._start_queued()

    def _evaluate(self, info: TrialInfo) -> tuple[Outcome, float]:
        """The shared evaluator's verdict on ``info`` (status rules as on every backend) and the
        real seconds it took."""
        t0 = time.perf_counter()
        ev = self._evaluator
        if self._overrides_run:
            outcome = ev._run_override(self.run, info)
        else:
            outcome = ev.run(info.config, info.instance, info.budget, info.seed,
                             self._shared_data, checkpoint=checkpoint_dir(info))
        return outcome, time.perf_counter() - t0

    def _runtime(self, outcome: Outcome, wall: float, extra: dict[str, Any]) -> float | None:
        """The simulated seconds of a trial: its reported runtime, else ``run``'s 4-tuple
        runtime, else ``default_runtime`` or the measured wall time; ``None`` if invalid."""
        if self._runtime_key in extra:
            try:
                return _seconds(extra[self._runtime_key], "runtime")
            except (TypeError, ValueError):
                return None
        if outcome.runtime is not None:
            try:
                return _seconds(outcome.runtime, "runtime")
            except (TypeError, ValueError):
                pass
        return self._default_runtime if self._default_runtime is not None else wall

    def _limit(self, status: StatusType, cost: Any, runtime: float, extra: dict[str, Any]
               ) -> tuple[StatusType, Any, float, dict[str, Any]]:
        """A trial longer than a limit is TIMEOUT at start + limit (its CPU time is its
        runtime: one virtual core, busy throughout)."""
        limits = [(lim, name) for lim, name in ((self._limits.walltime, "walltime_limit"),
                                                (self._limits.cpu_time, "cpu_time_limit"))
                  if lim is not None and runtime > lim]
        if not limits:
            return status, cost, runtime, extra
        limit, name = min(limits)
        over = verdicts.limit_outcome(name, limit, self._objectives.crash_cost,
                                      f"simulated: the trial takes {runtime:g} s")
        return over.status, over.cost, limit, {**over.additional_info,
                                               self._runtime_key: runtime}

    # -- closing ---------------------------------------------------------------------------

    def _close(self) -> None:
        """Every trial still on a virtual worker or queued comes back CANCELLED, now."""
        now = self._start_time + self._now
        while self._running:
            _, _, info, value, _ = heapq.heappop(self._running)
            gone = verdicts.cancelled_outcome(self._objectives.crash_cost)
            self._deliver(info, TrialValue(
                cost=gone.cost, time=now - value.starttime, cpu_time=now - value.starttime,
                status=gone.status, starttime=value.starttime, endtime=now,
                additional_info=gone.additional_info))
        self._cancel_pending()

    def _cancelled_value(self) -> TrialValue:
        now = self._start_time + self._now
        gone = verdicts.cancelled_outcome(self._objectives.crash_cost)
        return TrialValue(cost=gone.cost, status=gone.status, starttime=now, endtime=now,
                          additional_info=gone.additional_info)

    def _backend_meta(self) -> dict[str, Any]:
        return {**super()._backend_meta(), "runtime_key": self._runtime_key,
                "curve_key": self._curve_key,
                "start_time": self._start_time, "charge_optimizer_time": self._charge,
                "default_runtime": self._default_runtime}


def end_of(value: TrialValue, runner: SimulatedRunner) -> float:
    """A trial's end in virtual seconds since the runner's start."""
    return value.endtime - runner._start_time


def _curve(rows: Any, start: float, runtime: float) -> _Curve:
    """Learning-curve rows ``(step, cost, runtime[, metrics])`` as ``(virtual time, Report)``
    events, in order; rows past the trial's (possibly limited) runtime are dropped."""
    if isinstance(rows, (str, bytes)) or not hasattr(rows, "__iter__"):
        raise TypeError(f"got {rows!r:.80} (type {type(rows).__name__})")
    curve: _Curve = deque()
    last = 0.0
    for row in rows:
        step, cost, at, *more = row
        if len(more) > 1:
            raise ValueError(f"a row has {3 + len(more)} fields, expected 3 or 4: {row!r:.80}")
        seconds = _seconds(at, "runtime")
        assert seconds is not None
        if seconds < last:
            raise ValueError(f"runtimes must not decrease, got {seconds:g} after {last:g}")
        last = seconds
        if seconds <= runtime:
            curve.append((start + seconds, Report(step, cost, more[0] if more else {},
                                                  seconds)))
    return curve
