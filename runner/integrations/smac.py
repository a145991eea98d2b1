"""SMAC3 both ways: `SMACTargetRunner` runs SMAC3's own loop on any of our runners, and
`SMACOptimizer` runs SMAC3's model (its ask/tell) on our `runner.OptimizationLoop`.

A failed trial is told to SMAC3 with a finite cost and its real status (SMAC3's default
``crash_cost=inf`` would end its model at the first crash): see ``_smac_costs``.

    SMAC3's SMBO.optimize()                      SMACTargetRunner                 our runner
    ask() -> smac TrialInfo --submit_trial-->    blocks while no worker is free,  submit_trial
                                                 converts to trials.TrialInfo --> (any backend)
    tell(smac TrialInfo, smac TrialValue) <----- iter_results converts back <---- iter_results

Importing this module imports SMAC3 (``pip install 'trialrunner[smac]'``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from smac.runhistory import StatusType as SMACStatus
from smac.runhistory import TrialInfo as SMACTrialInfo
from smac.runhistory import TrialValue as SMACTrialValue
from smac.runner.abstract_runner import AbstractRunner as SMACAbstractRunner

from runner.errors import RunnerError
from runner.integrations._convert import objective_order, runner_objectives
from runner.integrations._smac_costs import FailureCosts, to_smac_value
from trials import StatusType, TrialInfo, TrialValue

__all__ = ["SMACOptimizer", "SMACTargetRunner", "to_smac_value", "to_trial_info"]

log = logging.getLogger(__name__)

_WAIT = 0.1
"""Seconds per wait on our runner while ``submit_trial`` waits for a free worker."""

_LIMITS = (("trial_walltime_limit", "walltime_limit"), ("trial_memory_limit", "memory_limit"))


def to_trial_info(info: SMACTrialInfo) -> TrialInfo:
    """Our ``TrialInfo`` for SMAC3's (the ``Configuration`` is kept as the config)."""
    return TrialInfo(info.config, instance=info.instance, seed=info.seed, budget=info.budget,
                     additional_info=dict(info.additional_info or {}))


def _scenario_order(runner: Any, scenario: Any) -> list[int] | None:
    theirs = scenario.objectives
    theirs = [theirs] if isinstance(theirs, str) else list(theirs)
    return objective_order(runner_objectives(runner), theirs, "the SMAC3 scenario")


