"""Optuna behind our optimizer protocol: `OptunaOptimizer` drives a study's ask/tell from
`runner.OptimizationLoop`, and rebuilds the study from a resumed journal.

    loop.ask  -> study.ask(search_space) -> TrialInfo(trial.params)
    loop.on_report -> trial.report(cost, step); "stop" if trial.should_prune()
    loop.tell -> study.tell(trial, values)              SUCCESS (STOPPED: PRUNED)
                 study.tell(trial, state=FAIL)          CRASHED, TIMEOUT, MEMORYOUT, CANCELLED
    resume    -> study.add_trial(create_trial(...))     each finished trial of the journal

Importing this module imports Optuna (``pip install 'trialrunner[optuna]'``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.trial import TrialState, create_trial

from runner.integrations._convert import FAILED
from trials import Report, StatusType, TrialInfo, TrialValue

__all__ = ["TRIAL_KEY", "OptunaOptimizer", "distributions"]

log = logging.getLogger(__name__)

TRIAL_KEY = "optuna_trial"
"""The ``TrialInfo.additional_info`` key holding the Optuna trial number."""


class OptunaOptimizer:
    """``study.ask(search_space)`` / ``study.tell(...)`` for ``OptimizationLoop``.

    ``search_space`` maps parameter names to Optuna distributions (the fixed search space
    every trial samples); ``n_trials`` ends the search after that many asks (``None``: the loop's
    goals end it). A multi-objective study is told the trial's cost tuple in the study's
    ``directions`` order (give the runner ``objectives`` in that order).
    """

    def __init__(self, study: optuna.Study, search_space: Mapping[str, BaseDistribution], *,
                 n_trials: int | None = None) -> None:
        """See the class doc."""
        if not isinstance(study, optuna.Study):
            raise TypeError(f"study must be an optuna.Study, got {type(study).__name__}")
        if not isinstance(search_space, Mapping) or not search_space:
            raise TypeError("search_space must be a non-empty dict of parameter name to "
                            f"optuna distribution, got {search_space!r}")
        for name, dist in search_space.items():
            if not isinstance(dist, BaseDistribution):
                raise TypeError(f"search_space[{name!r}] must be an optuna distribution (e.g. "
                                f"FloatDistribution(0, 1)), got {type(dist).__name__}")
        if n_trials is not None and (isinstance(n_trials, bool) or not isinstance(n_trials, int)
                                     or n_trials < 1):
            raise ValueError(f"n_trials must be a positive int or None, got {n_trials!r}")
        self.study = study
        self.search_space = dict(search_space)
        self.n_trials = n_trials
        self._n_objectives = len(study.directions)
        self._asked: dict[int, optuna.Trial] = {}
        self._last_step: dict[int, int] = {}  # trial number -> last step reported to Optuna
        self.n_asked = 0

    def ask(self) -> TrialInfo | None:
        """The study's next trial as a ``TrialInfo`` of its parameters, or ``None`` once
        ``n_trials`` were asked."""
        if self.n_trials is not None and self.n_asked >= self.n_trials:
            return None
        trial = self.study.ask(self.search_space)
        self.n_asked += 1
        info = TrialInfo(dict(trial.params), additional_info={TRIAL_KEY: trial.number})
        self._asked[id(info)] = trial
        return info

    def tell(self, info: TrialInfo, value: TrialValue) -> None:
        """Tell the study; a failed trial (crash, limit, cancelled) is told as FAIL."""
        trial = self._asked.pop(id(info), None)
        if trial is not None:
            self._last_step.pop(trial.number, None)
        if trial is None:  # asked by an earlier session and run again after a resume
            self.study.add_trial(self._frozen(info, value))
            return
        state, values = self._outcome(value)
        if state is TrialState.COMPLETE:
            self.study.tell(trial, values)
        else:
            self.study.tell(trial, state=state)

    def on_report(self, info: TrialInfo, report: Report) -> str:
        """Forward an intermediate result to the Optuna trial (``trial.report``) and ask its
        pruner (``trial.should_prune()``): ``"stop"`` ends the trial, told PRUNED. Only
        single-objective studies report (Optuna's rule); the step is taken as an int."""
        trial = self._asked.get(id(info))
        if trial is None or self._n_objectives != 1:
            return "continue"
        cost = report.cost[0] if isinstance(report.cost, tuple) else report.cost
        step = int(report.step)
        if step <= self._last_step.get(trial.number, -1):
            return "continue"  # Optuna keeps one value per step: a repeated step is ignored
        self._last_step[trial.number] = step
        trial.report(float(cost), step)
        return "stop" if trial.should_prune() else "continue"

    def restore(self, history: Iterable[tuple[TrialInfo, TrialValue]]) -> None:
        """On resume: add each finished trial of the journal to the study (``add_trial``), so
        the sampler continues from them. The study should be a fresh one: a study in persistent
        storage that already holds them would hold them twice."""
        if len(self.study.trials):
            log.warning("restoring %s into a study that already holds %d trials; they may be "
                        "counted twice", type(self).__name__, len(self.study.trials))
        trials = [self._frozen(info, value) for info, value in history]
        self.study.add_trials(trials)
        self.n_asked += len(trials)

    def restore_pending(self, info: TrialInfo) -> None:
        """On resume: an unfinished trial runs again; it counts against ``n_trials``."""
        self.n_asked += 1

    def _outcome(self, value: TrialValue) -> tuple[TrialState, list[float] | None]:
        if value.status in FAILED:
            return TrialState.FAIL, None
        cost = value.cost
        values = [float(c) for c in cost] if isinstance(cost, tuple) else [float(cost)]
        if len(values) != self._n_objectives:
            raise ValueError(f"the study has {self._n_objectives} objective(s) but a trial's "
                             f"cost has {len(values)}: {cost!r}; give the runner one objective "
                             "per study direction")
        if value.status is StatusType.SUCCESS and all(math.isfinite(v) for v in values):
            return TrialState.COMPLETE, values
        return TrialState.PRUNED if value.status.name == "STOPPED" else TrialState.FAIL, None

    def _frozen(self, info: TrialInfo, value: TrialValue) -> Any:
        state, values = self._outcome(value)
        params = {name: _from_json(self.search_space[name], info.config[name])
                  for name in self.search_space if name in info.config}
        kwargs: dict[str, Any] = {"state": state, "params": params,
                                  "distributions": {n: self.search_space[n] for n in params}}
        if values is not None:
            kwargs["values"] = values
        return create_trial(**kwargs)

    def __repr__(self) -> str:
        return (f"OptunaOptimizer({self.study.study_name!r}, {sorted(self.search_space)}, "
                f"n_trials={self.n_trials})")


def _from_json(dist: BaseDistribution, value: Any) -> Any:
    """A parameter value read back from the journal, in the type its distribution holds (JSON
    turns a categorical tuple choice into a list)."""
    if isinstance(value, list):
        return tuple(value)
    if isinstance(dist, optuna.distributions.IntDistribution) and isinstance(value, float):
        return int(value)
    return value


def distributions(space: Mapping[str, Any]) -> dict[str, BaseDistribution]:
    """Our search-space spec (what ``RandomSearch`` takes: ``(low, high)`` floats or ints,
    ``(low, high, "log")``, or a list of choices) as Optuna distributions."""
    from optuna import distributions as d

    out: dict[str, BaseDistribution] = {}
    for name, spec in space.items():
        if isinstance(spec, list):
            out[name] = d.CategoricalDistribution(spec)
        elif isinstance(spec[0], int) and isinstance(spec[1], int):
            out[name] = d.IntDistribution(spec[0], spec[1], log=len(spec) == 3)
        else:
            out[name] = d.FloatDistribution(float(spec[0]), float(spec[1]), log=len(spec) == 3)
    return out
