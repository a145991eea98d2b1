"""Continuing trials from their checkpoints instead of restarting them (issue 19 part 2), on
learning-curve problems (``ackley-5d-mf-lc``, ``hartmann6-mf-lc``; budgets 1..27, eta 3) with
``SimulatedRunner(n_workers=4)``; "target time" is the simulated seconds summed over the
history (a continuation counts only its increment):

1. Hyperband with ``continuation=True`` against Hyperband restarting promoted configurations,
   same seed (so the same configurations, costs and final regret): the ratio of target times
   over 5 seeds, target <= 0.6 (issue 19), next to the ratio the bracket plan predicts
   (restart: ``n_i * b_i`` per rung; continuation: ``n_i * (b_i - b_{i-1})``);
2. promotion-type ASHA, stopping-type ASHA and Hyperband (with continuation): the target time
   each needs to reach Hyperband's final regret (Hyperband's: its whole iteration), median
   over 5 seeds.

    python -m benchmarks.bench_continuation [--quick]
"""

from __future__ import annotations

import statistics
import sys
from typing import Any

from benchmarks._common import header, parse_args, verdict
from benchmarks.bench_reports import simulated_study
from runner import OptimizationLoop, SimulatedRunner
from runner.optimizers import ASHA, Hyperband
from runner.problems import get

PROBLEMS = ("ackley-5d-mf-lc", "hartmann6-mf-lc")
ASHA_CAP = 5000
"""New configurations an ASHA may start while it looks for Hyperband's regret."""


def plan_ratio(brackets: list[list[tuple[int, float]]]) -> float:
    """Continuation / restart target time the bracket plans predict (runtime linear in budget,
    every configuration equally fast)."""
    restart = continued = 0.0
    for plan in brackets:
        previous = 0.0
        for n, budget in plan:
            restart += n * budget
            continued += n * (budget - previous)
            previous = budget
    return continued / restart


def hyperband_pair(problem: Any, seed: int) -> tuple[float, float, float]:
    """(final regret, target time with continuation, target time restarting); checks that both
    ran the same trials with the same costs."""
    lo, hi = problem.fidelity
    out = {}
    for continuation in (True, False):
        hb = Hyperband(problem.space, min_budget=lo, max_budget=hi, eta=3, seed=seed,
                       continuation=continuation)
        with SimulatedRunner(problem.target, n_workers=4) as runner:
            loop = OptimizationLoop(hb, runner)
            loop.run()
        assert loop.incumbent is not None
        extra = [(i.additional_info, v.cost) for i, v in loop.history]
        trials = sorted((e["bracket"], e["rung"], e["slot"], cost) for e, cost in extra)
        out[continuation] = (loop.incumbent[1].cost - problem.optimum,
                             sum(v.time for _, v in loop.history), trials)
    assert out[True][2] == out[False][2], "continuation changed the trials or their costs"
    assert out[True][0] == out[False][0]
    return out[True][0], out[True][1], out[False][1]


def to_regret(problem: Any, seed: int, goal: float) -> tuple[float, float, float, float]:
    """Target time to reach ``goal`` regret: (promotion ASHA, its regret, stopping ASHA, its
    regret) (a regret above ``goal``: not reached within ASHA_CAP configurations)."""
    lo, hi = problem.fidelity
    figures = []
    for mode in ("promotion", "stopping"):
        asha = ASHA(problem.space, lo, hi, eta=3, seed=seed, n_configs=ASHA_CAP, mode=mode)
        regret, time = simulated_study(asha, problem, goal=goal)
        figures += [time, regret]
    return figures[0], figures[1], figures[2], figures[3]


def main(argv: list[str] | None = None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv)
    print(header("bench_continuation: continue trials from checkpoints, or restart them"))
    seeds = 2 if args.quick else 5
    ratios: list[float] = []
    for name in PROBLEMS:
        problem = get(name)
        lo, hi = problem.fidelity
        predicted = plan_ratio(Hyperband(problem.space, min_budget=lo, max_budget=hi,
                                         eta=3).brackets)
        print(f"\n{name}, 4 virtual workers, one Hyperband iteration (143 trials); the plan "
              f"predicts continuation / restart = {predicted:.3f}\n(ASHA columns: target time "
              f"to Hyperband's final regret, at the full budget; HB's is its whole iteration)")
        print(f"{'seed':>4} {'regret':>8} {'HB cont s':>10} {'HB restart s':>12} {'ratio':>6} "
              f"{'ASHA prom s':>12} {'ASHA stop s':>12}")
        times: dict[str, list[float]] = {"hb": [], "promotion": [], "stopping": []}
        for seed in range(seeds):
            regret, cont, restart = hyperband_pair(problem, seed)
            ratios.append(cont / restart)
            prom, prom_regret, stop, stop_regret = to_regret(problem, seed, regret)
            prom = prom if prom_regret <= regret else float("inf")
            stop = stop if stop_regret <= regret else float("inf")
            times["hb"].append(cont)
            times["promotion"].append(prom)
            times["stopping"].append(stop)
            print(f"{seed:>4} {regret:>8.4f} {cont:>10.1f} {restart:>12.1f} {cont / restart:>6.3f} "
                  f"{prom:>12.1f} {stop:>12.1f}")
            print(f"  {name} seed {seed}: done", file=sys.stderr)
        medians = {k: statistics.median(v) for k, v in times.items()}
        print(f"median target time to Hyperband's final regret: Hyperband {medians['hb']:.1f} s, "
              f"ASHA promotion {medians['promotion']:.1f} s "
              f"({medians['promotion'] / medians['hb']:.2f}x), ASHA stopping "
              f"{medians['stopping']:.1f} s ({medians['stopping'] / medians['hb']:.2f}x)")
    print("\nWith eta = 3 a continuation saves a third of each promoted rung (it skips the budget "
          "of the rung below), never rung 0: no bracket plan goes below 2/3.")
    print(verdict("Hyperband continuation / restart target time, median over problems and "
                  "seeds", statistics.median(ratios), 0.6, higher_is_better=False))


if __name__ == "__main__":
    main()
