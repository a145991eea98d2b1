"""Built-in optimizers: the search-space spec, RandomSearch, SuccessiveHalving, Hyperband."""

from __future__ import annotations

import math
import random

import pytest

from runner import OptimizationLoop, SerialRunner
from runner.optimizers import Hyperband, RandomSearch, SearchSpace, SuccessiveHalving
from trials import StatusType, TrialValue, read_records

SPACE = {"x": (-5.0, 5.0), "lr": (1e-5, 1e-1, "log"), "n": (1, 10), "m": (1, 1000, "log"),
         "kind": ["a", "b", "c"]}


@pytest.mark.parametrize(
    ("spec", "error", "match"),
    [
        ({}, ValueError, "at least one parameter"),
        ({"x": (1.0, 0.0)}, ValueError, "'x': low must be below high"),
        ({"x": (0.0, 1.0, "ln")}, ValueError, "'x': the third entry may only be 'log'"),
        ({"x": (0.0, 1.0, "log")}, ValueError, "'x': a log scale needs low > 0"),
        ({"x": []}, ValueError, "'x': a categorical needs at least one choice"),
        ({"x": "abc"}, TypeError, "'x' must be .low, high."),
        ({"x": ("a", "b")}, TypeError, "'x': low and high must be numbers"),
        ({"x": (0.0, math.inf)}, ValueError, "'x': low and high must be finite"),
        ([("x", (0, 1))], TypeError, "space must be a dict spec"),
    ],
)
def test_bad_space_specs_are_refused_naming_the_parameter(spec, error, match):
    """Each malformed parameter spec raises at construction, naming the parameter."""
    with pytest.raises(error, match=match):
        RandomSearch(spec)


def test_samples_respect_types_and_bounds():
    """Floats, log floats, ints, log ints and categoricals are drawn within their bounds."""
    space = SearchSpace(SPACE)
    rng = random.Random(0)
    samples = [space.sample(rng) for _ in range(2000)]
    assert all(-5.0 <= s["x"] < 5.0 and isinstance(s["x"], float) for s in samples)
    assert all(1e-5 <= s["lr"] <= 1e-1 for s in samples)
    assert all(1 <= s["n"] <= 10 and isinstance(s["n"], int) for s in samples)
    assert all(1 <= s["m"] <= 1000 and isinstance(s["m"], int) for s in samples)
    assert {s["kind"] for s in samples} == {"a", "b", "c"}
    assert {s["n"] for s in samples} == set(range(1, 11))
    small_lr = sum(s["lr"] < 1e-3 for s in samples) / len(samples)
    assert 0.4 < small_lr < 0.6  # log-uniform: half the mass below the geometric middle


def test_random_search_is_reproducible_with_a_seed_and_exhausts():
    """Same seed, same sequence; another seed, another; n_trials ends it with None."""
    a = RandomSearch(SPACE, seed=3, n_trials=5)
    b = RandomSearch(SPACE, seed=3, n_trials=5)
    c = RandomSearch(SPACE, seed=4, n_trials=5)
    seq_a = [a.ask() for _ in range(5)]
    assert [i.config for i in seq_a] == [b.ask().config for _ in range(5)]
    assert [i.config for i in seq_a] != [c.ask().config for _ in range(5)]
    assert a.ask() is None
    assert isinstance(RandomSearch(SPACE).seed, int)


def test_random_search_skips_restored_and_told_indices():
    """Indices an earlier session handed out (told or restored) are not proposed again."""
    first = RandomSearch(SPACE, seed=1)
    infos = [first.ask() for _ in range(6)]
    second = RandomSearch(SPACE, seed=1)
    for info in infos[:4]:
        second.tell(info, TrialValue(cost=1.0))
    second.restore_pending(infos[5])
    second.restore_pending(infos[4])
    assert second.ask().config == first.ask().config


def test_random_search_over_a_configspace_space_is_reproducible():
    """A ConfigSpace space is sampled reproducibly by seed, and the user's space is untouched."""
    cs = pytest.importorskip("ConfigSpace")
    space = cs.ConfigurationSpace({"x": (-5.0, 5.0), "n": (1, 10), "kind": ["a", "b"]}, seed=11)
    before = space.sample_configuration()
    space.seed(11)
    a = [RandomSearch(space, seed=2).ask().config for _ in range(1)]
    b = [RandomSearch(space, seed=2).ask().config for _ in range(1)]
    assert a == b and isinstance(a[0], cs.Configuration)
    assert space.sample_configuration() == before
    loop = OptimizationLoop(RandomSearch(space, seed=2, n_trials=5),
                            SerialRunner(lambda c: c["x"] ** 2))
    loop.run()
    assert len(loop.history) == 5


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"min_budget": 0, "max_budget": 9}, ValueError, "min_budget must be a finite number"),
        ({"min_budget": 10, "max_budget": 9}, ValueError, "min_budget must be <= max_budget"),
        ({"min_budget": 1, "max_budget": 9, "eta": 1}, ValueError, "eta must be >= 2"),
        ({"min_budget": 1, "max_budget": 9, "eta": 2.5}, TypeError, "eta must be an int"),
        ({"min_budget": 1, "max_budget": "9"}, TypeError, "max_budget must be a number"),
    ],
)
def test_bad_budgets_are_refused(kwargs, error, match):
    """Invalid budgets or eta raise at construction, naming the argument."""
    with pytest.raises(error, match=match):
        Hyperband({"x": (0.0, 1.0)}, **kwargs)


