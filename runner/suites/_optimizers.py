"""Build a study's optimizer by name: the built-ins, Optuna's TPE where installed, or a factory
named ``package.module:attribute`` called as ``factory(problem, seed=, n_trials=, **settings)``.

Multi-fidelity optimizers take their budget range from the problem's ``fidelity`` unless the
suite sets ``min_budget``/``max_budget``; single-fidelity ones evaluate at the full budget.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from runner.problems import Problem

__all__ = ["MULTI_FIDELITY", "OPTIMIZERS", "USE", "build_optimizer", "check_reports",
           "check_settings", "resolve", "sends_reports", "stops_on_reports"]

Factory = Callable[..., Any]


def _budgets(problem: Problem, settings: Mapping[str, Any]) -> tuple[float, float]:
    if problem.fidelity is None:
        raise ValueError(f"problem {problem.name!r} has no fidelity range")
    low, high = problem.fidelity
    lo, hi = settings.get("min_budget", low), settings.get("max_budget", high)
    for key, value in (("min_budget", lo), ("max_budget", hi)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{key} must be a number, got {value!r}")
        if not low <= value <= high:
            raise ValueError(f"{key}={value!r} lies outside the problem's fidelity range "
                             f"[{low:g}, {high:g}]")
    if lo >= hi:
        raise ValueError(f"min_budget must be below max_budget, got {lo!r} and {hi!r}")
    return float(lo), float(hi)


def _random(problem: Problem, *, seed: int, n_trials: int, **settings: Any) -> Any:
    from runner.optimizers import RandomSearch

    budget = None
    if problem.fidelity is not None:
        budget = _budgets(problem, {"min_budget": problem.fidelity[0], **settings})[1]
    return RandomSearch(problem.space, seed=seed, n_trials=n_trials, budget=budget)


def _hyperband(problem: Problem, *, seed: int, n_trials: int, eta: int = 3,
               continuation: bool = False, **settings: Any) -> Any:
    from runner.optimizers import Hyperband

    lo, hi = _budgets(problem, settings)
    return Hyperband(problem.space, min_budget=lo, max_budget=hi, eta=eta, seed=seed,
                     n_iterations=None, continuation=continuation)


def _successive_halving(problem: Problem, *, seed: int, n_trials: int, eta: int = 3,
                        n_configs: int | None = None, continuation: bool = False,
                        **settings: Any) -> Any:
    from runner.optimizers import SuccessiveHalving

    lo, hi = _budgets(problem, settings)
    return SuccessiveHalving(problem.space, min_budget=lo, max_budget=hi, eta=eta, seed=seed,
                             n_configs=n_configs, n_iterations=None, continuation=continuation)


def _asha(problem: Problem, *, seed: int, n_trials: int, eta: int = 3, mode: str = "stopping",
          **settings: Any) -> Any:
    from runner.optimizers import ASHA

    lo, hi = _budgets(problem, settings)
    return ASHA(problem.space, min_budget=lo, max_budget=hi, eta=eta, seed=seed, mode=mode)


def _optuna_tpe(problem: Problem, *, seed: int, n_trials: int, **settings: Any) -> Any:
    from runner.suites._optuna import OptunaTPE

    budget = None
    if problem.fidelity is not None:
        budget = _budgets(problem, {"min_budget": problem.fidelity[0], **settings})[1]
    return OptunaTPE(problem.space, seed=seed, budget=budget,
                     n_objectives=len(problem.objectives))


def _one_objective(name: str, problem: Problem) -> None:
    """SMAC3's facades here take one objective: ``ValueError`` naming the problem otherwise."""
    if len(problem.objectives) != 1:
        raise ValueError(f"optimizer {name!r} takes one objective; {problem.name!r} has "
                         f"{len(problem.objectives)}")


def _smac(problem: Problem, *, seed: int, n_trials: int, **settings: Any) -> Any:
    from runner.suites._smac import SMACHPO

    _one_objective("smac", problem)
    budget = None
    if problem.fidelity is not None:
        budget = _budgets(problem, {"min_budget": problem.fidelity[0], **settings})[1]
    return SMACHPO(problem.configspace(seed=seed), seed=seed, n_trials=n_trials, budget=budget)


def _smac_mf(problem: Problem, *, seed: int, n_trials: int, eta: int = 3,
             **settings: Any) -> Any:
    from runner.suites._smac import smac_multi_fidelity

    _one_objective("smac_mf", problem)
    lo, hi = _budgets(problem, settings)
    return smac_multi_fidelity(problem.configspace(seed=seed), seed=seed, n_trials=n_trials,
                               min_budget=lo, max_budget=hi, eta=eta)


OPTIMIZERS: dict[str, tuple[Factory, frozenset[str]]] = {
    "random": (_random, frozenset({"min_budget", "max_budget"})),
    "hyperband": (_hyperband, frozenset({"eta", "min_budget", "max_budget", "continuation"})),
    "successive_halving": (_successive_halving, frozenset(
        {"eta", "min_budget", "max_budget", "n_configs", "continuation"})),
    "asha": (_asha, frozenset({"eta", "min_budget", "max_budget", "mode"})),
    "optuna_tpe": (_optuna_tpe, frozenset({"min_budget", "max_budget"})),
    "smac": (_smac, frozenset({"min_budget", "max_budget"})),
    "smac_mf": (_smac_mf, frozenset({"eta", "min_budget", "max_budget"})),
}
"""Built-in optimizer names: factory and the settings it takes."""

