"""One shared runner for many studies: the target that dispatches by problem, and the thin
per-study view each study's ``OptimizationLoop`` talks to.

Data flow of one trial::

    study loop --submit_trial(info)--> StudyView --tagged copy--> shared runner
        (the copy's ``instance`` names the problem: suite_target picks the problem's target)
    shared runner --iter_results--> SharedPool.route --(original info, value)--> StudyView inbox
    StudyView.iter_results --> study loop (journal, retries, history, tell)

The view grants the loop only the slots the scheduler gives it (``grant``), so the scheduler
decides which study fills a free worker. A study with several objectives gets its costs back as
a tuple: the shared runner has one objective, so the dispatcher passes the others in the info.

Reports of running trials take the same way back (``iter_reports`` of the shared runner, routed
by the tag to the study's view), and a study's decision goes to the shared runner's copy of its
trial, so early stopping, pausing and checkpoints work in a suite as in a study alone. The
shared runner's target is `SuiteTarget` when some problem's target takes ``report`` or
``checkpoint`` (then it passes them to exactly those targets), else plain ``suite_target``.
"""

from __future__ import annotations

import functools
import inspect
import itertools
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs

from runner import Target
from runner.lowlevel import drain_queue as drain
from trials import Report, StatusType, TrialInfo, TrialValue

__all__ = ["SharedPool", "StudyView", "SuiteTarget", "accepts", "suite_target"]

TAG = "suite_trial"
"""Key in the shared runner's copy of a trial's ``additional_info``: routes its result back."""
COSTS = "suite_costs"
"""Info key carrying all costs of a several-objective problem across the one-objective runner."""


PASSED = ("budget", "seed", "report", "checkpoint")
"""What the dispatcher passes on to a problem's target that takes it."""


def accepts(target: Callable[..., Any]) -> frozenset[str]:
    """Which of `PASSED` the problem's target takes (``**kwargs`` takes ``budget`` and
    ``seed``; ``report`` and ``checkpoint`` only by name); cached when the target is hashable."""
    try:
        return _accepts_cached(target)
    except TypeError:  # an unhashable callable
        return _signature_keywords(target)


@functools.lru_cache(maxsize=256)
def _accepts_cached(target: Callable[..., Any]) -> frozenset[str]:
    return _signature_keywords(target)


def _signature_keywords(target: Callable[..., Any]) -> frozenset[str]:
    try:
        params = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return frozenset({"budget", "seed"})
    named = frozenset(k for k in PASSED if k in params)
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return named | {"budget", "seed"}
    return named


def suite_target(config: Mapping[str, Any], *, instance: str | None = None,
                 budget: float | None = None, seed: int | None = None,
                 suite_problems: Mapping[str, tuple[Callable[..., Any], int]]) -> Any:
    """The shared runner's target: evaluate problem ``instance``'s target on ``config``."""
    return _dispatch(config, instance, suite_problems, {"budget": budget, "seed": seed})


def _dispatch(config: Mapping[str, Any], instance: str | None,
              suite_problems: Mapping[str, tuple[Callable[..., Any], int]],
              passed: Mapping[str, Any]) -> Any:
    if instance is None or instance not in suite_problems:
        raise KeyError(f"this suite has no problem {instance!r}")
    target, n_objectives = suite_problems[instance]
    accepted = accepts(target)
    value = target(config, **{k: v for k, v in passed.items() if k in accepted})
    if n_objectives == 1:
        return value
    outcome = isinstance(value, tuple) and len(value) == 4 and isinstance(value[0], StatusType)
    if outcome:
        return value
    info: dict[str, Any] = {}
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], Mapping):
        value, info = value[0], dict(value[1])
    costs = list(value.values()) if isinstance(value, Mapping) else list(value)
    if len(costs) != n_objectives:
        raise ValueError(f"problem {instance!r} has {n_objectives} objectives but its target "
                         f"returned {len(costs)} costs: {costs!r}")
    info[COSTS] = [float(c) for c in costs]
    return float(costs[0]), info


