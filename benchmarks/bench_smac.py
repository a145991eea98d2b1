"""One SMAC3 optimization three ways (issue 15's acceptance figures): SMAC3's HPO facade with the
same seed, the same trials budget and 2 workers, on a target that sleeps 50 ms, run with

(a) SMAC3's own ``DaskParallelRunner`` (``Scenario(n_workers=2)``: SMAC3 builds its own dask
    cluster and wraps its target-function runner in it),
(b) ``SMACTargetRunner(ProcessPoolRunner(f, n_workers=2))``,
(c) ``SMACTargetRunner(DaskRunner(f, n_workers=2))``.

Printed side by side: wall time of ``optimize()`` (start-up: building the runner and the facade, timed apart), the
trials finished, the seconds SMAC3 spent in its own ``ask`` (the model, which no runner can
shorten) and the rest, worker utilization (target seconds / (2 x wall)) and each row's wall-time
ratio against SMAC3's own runner. The goal: less wall time and higher utilization than SMAC3's runner
for the same trials. Run from the repository root: ``.venv/bin/python -m benchmarks.bench_smac``
(about a minute; ``--trials N`` to change the budget, default 60).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
import warnings
from typing import Any

SLEEP = 0.05
N_WORKERS = 2


def target(config: Any, seed: int = 0) -> float:
    """A 2-D quadratic that takes 50 ms (a sleep: two trials share two cores)."""
    time.sleep(SLEEP)
    return (config["x"] - 1.0) ** 2 + (config["y"] + 2.0) ** 2


def _scenario(n_trials: int, n_workers: int, out: str) -> Any:
    from ConfigSpace import ConfigurationSpace
    from smac import Scenario

    space = ConfigurationSpace({"x": (-5.0, 5.0), "y": (-5.0, 5.0)}, seed=0)
    return Scenario(space, deterministic=True, n_trials=n_trials, seed=7, n_workers=n_workers,
                    output_directory=out)


def _ask_timer() -> Any:
    """A SMAC3 callback summing the seconds SMAC3 spends in ``ask`` (its model: the part of the
    wall time no runner can shorten)."""
    from smac.callback import Callback

    class AskTimer(Callback):  # type: ignore[misc]
        def __init__(self) -> None:
            self.seconds, self._t0 = 0.0, 0.0

        def on_ask_start(self, smbo: Any) -> None:
            self._t0 = time.perf_counter()

        def on_ask_end(self, smbo: Any, info: Any) -> None:
            self.seconds += time.perf_counter() - self._t0

    return AskTimer()


FACADE = "hpo"
"""``hpo``: SMAC3's HyperparameterOptimizationFacade (its random-forest model dominates the wall
time); ``random``: SMAC3's RandomFacade (a cheap ``ask``: the runners' own costs show)."""


def _facade(scenario: Any, target_function: Any, timer: Any) -> Any:
    """The facade (SMAC3 starts its own dask cluster here when ``n_workers > 1``)."""
    import smac

    cls = smac.RandomFacade if FACADE == "random" else smac.HyperparameterOptimizationFacade
    return cls(scenario, target_function, overwrite=True, logging_level=40, callbacks=[timer])


def run(name: str, n_trials: int, out: str) -> dict[str, Any]:
    """One optimization; returns its figures."""
    from runner import DaskRunner, ProcessPoolRunner
    from runner.integrations.smac import SMACTargetRunner

    t0 = time.perf_counter()
    ours: Any = None
    if name == "smac3-dask":
        scenario = _scenario(n_trials, N_WORKERS, out)
        target_function: Any = target
    else:
        scenario = _scenario(n_trials, 1, out)
        ours = (ProcessPoolRunner(target, n_workers=N_WORKERS) if name == "ours-process"
                else DaskRunner(target, n_workers=N_WORKERS))
        target_function = SMACTargetRunner(ours, scenario)
    try:
        timer = _ask_timer()
        smac = _facade(scenario, target_function, timer)
        startup = time.perf_counter() - t0
        t1 = time.perf_counter()
        smac.optimize()
        wall = time.perf_counter() - t1
    finally:
        if ours is not None:
            ours.close()
    runner = smac.optimizer._runner
    if name == "smac3-dask":
        runner.close(force=True)
    values = [v for _, v in smac.runhistory.items()]
    busy = sum(v.time for v in values)
    best = smac.runhistory.get_cost(smac.intensifier.get_incumbent())
    return {"name": name, "trials": smac.runhistory.finished, "wall": wall, "startup": startup,
            "util": busy / (N_WORKERS * wall), "best": best, "ask": timer.seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=60, help="SMAC3's n_trials (default 60)")
    parser.add_argument("--facade", choices=("hpo", "random"), default="hpo",
                        help="hpo: the HPO facade (model-bound); random: RandomFacade")
    args = parser.parse_args(argv)
    global FACADE
    FACADE = args.facade
    logging.getLogger("distributed").setLevel(logging.ERROR)
    warnings.simplefilter("ignore")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("smac3-dask", "ours-process", "ours-dask"):
            print(f"running {name} ...", file=sys.stderr, flush=True)
            rows.append(run(name, args.trials, os.path.join(tmp, name)))
    base = rows[0]
    print(f"SMAC3 {'HPO' if FACADE == 'hpo' else 'Random'} facade, seed 7, n_trials={args.trials}, {N_WORKERS} workers, "
          f"{SLEEP * 1000:.0f} ms trials, {os.cpu_count()} cores")
    print(f"{'runner':<14} {'trials':>6} {'wall s':>8} {'ask s':>7} {'rest s':>7} "
          f"{'start s':>8} {'util':>6} {'wall vs smac3':>14} {'best cost':>10}")
    for r in rows:
        print(f"{r['name']:<14} {r['trials']:>6} {r['wall']:>8.2f} {r['ask']:>7.2f} "
              f"{r['wall'] - r['ask']:>7.2f} {r['startup']:>8.2f} {r['util']:>6.0%} "
              f"{r['wall'] / base['wall']:>13.2f}x {r['best']:>10.4f}")
    print("ask s: SMAC3's own ask() (its model); rest s: the wall time outside it (submit, "
          "waiting for a worker, collecting, tell)")
    for r in rows[1:]:
        verdict = "met" if r["wall"] < base["wall"] and r["util"] > base["util"] else "NOT MET"
        print(f"{r['name']}: wall {base['wall'] / r['wall']:.2f}x faster, utilization "
              f"{r['util']:.0%} vs {base['util']:.0%}: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