MULTI_FIDELITY = frozenset({"hyperband", "successive_halving", "asha", "smac_mf"})


USE = "use"
"""The optimizer-table key that makes an entry a variant: ``[optimizer.hb-cont]`` with
``use = "hyperband"`` and ``continuation = true`` runs Hyperband under the name ``hb-cont``."""


def resolve(name: str, settings: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The optimizer a suite entry builds (its ``use`` setting, else its name) and the
    settings passed to it."""
    rest = dict(settings)
    return str(rest.pop(USE, name)), rest


def _factory(name: str) -> tuple[Factory, frozenset[str] | None]:
    if name in OPTIMIZERS:
        return OPTIMIZERS[name]
    module_name, _, attribute = name.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ValueError(f"cannot load optimizer factory {name!r}: {exc}") from None
    if not callable(obj):
        raise TypeError(f"optimizer {name!r} must name a callable factory, got "
                        f"{type(obj).__name__}")
    return obj, None


def build_optimizer(name: str, problem: Problem, seed: int, n_trials: int,
                    settings: Mapping[str, Any]) -> Any:
    """A fresh optimizer for one study (``ValueError``/``TypeError`` for bad settings)."""
    name, settings = resolve(name, settings)
    factory, allowed = _factory(name)
    if allowed is not None:
        unknown = sorted(set(settings) - allowed)
        if unknown:
            raise ValueError(f"unknown setting(s) {unknown} for optimizer {name!r}; it takes "
                             f"{sorted(allowed)}")
    extra = {"optuna_tpe": ("optuna", "optuna"), "smac": ("smac", "smac"),
             "smac_mf": ("smac", "smac")}.get(name)
    if extra is not None:
        try:
            importlib.import_module(extra[0])
        except ImportError:
            raise ValueError(f"optimizer {name!r} needs {extra[0]}: pip install "
                             f"'trialrunner[{extra[1]}]'") from None
    return factory(problem, seed=seed, n_trials=n_trials, **dict(settings))


def check_settings(name: str, problem: Problem, settings: Mapping[str, Any]) -> None:
    """Validate ``settings`` against the problem (building the optimizer where that is cheap)."""
    name, settings = resolve(name, settings)
    if name in ("smac", "smac_mf"):  # building SMAC writes files and takes seconds: check
        _factory(name)                # what it would use
        unknown = sorted(set(settings) - OPTIMIZERS[name][1])
        if unknown:
            raise ValueError(f"unknown setting(s) {unknown} for optimizer {name!r}; it takes "
                             f"{sorted(OPTIMIZERS[name][1])}")
        _one_objective(name, problem)
        if name == "smac_mf":
            eta = settings.get("eta", 3)
            if isinstance(eta, bool) or not isinstance(eta, int) or eta < 2:
                raise ValueError(f"eta must be an int >= 2, got {eta!r}")
            _budgets(problem, settings)
        elif problem.fidelity is not None:
            _budgets(problem, {"min_budget": problem.fidelity[0], **settings})
        return
    build_optimizer(name, problem, 0, 1, settings)


def stops_on_reports(name: str, settings: Mapping[str, Any]) -> bool:
    """Whether built-in optimizer ``name`` works only on trials' reports (ASHA's stopping
    type: without reports every trial would silently run to the full budget)."""
    name, settings = resolve(name, settings)
    return name == "asha" and settings.get("mode", "stopping") == "stopping"


def sends_reports(problem: Problem, simulated: bool) -> bool:
    """Whether ``problem``'s trials report on this backend: its target takes ``report``, or it
    returns learning curves and the backend is the simulated one, which replays them."""
    from runner.suites._pool import accepts

    return "report" in accepts(problem.target) or (problem.curves and simulated)


def check_reports(name: str, problem: Problem, settings: Mapping[str, Any],
                  simulated: bool | None) -> None:
    """``ValueError`` when optimizer ``name`` needs reports that ``problem`` never sends:
    its target takes no ``report``, and it returns no learning curve or (``simulated`` False)
    the backend is not the simulated one, which alone replays curves; ``None``: not known yet."""
    if not stops_on_reports(name, settings) or sends_reports(problem, simulated is not False):
        return
    if not problem.curves:
        raise ValueError(f"{name!r} of the stopping type stops trials on their reports, but "
                         f"the target of problem {problem.name!r} takes no report and returns "
                         f"no learning curve; use a problem whose target takes report, a '-lc' "
                         f"problem on the simulated backend, or mode = \"promotion\"")
    raise ValueError(f"{name!r} of the stopping type stops trials on their reports, but "
                     f"problem {problem.name!r} returns its learning curve, which only the "
                     f"simulated backend replays as reports; run it with --backend simulated, "
                     f"or use mode = \"promotion\"")