class SuiteTarget(Target):
    """``suite_target`` that also carries ``report`` and/or ``checkpoint`` to the problems'
    targets that take them (the runner passes them only to a target that wants them)."""

    def __init__(self, reports: bool, checkpoints: bool) -> None:
        self.reports, self.checkpoints = bool(reports), bool(checkpoints)

    @property
    def name(self) -> str:
        return "suite_target"

    @property
    def wants_report(self) -> bool:
        return self.reports

    @property
    def wants_checkpoint(self) -> bool:
        return self.checkpoints

    def __call__(self, config: Mapping[str, Any], *, instance: str | None = None,
                 seed: int | None = None, budget: float | None = None,
                 **shared_data: Any) -> Any:
        problems = shared_data.pop("suite_problems")
        return _dispatch(config, instance, problems, {"budget": budget, "seed": seed,
                                                      **shared_data})


class StudyView:
    """The runner one study's loop sees: a window on the shared pool (see the module doc)."""

    def __init__(self, pool: SharedPool, problem_key: str, n_objectives: int,
                 wants_checkpoint: bool = False) -> None:
        """``wants_checkpoint``: the problem's target takes ``checkpoint`` (so the study's loop
        gives each trial a directory of its own)."""
        self._pool = pool
        self.problem_key = problem_key
        self.n_objectives = n_objectives
        self.wants_checkpoint = wants_checkpoint
        self.inbox: deque[tuple[TrialInfo, TrialValue]] = deque()
        self.reports: deque[tuple[TrialInfo, Report]] = deque()
        self.report_pump: Callable[[], None] | None = None
        self.deciding = False  # the study's loop answers each report (wait_for_decisions)
        self.grant = 0
        self.in_flight = 0
        self.submitted = 0
        clock = getattr(pool.runner, "clock", None)
        if callable(clock):  # a runner with its own time sets each study's (runner/_loop/clock.py)
            self.clock = clock

    def submit_trial(self, info: TrialInfo) -> None:
        """Send ``info`` to the shared runner (uses one granted slot)."""
        self._pool.submit(self, info)
        self.grant = max(0, self.grant - 1)
        self.in_flight += 1
        self.submitted += 1

    def deliver(self, info: TrialInfo, value: TrialValue) -> None:
        """Called by the pool: ``value`` finished ``info`` (the study's own object)."""
        self.in_flight -= 1
        if self.n_objectives > 1:
            costs = value.additional_info.get(COSTS)
            if value.status == StatusType.SUCCESS and costs is not None:
                extra = {k: v for k, v in value.additional_info.items() if k != COSTS}
                value = attrs.evolve(value, cost=tuple(costs), additional_info=extra)
            elif not isinstance(value.cost, tuple):
                value = attrs.evolve(value, cost=(value.cost,) * self.n_objectives)
        self.inbox.append((info, value))

    def iter_results(self) -> Iterator[tuple[TrialInfo, TrialValue]]:
        return drain(self.inbox)

    def iter_reports(self) -> Iterator[tuple[TrialInfo, Report]]:
        return drain(self.reports)

    def decide(self, info: TrialInfo, decision: Any) -> None:
        """Pass the study's decision on ``info`` to the shared runner's copy of it."""
        self._pool.decide(info, decision)

    def set_report_pump(self, pump: Callable[[], None] | None) -> None:
        """The study loop's report handler, for trials that run in the scheduler's thread
        (a serial shared runner): `SharedPool.pump_reports` calls it."""
        self.report_pump = pump

    def set_wait_for_decisions(self, wait: bool) -> None:
        """The study's loop answers every report of its trials from now on (or no more):
        the shared runner's reports wait while some study decides on them."""
        self.deciding = wait
        self._pool.set_wait(self, wait)

    def count_available_workers(self) -> int:
        return self.grant

    def is_running(self) -> bool:
        return self.in_flight > 0

    def wait(self, timeout: float | None = None) -> None:
        """The scheduler does the waiting; a loop stepped by it never calls this."""

    def run(self, config: Any, instance: Any = None, budget: Any = None, seed: Any = None) -> Any:
        raise NotImplementedError("a study view only routes trials to the shared runner")

    def run_wrapper(self, info: TrialInfo) -> Any:
        raise NotImplementedError("a study view only routes trials to the shared runner")

    def close(self) -> None:
        """The shared runner outlives every study; closing a view does nothing."""

    @property
    def meta(self) -> dict[str, Any]:
        return {**self._pool.runner.meta, "study_problem": self.problem_key}


