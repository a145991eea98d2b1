"""SMAC3 for suites: ``SMACHPO``, its hyperparameter-optimization facade behind our ask/tell
protocol (single fidelity: trials at the problem's full budget), and ``smac_multi_fidelity``,
its multi-fidelity facade (Hyperband brackets, a random-forest model proposing the
configurations) through `runner.integrations.smac.SMACOptimizer`.

SMAC keeps its own run history in a private temporary folder. A resumed study's finished trials,
told without having been asked in this process, are told to SMAC as trials of its own space
(SMAC accepts results it did not ask for), so the surrogate learns from them too.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from trials import StatusType, TrialInfo, TrialValue

__all__ = ["SMACHPO", "smac_multi_fidelity"]


def _never_called(config: Any, seed: int = 0) -> float:
    """SMAC wants a target function; in ask/tell mode it is never called."""
    raise RuntimeError("SMAC's target function is not used in ask/tell mode")


def _never_called_mf(config: Any, seed: int = 0, budget: float | None = None) -> float:
    """The multi-fidelity facade's target must name ``budget``; it is never called either."""
    raise RuntimeError("SMAC's target function is not used in ask/tell mode")


class SMACHPO:
    """Ask/tell over ``smac.HyperparameterOptimizationFacade`` (one evaluation per config)."""

    def __init__(self, configspace: Any, *, seed: int, n_trials: int,
                 budget: float | None = None) -> None:
        from smac import HyperparameterOptimizationFacade as HPO
        from smac import Scenario

        self._tmp = tempfile.TemporaryDirectory(prefix="trialrunner-smac-")
        scenario = Scenario(configspace, deterministic=True, n_trials=max(n_trials, 1),
                            seed=seed, output_directory=Path(self._tmp.name))
        intensifier = HPO.get_intensifier(scenario, max_config_calls=1)
        self._smac = HPO(scenario, _never_called, intensifier=intensifier, overwrite=True,
                         logging_level=40)
        self._space = configspace
        self._budget = budget
        self._asked: dict[int, Any] = {}
        self._next = 0

    def ask(self) -> TrialInfo:
        """The next configuration SMAC proposes."""
        info = self._smac.ask()
        key, self._next = self._next, self._next + 1
        self._asked[key] = info
        return TrialInfo(dict(info.config), seed=info.seed, budget=self._budget,
                         additional_info={"smac_key": key})

    def tell(self, info: TrialInfo, value: TrialValue) -> None:
        """Report ``value`` to SMAC (crashed trials as crashed, with their crash cost)."""
        from ConfigSpace import Configuration
        from smac.runhistory.dataclasses import TrialInfo as SInfo
        from smac.runhistory.dataclasses import TrialValue as SValue
        from smac.runhistory.enumerations import StatusType as SStatus

        cost = value.cost[0] if isinstance(value.cost, tuple) else value.cost
        ok = value.status == StatusType.SUCCESS and math.isfinite(cost)
        status = SStatus.SUCCESS if ok else SStatus.CRASHED
        smac_value = SValue(cost=cost if ok else 1e12, time=float(value.time), status=status)
        asked = self._asked.pop(info.additional_info.get("smac_key", -1), None)
        if asked is None:  # told on resume without having been asked here
            values: Mapping[str, Any] = dict(info.config)
            try:
                config = Configuration(self._space, values=values)
            except (ValueError, KeyError):
                return  # not of this space: nothing SMAC can learn from
            asked = SInfo(config=config, seed=info.seed)
        self._smac.tell(asked, smac_value)


def smac_multi_fidelity(configspace: Any, *, seed: int, n_trials: int, min_budget: float,
                        max_budget: float, eta: int = 3) -> Any:
    """``smac.MultiFidelityFacade`` over ``[min_budget, max_budget]`` as our optimizer: asks
    ``n_trials`` trials, then ``None``; SMAC3's files go to a temporary folder it keeps."""
    from smac import MultiFidelityFacade as MF
    from smac import Scenario

    from runner.integrations.smac import SMACOptimizer

    class SMACMultiFidelity(SMACOptimizer):
        """SMACOptimizer holding the temporary folder SMAC3 writes to for as long as it lives."""

        def __init__(self, facade: Any, folder: tempfile.TemporaryDirectory[str]) -> None:
            super().__init__(facade)
            self.folder = folder

    tmp = tempfile.TemporaryDirectory(prefix="trialrunner-smac-")
    scenario = Scenario(configspace, deterministic=True, n_trials=max(n_trials, 1), seed=seed,
                        min_budget=min_budget, max_budget=max_budget,
                        output_directory=Path(tmp.name))
    facade = MF(scenario, _never_called_mf, intensifier=MF.get_intensifier(scenario, eta=eta),
                overwrite=True, logging_level=40)
    return SMACMultiFidelity(facade, tmp)
