"""What ``make run`` runs: a real optimization through ``OptimizationLoop``, with a live
progress display, then a result table.

Two studies of the Branin function (minimum 0.397887 at three points) on
``ProcessPoolRunner(n_workers=2)``, each journaled to a temporary file:

1. ``RandomSearch`` over ``x1 in [-5, 10]``, ``x2 in [0, 15]``, 300 trials, each made to take
   20 ms as if it were a real experiment;
2. ``Hyperband`` on a multi-fidelity Branin whose cost is biased at small budgets and whose run
   time grows with the budget (1 to 27), so the budgets reach the target end to end.

Works on a terminal (live display redrawn in place) and without one (CI, a pipe: the final
state is printed once). Takes about 10 s on 2 cores.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
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


def branin(x1: float, x2: float) -> float:
    """The Branin-Hoo function."""
    b, c = 5.1 / (4 * math.pi**2), 5 / math.pi
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1) + 10


def branin_trial(config: Any) -> float:
    """Branin, taking 20 ms like a (very) small experiment."""
    time.sleep(0.02)
    return branin(config["x1"], config["x2"])


def branin_budget(config: Any, budget: float) -> float:
    """Branin seen through a budget: a bias that vanishes at the full budget, and a run time of
    2 ms per unit of budget."""
    time.sleep(0.002 * budget)
    x1, x2 = config["x1"], config["x2"]
    bias = (1 - budget / MAX_BUDGET) * 8 * math.sin(x1 + x2) ** 2
    return branin(x1, x2) + bias


def study(console: Console, name: str, optimizer: Any, target: Any, folder: str,
          **goals: Any) -> tuple[str, OptimizationLoop, str]:
    """Run one study with a live display; returns its name, loop and journal path."""
    journal = os.path.join(folder, f"{name}.jsonl")
    console.rule(f"[bold]{name}")
    with ProcessPoolRunner(target, n_workers=2) as runner:
        loop = OptimizationLoop(optimizer, runner, journal=journal, retries=1, **goals)
        loop.run(progress=True)
    return name, loop, journal


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
            str(len(loop.history)), str(len(loop.failed)), f"{value.cost:.5f}",
            ", ".join(f"{k}={v:.4f}" for k, v in info.config.items()),
            ", ".join(f"{b:g}" for b in budgets) or "-",
            f"{loop.elapsed_time():.2f} s", f"{loop.overhead():.1f} %",
            f"{len(History.load(journal))} trials",
        ])
    labels = ["trials", "failed", "best cost", "best config", "budgets", "elapsed", "overhead",
              "in the journal"]
    for i, label in enumerate(labels):
        table.add_row(label, *(column[i] for column in columns))
    return table


def timings_table(studies: list[tuple[str, OptimizationLoop, str]]) -> Table:
    table = Table(title="Where the time went (worker shares are of workers x elapsed)")
    table.add_column("")
    for name, _, _ in studies:
        table.add_column(name, justify="right")
    rows = [loop.timings().rows() for _, loop, _ in studies]
    for i, (label, _, _) in enumerate(rows[0]):
        table.add_row(label, *(f"{r[i][1]:.3f} s ({r[i][2]})" for r in rows))
    return table


def main() -> int:
    console = Console()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="trialrunner-demo-") as folder:
        studies = [
            study(console, "random search", RandomSearch(SPACE, seed=1), branin_trial, folder,
                  n_trials_goal=300),
            study(console, "hyperband", Hyperband(SPACE, min_budget=1, max_budget=MAX_BUDGET,
                                                  eta=3, seed=1, n_iterations=2),
                  branin_budget, folder),
        ]
        console.print()
        console.print(results_table(studies))
        console.print(timings_table(studies))
    console.print(f"done in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
