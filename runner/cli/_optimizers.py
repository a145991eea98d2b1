"""The optimizers ``trialrunner run --optimizer NAME`` knows: a registry of name -> factory.

A factory is called as ``factory(space, seed=..., options=...)`` with the search space (a dict
spec or a ConfigSpace space), the study's seed and the ``--opt KEY=VALUE`` options (plus the
budget options), and returns an ask/tell optimizer. Integrations register theirs with
`register_optimizer`, or list a lazy ``"module:function"`` entry in ``_LAZY`` that is
offered only when the module imports (its library is installed).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from runner.cli._common import UsageError

__all__ = ["Factory", "available", "build_optimizer", "register_optimizer"]

Factory = Callable[..., Any]

_REGISTRY: dict[str, Factory] = {}

_LAZY: dict[str, tuple[str, str]] = {
    # name -> (a module that must import, "module:factory"): offered where its library is
    "optuna": ("runner.integrations.optuna", "runner.cli._optimizers:optuna_tpe"),
}


def register_optimizer(name: str, factory: Factory) -> None:
    """Offer ``factory`` as ``--optimizer name`` (a later registration replaces an earlier one)."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty str, got {name!r}")
    if not callable(factory):
        raise TypeError(f"factory must be callable, got {factory!r}")
    _REGISTRY[name] = factory


def available() -> list[str]:
    """The names ``--optimizer`` accepts here: built in, registered, and lazy ones that import."""
    names = set(_REGISTRY)
    for name, (needed, _) in _LAZY.items():
        try:
            importlib.import_module(needed)
        except ImportError:
            continue
        names.add(name)
    return sorted(names)


def _factory(name: str) -> Factory:
    if name in _REGISTRY:
        return _REGISTRY[name]
    if name in _LAZY:
        needed, ref = _LAZY[name]
        module, _, attr = ref.partition(":")
        try:
            importlib.import_module(needed)
            factory: Factory = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as e:
            raise UsageError(f"--optimizer {name}: its integration is not installed ({e})") from None
        return factory
    raise UsageError(f"--optimizer: unknown optimizer {name!r}; choose from "
                     f"{', '.join(available())}")


def build_optimizer(name: str, space: Any, seed: int, options: Mapping[str, Any]) -> Any:
    """The optimizer ``name`` over ``space``; bad options are a `UsageError`."""
    factory = _factory(name)
    try:
        return factory(space, seed=seed, options=dict(options))
    except (TypeError, ValueError) as e:
        raise UsageError(f"--optimizer {name}: {e}") from None


def _random(space: Any, *, seed: int, options: dict[str, Any]) -> Any:
    from runner.optimizers import RandomSearch

    budget = options.pop("max_budget", None)
    _no_more(options, "random", ("n_trials",))
    return RandomSearch(space, seed=seed, budget=budget, n_trials=options.get("n_trials"))


def _hyperband(space: Any, *, seed: int, options: dict[str, Any]) -> Any:
    from runner.optimizers import Hyperband

    if options.get("min_budget") is None or options.get("max_budget") is None:
        raise ValueError("Hyperband needs --min-budget and --max-budget")
    _no_more(options, "hyperband", ("min_budget", "max_budget", "eta", "n_iterations"))
    return Hyperband(space, seed=seed, **{k: v for k, v in options.items() if v is not None})


def _no_more(options: Mapping[str, Any], name: str, allowed: tuple[str, ...]) -> None:
    extra = sorted(k for k, v in options.items() if k not in allowed and v is not None)
    if extra:
        raise ValueError(f"{name} takes no option {', '.join(extra)} (it takes "
                         f"{', '.join(allowed)})")


def optuna_tpe(space: Any, *, seed: int, options: dict[str, Any]) -> Any:
    """Optuna's TPE (seeded) through ``runner.integrations.optuna.OptunaOptimizer``, over our
    spec; ``--max-budget`` sets every trial's budget."""
    import optuna

    from runner.integrations.optuna import OptunaOptimizer
    from runner.integrations.optuna import distributions as optuna_distributions

    if not isinstance(space, Mapping):
        raise ValueError("optuna takes a space in our spec (TOML/JSON tables), not a ConfigSpace "
                         "file")
    budget = options.pop("max_budget", None)
    _no_more(options, "optuna", ())
    if budget is not None:
        raise ValueError("optuna takes no --max-budget (its trials run at one budget: none)")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize",
                                sampler=optuna.samplers.TPESampler(seed=seed))
    return OptunaOptimizer(study, optuna_distributions(space))


register_optimizer("random", _random)
register_optimizer("hyperband", _hyperband)