class SMACTargetRunner(SMACAbstractRunner):
    """One of our runners as SMAC3's ``AbstractRunner``: pass it as ``target_function`` to any
    SMAC3 facade. Parallelism comes from ``runner`` (leave ``scenario.n_workers`` at 1);
    limits, crash handling and objectives are the runner's.

    ``submit_trial`` blocks while ``runner`` has no free worker, so SMAC3 asks its model for
    each trial only when a worker can take it; ``no_worker_timeout`` seconds with nothing
    running and no free worker (a cluster without workers) raise ``RunnerError``.
    """

    def __init__(self, runner: Any, scenario: Any, *, no_worker_timeout: float = 60.0) -> None:
        if isinstance(runner, type):
            raise TypeError(f"runner must be an instance, got the class {runner.__name__} "
                            f"itself; build one first, e.g. {runner.__name__}(target, ...)")
        for method in ("submit_trial", "iter_results", "wait", "is_running",
                       "count_available_workers", "run_wrapper"):
            if not callable(getattr(runner, method, None)):
                raise TypeError(f"runner must be one of trialrunner's runners (an "
                                f"AbstractRunner), got {type(runner).__name__} without {method}()")
        n_workers = getattr(scenario, "n_workers", 1)
        if n_workers != 1:
            raise ValueError(
                f"scenario.n_workers={n_workers}: SMAC3 would wrap this runner in its own "
                "DaskParallelRunner (which cannot pickle it). Leave Scenario(n_workers=1) and "
                f"size the runner instead, e.g. ProcessPoolRunner(f, n_workers={n_workers}): "
                "the parallelism comes from it")
        if not (isinstance(no_worker_timeout, (int, float)) and no_worker_timeout > 0):
            raise ValueError(f"no_worker_timeout must be a number of seconds > 0, got "
                             f"{no_worker_timeout!r}")
        super().__init__(scenario)
        self._order = _scenario_order(runner, scenario)
        self._costs: FailureCosts[SMACTrialInfo] = FailureCosts(scenario.crash_cost,
                                                                self._order)
        self._check_limits(runner, scenario)
        self._runner = runner
        self._no_worker_timeout = float(no_worker_timeout)
        self._submitted: dict[int, tuple[TrialInfo, SMACTrialInfo]] = {}
        self._results: deque[tuple[SMACTrialInfo, SMACTrialValue]] = deque()
        self._lock = threading.Lock()

    @staticmethod
    def _check_limits(runner: Any, scenario: Any) -> None:
        """A limit set on the scenario must be the runner's: SMAC3 would not apply it here."""
        meta = getattr(runner, "meta", {}) or {}
        for theirs, ours in _LIMITS:
            want = getattr(scenario, theirs, None)
            if want is not None and meta.get(ours) != want:
                raise ValueError(
                    f"scenario.{theirs}={want!r} is applied by the runner, not by SMAC3, but the "
                    f"runner has {ours}={meta.get(ours)!r}; build it with {ours}={want!r}")

    # -- SMAC3's runner protocol --------------------------------------------------------------

    def submit_trial(self, trial_info: SMACTrialInfo, **dask_data_to_scatter: Any) -> None:
        """Wait until our runner has a free worker, then hand it the trial."""
        if dask_data_to_scatter:
            raise ValueError("data_to_scatter is not used by SMACTargetRunner: give the runner "
                             f"shared_data={{...}} instead (got {sorted(dask_data_to_scatter)}); "
                             "it is shipped to each worker once")
        self._wait_for_worker()
        ours = to_trial_info(trial_info)
        with self._lock:
            self._submitted[id(ours)] = (ours, trial_info)
        try:
            self._runner.submit_trial(ours)
        except BaseException:
            with self._lock:
                self._submitted.pop(id(ours), None)
            raise

    def _wait_for_worker(self) -> None:
        runner, idle_since = self._runner, None
        while runner.count_available_workers() <= 0:
            self._collect()
            if runner.is_running():
                idle_since = None
                runner.wait(_WAIT)
                continue
            now = time.monotonic()
            idle_since = idle_since if idle_since is not None else now
            if now - idle_since > self._no_worker_timeout:
                raise RunnerError(
                    f"{type(runner).__name__} had no free worker for {self._no_worker_timeout:g} "
                    "s with nothing running: does it have any workers (a dask cluster "
                    "still starting, or all its workers gone)?")
            threading.Event().wait(_WAIT)  # nothing to wait on: poll the worker count

    def _collect(self) -> None:
        """Move our runner's finished trials into the results FIFO, converted for SMAC3."""
        for info, value in self._runner.iter_results():
            with self._lock:
                entry = self._submitted.pop(id(info), None)
                if entry is None:  # a runner that returns an equal copy
                    key = next((k for k, (o, _) in self._submitted.items() if o == info), None)
                    entry = self._submitted.pop(key) if key is not None else None
            if entry is None:
                log.warning("ignoring a result SMACTargetRunner did not submit: %r", info)
                continue
            self._results.extend(self._costs.convert(entry[1], value))

    def iter_results(self) -> Iterator[tuple[SMACTrialInfo, SMACTrialValue]]:
        """Every finished trial not yet yielded, SMAC3's ``TrialInfo`` as it was submitted."""
        self._collect()
        results = self._results
        while results:
            yield results.popleft()

    def wait(self) -> None:
        """Block until a trial has finished (at once if one has, or if nothing runs)."""
        if not self._results and self._runner.is_running():
            self._runner.wait()

    def is_running(self) -> bool:
        """Whether a submitted trial is queued, running, or finished but not yet yielded by
        `iter_results` (SMAC3 stops collecting once this is ``False``)."""
        self._collect()
        return bool(self._results) or bool(self._runner.is_running())

    def count_available_workers(self) -> int:
        """Our runner's free workers."""
        return int(self._runner.count_available_workers())

    def run(self, config: Any, instance: str | None = None, budget: float | None = None,
            seed: int | None = None, additional_info: dict[str, Any] | None = None,
            **dask_data_to_scatter: Any) -> tuple[SMACStatus, float | list[float], float, float,
                                                  dict[str, Any]]:
        """Evaluate one trial here, through our runner's ``run_wrapper`` (limits and crash
        handling included): SMAC3's ``(status, cost, runtime, cpu_time, additional_info)``."""
        info = TrialInfo(config, instance=instance, seed=seed, budget=budget,
                         additional_info=dict(additional_info or {}))
        _, value = self._runner.run_wrapper(info)
        ok = value.status in (StatusType.SUCCESS, StatusType.STOPPED)
        smac = to_smac_value(value, self._order, None if ok else self._costs.failure_cost())
        return smac.status, smac.cost, smac.time, smac.cpu_time, smac.additional_info

    @property
    def meta(self) -> dict[str, Any]:
        """SMAC3's meta (the class name) with our runner's."""
        return {"name": type(self).__name__, "runner": dict(getattr(self._runner, "meta", {}))}

    def close(self) -> None:
        """Close the runner it wraps."""
        close = getattr(self._runner, "close", None)
        if callable(close):
            close()

    def __enter__(self) -> SMACTargetRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SMACOptimizer:
    """A SMAC3 facade's ask/tell behind our optimizer protocol, for
    ``OptimizationLoop(SMACOptimizer(facade), runner, ...)``: budgets, instances and seeds pass
    through; ``ask`` returns ``None`` once the scenario's ``n_trials`` have been asked; on
    resume, ``restore`` tells SMAC3 the journal's finished trials (its run history and
    intensifier are rebuilt through ``facade.tell``) and ``restore_pending`` marks the unfinished
    ones as running, so SMAC3 proposes neither again."""

    def __init__(self, facade: Any, *, objectives: Iterable[str] | None = None) -> None:
        """``objectives``: the names of the loop's runner's objectives when the scenario has
        several (default: the scenario's own, in its order)."""
        for method in ("ask", "tell"):
            if not callable(getattr(facade, method, None)):
                raise TypeError(f"facade must be a SMAC3 facade (with ask/tell), got "
                                f"{type(facade).__name__}")
        self.facade = facade
        scenario = facade.scenario
        theirs = scenario.objectives
        theirs = [theirs] if isinstance(theirs, str) else list(theirs)
        ours = list(objectives) if objectives is not None else theirs
        self._order = objective_order(ours, theirs, "the SMAC3 scenario")
        self._costs: FailureCosts[SMACTrialInfo] = FailureCosts(scenario.crash_cost,
                                                                self._order)
        self._space = scenario.configspace
        self._asked: dict[int, tuple[TrialInfo, SMACTrialInfo]] = {}
        self._n_trials = scenario.n_trials

    def ask(self) -> TrialInfo | None:
        """SMAC3's next trial, or ``None`` once the scenario's ``n_trials`` were asked."""
        if self.facade.runhistory.submitted >= self._n_trials:
            return None
        try:
            smac_info = self.facade.ask()
        except StopIteration:  # the intensifier has nothing more to propose
            return None
        ours = to_trial_info(smac_info)
        self._asked[id(ours)] = (ours, smac_info)
        return ours

    def tell(self, info: TrialInfo, value: TrialValue) -> None:
        """Tell SMAC3 (its run history is not written to disk: our journal is the record)."""
        entry = self._asked.pop(id(info), None)
        smac_info = entry[1] if entry is not None else self._smac_info(info)
        self._tell(smac_info, value)

    def restore(self, history: Iterable[tuple[TrialInfo, TrialValue]]) -> None:
        """On resume: tell SMAC3 every finished trial of the journal, before its first ask."""
        for info, value in history:
            self._tell(self._smac_info(info), value)

    def _tell(self, smac_info: SMACTrialInfo, value: TrialValue) -> None:
        """A failure is told with a finite cost (see `runner.integrations._smac_costs`)."""
        for key, smac_value in self._costs.convert(smac_info, value):
            self.facade.tell(key, smac_value, save=False)

    def restore_pending(self, info: TrialInfo) -> None:
        """On resume: an unfinished trial runs again; SMAC3 records it as running."""
        self.facade.runhistory.add_running_trial(self._smac_info(info))

    def _smac_info(self, info: TrialInfo) -> SMACTrialInfo:
        """SMAC3's ``TrialInfo`` for one it did not ask in this process (from the journal)."""
        from ConfigSpace import Configuration

        config = info.config
        if not isinstance(config, Configuration):
            config = Configuration(self._space, values=dict(config))
        return SMACTrialInfo(config=config, instance=info.instance, seed=info.seed,
                             budget=info.budget)

    @property
    def incumbent(self) -> Mapping[str, Any] | None:
        """SMAC3's incumbent configuration (single objective), or ``None``."""
        inc = self.facade.intensifier.get_incumbent()
        return None if inc is None else dict(inc)

    def __repr__(self) -> str:
        return f"SMACOptimizer({type(self.facade).__name__}, n_trials={self._n_trials})"

