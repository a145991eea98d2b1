"""``OptunaTPE``: Optuna's TPE sampler behind our ask/tell protocol, for suites.

Parameters are suggested from our dict spec; a resumed study's finished trials, told without
having been asked in this process, enter the Optuna study with ``add_trial`` so TPE learns from
them too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from trials import StatusType, TrialInfo, TrialValue

__all__ = ["OptunaTPE"]

_KEY = "optuna_number"


class OptunaTPE:
    """Ask/tell over an in-memory Optuna study with a seeded ``TPESampler``."""

    def __init__(self, space: Mapping[str, Any], *, seed: int, budget: float | None = None,
                 n_objectives: int = 1) -> None:
        import optuna

        from runner.integrations.optuna import distributions as optuna_distributions

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self._dists = optuna_distributions(space)
        self._study = optuna.create_study(directions=["minimize"] * n_objectives,
                                          sampler=optuna.samplers.TPESampler(seed=seed))
        self._budget = budget
        self._asked: dict[int, Any] = {}

    def ask(self) -> TrialInfo:
        """The next configuration TPE proposes."""
        trial = self._study.ask(self._dists)
        self._asked[trial.number] = trial
        return TrialInfo(dict(trial.params), budget=self._budget,
                         additional_info={_KEY: trial.number})

    def tell(self, info: TrialInfo, value: TrialValue) -> None:
        """Report ``value``; a crashed trial is told as failed."""
        import optuna


        ok = value.status == StatusType.SUCCESS
        costs = value.cost if isinstance(value.cost, tuple) else (value.cost,)
        values = [float(c) for c in costs] if ok and all(map(math.isfinite, costs)) else None
        trial = self._asked.pop(info.additional_info.get(_KEY, -1), None)
        if trial is not None and self._study.trials[trial.number].state.name == "RUNNING":
            if values is None:
                self._study.tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                self._study.tell(trial, values if len(values) > 1 else values[0])
            return
        try:  # told on resume without having been asked here
            dists = {k: v for k, v in self._dists.items() if k in info.config}
            state = optuna.trial.TrialState.COMPLETE if values is not None else \
                optuna.trial.TrialState.FAIL
            self._study.add_trial(optuna.trial.create_trial(
                params=dict(info.config), distributions=dists, values=values, state=state))
        except ValueError:
            pass  # a config outside the space: nothing TPE can learn from