def test_hyperband_brackets_follow_the_schedule():
    """min 1, max 27, eta 3: four brackets from 27 configs at budget 1 to 4 at budget 27."""
    hb = Hyperband({"x": (0.0, 1.0)}, min_budget=1, max_budget=27, eta=3)
    assert hb.brackets == [
        [(27, 1.0), (9, 3.0), (3, 9.0), (1, 27.0)],
        [(12, 3.0), (4, 9.0), (1, 27.0)],
        [(6, 9.0), (2, 27.0)],
        [(4, 27.0)],
    ]


def test_successive_halving_waits_for_a_rung_then_promotes_the_best():
    """ask() is None until a rung is told; its best 1/eta go on at eta times the budget."""
    sh = SuccessiveHalving({"x": (0.0, 1.0)}, min_budget=1, max_budget=9, eta=3, seed=0)
    rung0 = [sh.ask() for _ in range(9)]
    assert all(i.budget == 1.0 for i in rung0)
    assert sh.ask() is None
    for info in rung0:
        sh.tell(info, TrialValue(cost=info.config["x"]))
    rung1 = [sh.ask() for _ in range(3)]
    best = sorted(rung0, key=lambda i: i.config["x"])[:3]
    assert [i.config for i in rung1] == [i.config for i in best]
    assert all(i.budget == 3.0 for i in rung1) and sh.ask() is None
    for info in rung1:
        sh.tell(info, TrialValue(cost=info.config["x"]))
    final = sh.ask()
    assert final.budget == 9.0 and final.config == best[0].config
    sh.tell(final, TrialValue(cost=0.0))
    assert sh.ask() is None


def test_crashed_trials_rank_last():
    """A crashed trial (crash cost inf) is never promoted over a successful one."""
    sh = SuccessiveHalving({"x": (0.0, 1.0)}, min_budget=1, max_budget=2, eta=2, seed=0)
    a, b = sh.ask(), sh.ask()
    sh.tell(a, TrialValue(cost=math.inf, status=StatusType.CRASHED))
    sh.tell(b, TrialValue(cost=5.0))
    assert sh.ask().config == b.config


def budget_cost(config, budget):
    """Noisy at small budgets, exact at large ones."""
    return (config["x"] - 0.3) ** 2 + 1.0 / budget


def test_hyperband_through_the_loop_exercises_every_budget(tmp_path):
    """Hyperband through the loop: every bracket completes, every budget reaches the target."""
    path = tmp_path / "hb.jsonl"
    hb = Hyperband({"x": (0.0, 1.0)}, min_budget=1, max_budget=9, eta=3, seed=5)
    loop = OptimizationLoop(hb, SerialRunner(budget_cost), journal=path)
    loop.run()
    expected = sum(n for plan in hb.brackets for n, _ in plan)
    assert len(loop.history) == expected and loop.status() == "finished"
    assert {i.budget for i, _ in loop.history} == {1.0, 3.0, 9.0}
    assert all(v.cost == pytest.approx(budget_cost(i.config, i.budget)) for i, v in loop.history)
    journaled = {r["info"]["budget"] for r in read_records(path) if r["type"] == "submit"}
    assert journaled == {1.0, 3.0, 9.0}


def test_hyperband_resumed_from_a_journal_finishes_the_same_brackets(tmp_path):
    """Hyperband stopped and resumed runs the same trials as an uninterrupted run."""
    space = {"x": (0.0, 1.0)}
    whole = OptimizationLoop(Hyperband(space, min_budget=1, max_budget=9, seed=8),
                             SerialRunner(budget_cost))
    whole.run()
    path = tmp_path / "hb.jsonl"
    OptimizationLoop(Hyperband(space, min_budget=1, max_budget=9, seed=8),
                     SerialRunner(budget_cost), n_trials_goal=11, journal=path).run()
    resumed = OptimizationLoop(Hyperband(space, min_budget=1, max_budget=9, seed=8),
                               SerialRunner(budget_cost), journal=path)
    resumed.run()

    def key(pair):
        info, _ = pair
        extra = info.additional_info
        return (extra["bracket"], extra["rung"], extra["slot"], info.config["x"], info.budget)

    assert sorted(map(key, resumed.history)) == sorted(map(key, whole.history))


def test_asha_counts_configurations_as_successive_halving_does() -> None:
    """ASHA's ``n_configs`` is SuccessiveHalving's word for the number of configurations; the old
    ``n_trials`` gives the same optimizer for one release, with a DeprecationWarning naming the
    new keyword, and both at once is a TypeError (issue 29 item 7)."""
    from runner.optimizers import ASHA

    new = ASHA({"x": (0.0, 1.0)}, 1, 9, seed=2, n_configs=4)
    with pytest.warns(DeprecationWarning, match=r"pass n_configs="):
        old = ASHA({"x": (0.0, 1.0)}, 1, 9, seed=2, n_trials=4)
    assert new.n_configs == old.n_configs == 4
    asked = [[o.ask() for _ in range(5)] for o in (new, old)]
    assert [i and i.config for i in asked[0]] == [i and i.config for i in asked[1]]
    assert asked[0][4] is None  # the fifth configuration is not asked
    with pytest.warns(DeprecationWarning, match=r"ASHA.n_configs"):
        assert old.n_trials == 4
    with pytest.raises(TypeError, match=r"both n_configs=4 and n_trials=4"):
        ASHA({"x": (0.0, 1.0)}, 1, 9, n_configs=4, n_trials=4)
