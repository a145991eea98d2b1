"""What ``make run`` runs: a real optimization through ``OptimizationLoop``, with a live
progress display, then a result table.

Two studies of the Branin function (minimum 0.397887 at three points) seen through a budget
(1 to 27: a bias that vanishes at the full budget, and a run time of 2 ms per unit of budget), on
``ProcessPoolRunner(n_workers=2)``, each journaled to ``runs/demo/<study>.jsonl`` (git-ignored,
replaced on every run, kept afterwards for ``trials.History.load``):

1. ``Hyperband`` over ``x1 in [-5, 10]``, ``x2 in [0, 15]``, budgets 1, 3, 9 and 27;
2. ``RandomSearch`` over the same space at the full budget, given the same compute: as many
   full-budget trials as Hyperband's budgets add up to (``--trials N`` to choose).

So the table compares the two at equal compute, the way multi-fidelity methods are meant to be
compared (row ``compute``), and says under it what each one is good at. Works on a terminal
(live display redrawn in place) and without one (CI, a pipe: the final state is printed once).
Takes about 5 s on 2 cores.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from typing import Any

from rich.console import Console
from rich.table import Table

from runner import OptimizationLoop, ProcessPoolRunner
from runner.optimizers import Hyperband, RandomSearch
from trials import History

SPACE = {"x1": (-5.0, 10.0), "x2": (0.0, 15.0)}
BRANIN_MIN = 0.397887
MAX_BUDGET = 27.0
SEED = 0
FOLDER = os.path.join("runs", "demo")
"""Where the journals go, relative to the working directory (``make run``: the repository)."""


def branin(x1: float, x2: float) -> float:
    """The Branin-Hoo function."""
    b, c = 5.1 / (4 * math.pi**2), 5 / math.pi
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1) + 10


def branin_budget(config: Any, budget: float) -> float:
    """Branin seen through a budget: a bias that vanishes at the full budget, and a run time of
    2 ms per unit of budget (a full-budget trial takes 54 ms, like a (very) small experiment)."""
    time.sleep(0.002 * budget)
    x1, x2 = config["x1"], config["x2"]
    bias = (1 - budget / MAX_BUDGET) * 8 * math.sin(x1 + x2) ** 2
    return branin(x1, x2) + bias


def study(console: Console, name: str, optimizer: Any, target: Any, folder: str,
          **goals: Any) -> tuple[str, OptimizationLoop, str]:
    """Run one study from scratch with a live display; returns its name, loop and journal."""
    slug = name.replace(" ", "-")
    journal = os.path.join(folder, f"{slug}.jsonl")
    if os.path.exists(journal):
        os.remove(journal)  # the demo starts over; its previous journal is replaced
    console.rule(f"[bold]{name}")
    with ProcessPoolRunner(target, n_workers=2) as runner:
        loop = OptimizationLoop(optimizer, runner, journal=journal, retries=1,
                                study=f"demo-{slug}", **goals)
        loop.run(progress=True)
    return name, loop, journal


def best_cost(info: Any, value: Any) -> str:
    """The incumbent's cost, with the budget it was measured at (a multi-fidelity cost is only
    comparable at its budget)."""
    budget = "" if info.budget is None else f" at budget {info.budget:g}"
    return f"{value.cost:.5f}{budget}"


def compute(loop: OptimizationLoop) -> float:
    """The compute a study spent, in full-budget trials: its trials' budgets added up, over the
    full budget (what a multi-fidelity method is compared by)."""
    spent = sum(MAX_BUDGET if i.budget is None else i.budget for i, _ in loop.history)
    return spent / MAX_BUDGET


def results_table(studies: list[tuple[str, OptimizationLoop, str]]) -> Table:
    """One column per study, one row per figure (fits 80 columns, for CI logs)."""
    table = Table(title=f"Branin (minimum {BRANIN_MIN})")
    table.add_column("")
    for name, _, _ in studies:
        table.add_column(name, justify="right")
    columns = []
    for _, loop, journal in studies:
        best = loop.incumbent
        assert best is not None
        info, value = best
        budgets = sorted({i.budget for i, _ in loop.history if i.budget is not None})
        columns.append([
            str(len(loop.history)), str(len(loop.failed)), best_cost(info, value),
            ", ".join(f"{k}={v:.4f}" for k, v in info.config.items()),
            ", ".join(f"{b:g}" for b in budgets) or "-",
            f"{compute(loop):.1f}",
            f"{loop.elapsed_time():.2f} s", f"{loop.overhead():.1f} %",
            f"{len(History.load(journal))} trials",
        ])
    labels = ["trials", "failed", "best cost", "best config", "budgets",
              "compute (full-budget trials)", "elapsed", "overhead", "in the journal"]
    for i, label in enumerate(labels):
        table.add_row(label, *(column[i] for column in columns))
    return table


TIMING_ROWS = [
    # (label, Timings field, share of: "elapsed" for the driver, "capacity" for the workers)
    ("optimizer ask/tell [% of elapsed]", "optimizer", "elapsed"),
    ("journal [% of elapsed]", "journal", "elapsed"),
    ("queue & start-up [% of worker time]", "queue_wait", "capacity"),
    ("target [% of worker time]", "target", "capacity"),
    ("transfer back [% of worker time]", "transfer", "capacity"),
    ("workers idle [% of worker time]", "idle", "capacity"),
]


def timings_table(studies: list[tuple[str, OptimizationLoop, str]]) -> Table:
    """Seconds and shares; each row says what its share is of (the driver's time is elapsed
    time, the workers' is workers x elapsed), so no column mixes the two."""
    table = Table(title="Where the time went (worker time = workers x elapsed)")
    table.add_column("")
    for name, _, _ in studies:
        table.add_column(name, justify="right")
    timings = [loop.timings() for _, loop, _ in studies]

    def cell(t: Any, field: str, basis: str) -> str:
        seconds = getattr(t, field)
        whole = t.elapsed if basis == "elapsed" else t.capacity
        share = f"{100 * seconds / whole:.1f}%" if whole > 0 else "-"
        return f"{seconds:.3f} s ({share})"

    for label, field, basis in TIMING_ROWS:
        table.add_row(label, *(cell(t, field, basis) for t in timings))
    return table


def explanation(studies: list[tuple[str, OptimizationLoop, str]]) -> list[str]:
    """What the table shows and what each optimizer is good at (lines of at most 80 columns)."""
    (_, hyperband, _), (_, random, _) = studies
    best = {name: loop.incumbent[1].cost for name, loop, _ in studies if loop.incumbent}
    if len(best) == 2:
        low, high = sorted(best, key=lambda name: best[name])
        verdict = f"The lower best cost: {low}'s, {best[low]:.3f} against {best[high]:.3f}."
    else:
        verdict = "Not both studies found a cost."
    return [
        f"At equal compute: random search ran {len(random.history)} full-budget trials,"
        f" Hyperband {len(hyperband.history)}",
        f"  trials whose budgets add up to {compute(hyperband):.1f} full ones.",
        verdict,
        "Hyperband screens many configurations at small budgets and gives the full budget",
        "  only to the best: it wins when a small budget already ranks them well.",
        "Random search pays the full budget for every configuration, but needs no budget,",
        "  keeps every worker busy and is the baseline any optimizer must beat.",
    ]


def main(argv: list[str] | None = None, console: Console | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.demo", description=__doc__)
    parser.add_argument("--folder", default=FOLDER, help=f"where the journals go ({FOLDER})")
    parser.add_argument("--trials", type=int, default=None,
                        help="random-search trials (default: Hyperband's compute in full-budget"
                             " trials)")
    parser.add_argument("--iterations", type=int, default=2, help="Hyperband iterations (2)")
    args = parser.parse_args(argv)
    console = console or Console()
    started = time.perf_counter()
    os.makedirs(args.folder, exist_ok=True)
    hyperband = study(console, "hyperband",
                      Hyperband(SPACE, min_budget=1, max_budget=MAX_BUDGET, eta=3, seed=SEED,
                                n_iterations=args.iterations),
                      branin_budget, args.folder)
    n_random = args.trials if args.trials is not None else max(1, round(compute(hyperband[1])))
    random = study(console, "random search",
                   RandomSearch(SPACE, seed=SEED, budget=MAX_BUDGET), branin_budget, args.folder,
                   n_trials_goal=n_random)
    studies = [hyperband, random]
    console.print()
    console.print(results_table(studies))
    for line in explanation(studies):
        console.print(line)
    console.print(timings_table(studies))
    console.print(f"done in {time.perf_counter() - started:.1f} s")
    console.print("journals kept in " + ", ".join(journal for _, _, journal in studies))
    return 0


if __name__ == "__main__":
    sys.exit(main())