class SharedPool:
    """The shared runner plus the routing of its results back to the studies' views."""

    def __init__(self, runner: Any) -> None:
        self.runner = runner
        self._routes: dict[int, tuple[StudyView, TrialInfo]] = {}
        self._copies: dict[int, TrialInfo] = {}  # id(a study's info) -> the runner's copy
        self._tags = itertools.count()
        self._deciding: set[StudyView] = set()  # views whose loops answer every report
        self.n_finished = 0
        self.target_seconds = 0.0  # the targets' wall time, summed over finished trials

    def submit(self, view: StudyView, info: TrialInfo) -> None:
        tag = next(self._tags)
        copy = attrs.evolve(info, instance=view.problem_key,
                            additional_info={**info.additional_info, TAG: tag})
        self._routes[tag] = (view, info)
        self._copies[id(info)] = copy
        try:
            self.runner.submit_trial(copy)
        except BaseException:
            del self._routes[tag], self._copies[id(info)]
            raise

    def decide(self, info: TrialInfo, decision: Any) -> None:
        """A study's decision on its running trial ``info``, for the shared runner's copy."""
        copy = self._copies.get(id(info))
        decide = getattr(self.runner, "decide", None)
        if copy is not None and decide is not None:
            decide(copy, decision)

    def set_wait(self, view: StudyView, wait: bool) -> None:
        """``view``'s loop answers every report from now on (or no more); the shared runner's
        reports wait while one does (its ``set_wait_for_decisions``)."""
        before = bool(self._deciding)
        if wait:
            self._deciding.add(view)
        else:
            self._deciding.discard(view)
        if bool(self._deciding) != before:
            self.runner.set_wait_for_decisions(bool(self._deciding))

    @property
    def in_flight(self) -> int:
        """Trials submitted to the shared runner and not yet routed back."""
        return len(self._routes)

    def route(self) -> set[StudyView]:
        """Hand every report, then every finished result, to its study's view; the views that
        got one."""
        results = list(self.runner.iter_results())
        got = self._route_reports()  # after the results: reading them may have read reports
        for info, value in results:
            route = self._routes.pop(info.additional_info.get(TAG, -1), None)
            if route is None:
                continue  # not ours (cannot happen unless someone shares the runner)
            view, original = route
            self._copies.pop(id(original), None)
            view.deliver(original, value)
            got.add(view)
            self.n_finished += 1
            self.target_seconds += max(0.0, float(value.time))
        return got

    def _route_reports(self) -> set[StudyView]:
        got: set[StudyView] = set()
        reports = getattr(self.runner, "iter_reports", None)
        for info, report in reports() if reports is not None else ():
            route = self._routes.get(info.additional_info.get(TAG, -1))
            if route is not None:
                route[0].reports.append((route[1], report))
                got.add(route[0])
            if self._deciding and (route is None or not route[0].deciding):
                self.runner.decide(info, "continue")  # no loop decides on it: it goes on
        return got

    def pump_reports(self) -> None:
        """The shared runner's report pump: a trial running in this thread reported, so hand
        the reports to their studies and let each study's loop decide on them now."""
        for view in self._route_reports():
            if view.report_pump is not None:
                view.report_pump()
