"""ASHA against our Hyperband on a real learning curve (issue 19): ``mlp-digits-lc``, an MLP
trained epoch by epoch (budgets 1..27 epochs, eta 3), on ``ProcessPoolRunner(n_workers=2)``
in real time. "Target time" is the measured seconds summed over the history
(``TrialValue.time``; a continuation counts only its own time). The optimum is unknown, so the
figure of merit is the best validation error at the full budget (27 epochs, SUCCESS).

Per seed:

1. Hyperband, one iteration (143 trials), restarting promoted configurations (the default) and
   with ``continuation=True``: its final best full-budget error, both target times and their
   ratio (the same trials and costs: the problem continues exactly);
2. ASHA of the stopping type and of the promotion type (continuing from checkpoints), each
   until a full-budget trial reaches Hyperband's error, or until it has used 4x Hyperband's
   (restarting) target time (then: not reached). Target (issue 19): median ASHA / Hyperband
   target time <= 0.5.

    python -m benchmarks.bench_asha_real [--quick]
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from benchmarks._common import header, parse_args, verdict
from runner import OptimizationLoop, ProcessPoolRunner
from runner.optimizers import ASHA, Hyperband
from runner.problems import get
from trials import StatusType, TrialInfo

PROBLEM = "mlp-digits-lc"
CAP = 4.0
"""ASHA may use this many times Hyperband's target time before the seed counts as not reached."""
INF = float("inf")


def full_budget_best(history: Any, max_budget: float) -> float:
    """The best cost of a SUCCESS trial at ``max_budget`` (inf when there is none)."""
    return min((v.cost for i, v in history
                if i.budget == max_budget and v.status is StatusType.SUCCESS), default=INF)




def target_time(history: Any) -> float:
    return sum(v.time for _, v in history)


class _Warm:
    """Asks a few one-epoch trials, so both workers have imported scikit-learn and loaded the
    data before anything is timed."""

    def __init__(self, space: Any) -> None:
        config = {"hidden_units": 16, "learning_rate_init": 0.01, "alpha": 1e-4, "batch_size": 64}
        self.todo = [TrialInfo(config, budget=1, seed=k) for k in range(4)]

    def ask(self) -> TrialInfo | None:
        return self.todo.pop() if self.todo else None

    def tell(self, info: TrialInfo, value: Any) -> None:
        pass


def study(runner: Any, optimizer: Any, max_budget: float,
          goal: Callable[[Any], bool] | None = None) -> Any:
    """Run ``optimizer`` on ``runner`` (until ``goal``, if given); its history."""
    loop = OptimizationLoop(optimizer, runner, goal=goal)
    loop.run()
    return loop.history


def hyperband(runner: Any, problem: Any, seed: int) -> tuple[float, float, float, bool]:
    """(final best error, target time restarting, with continuation, same trials and costs)."""
    lo, hi = problem.fidelity
    out = {}
    for continuation in (False, True):
        hb = Hyperband(problem.space, min_budget=lo, max_budget=hi, eta=3, seed=seed,
                       continuation=continuation)
        history = study(runner, hb, hi)
        trials = sorted((i.additional_info["bracket"], i.additional_info["rung"],
                         i.additional_info["slot"], v.cost) for i, v in history)
        out[continuation] = (full_budget_best(history, hi), target_time(history), trials)
    same = out[True][2] == out[False][2]
    return out[False][0], out[False][1], out[True][1], same


def asha_to(runner: Any, problem: Any, seed: int, mode: str, error: float,
            cap: float) -> tuple[float, float]:
    """(target time, best full-budget error) of ASHA of ``mode`` run until a full-budget trial
    reaches ``error`` or its target time reaches ``cap`` seconds (trials running then finish
    and count)."""
    lo, hi = problem.fidelity

    def reached(loop: Any) -> bool:
        return full_budget_best(loop.history, hi) <= error or target_time(loop.history) >= cap

    asha = ASHA(problem.space, lo, hi, eta=3, seed=seed, n_configs=5000, mode=mode)
    history = study(runner, asha, hi, goal=reached)
    return target_time(history), full_budget_best(history, hi)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv)
    print(header(f"bench_asha_real: ASHA vs Hyperband on {PROBLEM}, real time, 2 workers"))
    problem = get(PROBLEM)
    seeds = 2 if args.quick else 5
    started = time.perf_counter()
    ratios: dict[str, list[float]] = {"stopping": [], "promotion": [], "continuation": []}
    print(f"\n{'seed':>4} {'HB error':>9} {'HB s':>6} {'HB cont s':>9} {'cont/rst':>8} "
          f"{'ASHA stop s':>11} {'error':>7} {'ratio':>6} {'ASHA prom s':>11} {'error':>7} "
          f"{'ratio':>6}")
    with ProcessPoolRunner(problem.target, n_workers=2) as runner:
        study(runner, _Warm(problem.space), problem.fidelity[1])
        for seed in range(seeds):
            error, hb_time, cont_time, same = hyperband(runner, problem, seed)
            ratios["continuation"].append(cont_time / hb_time)
            cells = []
            for mode in ("stopping", "promotion"):
                used, best = asha_to(runner, problem, seed, mode, error, CAP * hb_time)
                ratio = used / hb_time if best <= error else INF
                ratios[mode].append(ratio)
                cells.append(f"{used:>11.2f} {best:>7.4f} {ratio:>6.2f}")
            print(f"{seed:>4} {error:>9.4f} {hb_time:>6.2f} {cont_time:>9.2f} "
                  f"{cont_time / hb_time:>8.3f} {cells[0]} {cells[1]}"
                  + ("" if same else "  (continuation changed trials or costs!)"), flush=True)
            print(f"  seed {seed}: done", file=sys.stderr)
    print(f"\n(times: target seconds; ratio: ASHA / Hyperband restarting; inf: Hyperband's error "
          f"not reached within {CAP:g}x its target time; {time.perf_counter() - started:.0f} s "
          f"wall in all)")
    median = {k: statistics.median(v) for k, v in ratios.items()}
    print(verdict("ASHA (stopping) / Hyperband target time to Hyperband's error, median",
                  median["stopping"], 0.5, higher_is_better=False))
    print(verdict("ASHA (promotion) / Hyperband target time to Hyperband's error, median",
                  median["promotion"], 0.5, higher_is_better=False))
    print(verdict("Hyperband continuation / restart target time, median", median["continuation"],
                  0.6, higher_is_better=False))


if __name__ == "__main__":
    main()
