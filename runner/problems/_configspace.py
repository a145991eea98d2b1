"""Translate our dict search-space spec into a ConfigSpace space (imported lazily: an extra)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runner.optimizers import SearchSpace

__all__ = ["to_configspace"]


def to_configspace(space: Mapping[str, Any], seed: int | None = None) -> Any:
    """A ``ConfigSpace.ConfigurationSpace`` with one hyperparameter per entry of ``space``."""
    try:
        import ConfigSpace as CS
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Problem.configspace() needs ConfigSpace: pip install 'trialrunner[smac]' "
            "or pip install ConfigSpace") from exc
    SearchSpace(space)  # validate first, so errors name our spec, not ConfigSpace's
    cs = CS.ConfigurationSpace(seed=seed)
    hps: list[Any] = []
    for name, spec in space.items():
        if isinstance(spec, list):
            hps.append(CS.CategoricalHyperparameter(name, choices=list(spec)))
            continue
        low, high = spec[0], spec[1]
        log = len(spec) == 3
        if isinstance(low, int) and isinstance(high, int):
            hps.append(CS.UniformIntegerHyperparameter(name, lower=low, upper=high, log=log))
        else:
            hps.append(CS.UniformFloatHyperparameter(name, lower=float(low), upper=float(high),
                                                     log=log))
    cs.add(hps)
    return cs
