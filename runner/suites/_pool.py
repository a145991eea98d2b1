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
"""

from __future__ import annotations

import functools
import inspect
import itertools
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs

from trials import StatusType, TrialInfo, TrialValue

__all__ = ["SharedPool", "StudyView", "suite_target"]

TAG = "suite_trial"
"""Key in the shared runner's copy of a trial's ``additional_info``: routes its result back."""
COSTS = "suite_costs"
"""Info key carrying all costs of a several-objective problem across the one-objective runner."""


def _accepts(target: Callable[..., Any]) -> frozenset[str]:
    """Which of ``budget``/``seed`` the problem's target takes (cached when it is hashable)."""
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
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return frozenset({"budget", "seed"})
    return frozenset(k for k in ("budget", "seed") if k in params)


def suite_target(config: Mapping[str, Any], *, instance: str | None = None,
                 budget: float | None = None, seed: int | None = None,
                 suite_problems: Mapping[str, tuple[Callable[..., Any], int]]) -> Any:
    """The shared runner's target: evaluate problem ``instance``'s target on ``config``."""
    if instance is None or instance not in suite_problems:
        raise KeyError(f"this suite has no problem {instance!r}")
    target, n_objectives = suite_problems[instance]
    accepted = _accepts(target)
    kwargs = {k: v for k, v in (("budget", budget), ("seed", seed)) if k in accepted}
    value = target(config, **kwargs)
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


class StudyView:
    """The runner one study's loop sees: a window on the shared pool (see the module doc)."""

    def __init__(self, pool: SharedPool, problem_key: str, n_objectives: int) -> None:
        self._pool = pool
        self.problem_key = problem_key
        self.n_objectives = n_objectives
        self.inbox: deque[tuple[TrialInfo, TrialValue]] = deque()
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
        inbox = self.inbox
        while inbox:
            yield inbox.popleft()

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
        self._tags = itertools.count()
        self.n_finished = 0
        self.target_seconds = 0.0  # the targets' wall time, summed over finished trials

    def submit(self, view: StudyView, info: TrialInfo) -> None:
        tag = next(self._tags)
        copy = attrs.evolve(info, instance=view.problem_key,
                            additional_info={**info.additional_info, TAG: tag})
        self._routes[tag] = (view, info)
        try:
            self.runner.submit_trial(copy)
        except BaseException:
            del self._routes[tag]
            raise

    @property
    def in_flight(self) -> int:
        """Trials submitted to the shared runner and not yet routed back."""
        return len(self._routes)

    def route(self) -> set[StudyView]:
        """Hand every finished result to its study's view; the views that got one."""
        got: set[StudyView] = set()
        for info, value in self.runner.iter_results():
            route = self._routes.pop(info.additional_info.get(TAG, -1), None)
            if route is None:
                continue  # not ours (cannot happen unless someone shares the runner)
            view, original = route
            view.deliver(original, value)
            got.add(view)
            self.n_finished += 1
            self.target_seconds += max(0.0, float(value.time))
        return got
