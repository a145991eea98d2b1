"""A suite on one shared pool against the same studies one after another on the same runner
(issue 16's acceptance figures): wall time and worker utilization.

The suite: random search and Hyperband on 4 multi-fidelity problems x 3 seeds (24 studies, 25
trials each), every trial a 20 ms sleep before the problem's cost. Measured twice on this machine:

(a) ``ProcessPoolRunner(n_workers=2)`` (the issue's setting);
(b) ``ThreadPoolRunner(n_workers=8)`` (sleeps share two cores; more workers per study, so more
    idle at each study's end when studies run one after another);
(c) ``ProcessPoolRunner(n_workers=2)`` with trials whose time grows with their budget, as
    multi-fidelity trials' do: 60 ms at the full budget (random search), 6.7/20/60 ms at
    Hyperband's budgets 3/9/27, so a study's last full-budget trial runs alone at its end.

Utilization = total target time / (workers x wall time), as ``OptimizationLoop.overhead`` counts
it. Targets: shared-pool utilization >= 95 %, and one-after-another wall time / shared-pool wall
time >= 1.2.

Run from the repository root: ``.venv/bin/python -m benchmarks.bench_suite`` (about a minute);
``--quick`` for fewer trials.
"""

from __future__ import annotations

import argparse
import functools
import platform
import sys
import tempfile
import time
from collections.abc import Mapping
from typing import Any

from runner import problems
from runner.problems import Problem
from runner.suites import SuiteSpec, make_runner, run_suite

PROBLEMS = ("branin-mf", "hartmann3-mf", "ackley-5d-mf", "levy-5d-mf")
SLEEP = 0.02


def sleep_then(config: Mapping[str, Any], *, budget: float | None = None,
               seed: int | None = None, inner: Any) -> Any:
    """Sleep 20 ms, then the problem's own cost (a short trial that takes real time)."""
    time.sleep(SLEEP)
    return inner(config, budget=budget, seed=seed)


FULL = 0.06


def sleep_by_budget(config: Mapping[str, Any], *, budget: float | None = None,
                    seed: int | None = None, inner: Any, max_budget: float) -> Any:
    """Sleep 60 ms x budget / max_budget (the full budget without one), then the cost."""
    time.sleep(FULL * (1.0 if budget is None else budget / max_budget))
    return inner(config, budget=budget, seed=seed)


def _slow(name: str, scaled: bool = False) -> Problem:
    p = problems.get(name)
    target = (functools.partial(sleep_by_budget, inner=p.target, max_budget=p.fidelity[1])
              if scaled and p.fidelity else functools.partial(sleep_then, inner=p.target))
    return Problem(p.name, p.space, target, optimum=p.optimum, fidelity=p.fidelity,
                   runtime=p.runtime)


branin_mf, hartmann3_mf, ackley_5d_mf, levy_5d_mf = (_slow(n) for n in PROBLEMS)
branin_mf_s, hartmann3_mf_s, ackley_5d_mf_s, levy_5d_mf_s = (_slow(n, True) for n in PROBLEMS)
NAMES = tuple(f"benchmarks.bench_suite:{n.replace('-', '_')}" for n in PROBLEMS)
SCALED = tuple(f"{n}_s" for n in NAMES)


def _spec(names: tuple[str, ...], optimizers: tuple[str, ...], seeds: tuple[int, ...],
          n_trials: int) -> SuiteSpec:
    return SuiteSpec("bench", names, optimizers, seeds, n_trials,
                     optimizer_settings={"hyperband": {"min_budget": 3.0}})


def measure(backend: str, workers: int, n_trials: int, names: tuple[str, ...] = NAMES
            ) -> dict[str, float]:
    """Shared-pool and one-after-another wall time and utilization on one runner."""
    spec = _spec(names, ("random", "hyperband"), (0, 1, 2), n_trials)
    built = {n: spec.problem(n) for n in names}
    runner = make_runner(backend, workers, built)
    try:
        with tempfile.TemporaryDirectory() as out:
            shared = run_suite(spec, runner=runner, out=out, plots=False)
        target = 0.0
        seq_wall = 0.0
        with tempfile.TemporaryDirectory() as out:
            for study in spec.studies():
                one = _spec((study.problem,), (study.optimizer,), (study.seed,), n_trials)
                t0 = time.perf_counter()
                result = run_suite(one, runner=runner, out=out, plots=False)
                seq_wall += time.perf_counter() - t0
                target += result.utilization * result.wall_s * result.workers
    finally:
        runner.close()
    n = len(spec.studies()) * n_trials
    return {"trials": n, "shared_wall": shared.wall_s, "shared_util": shared.utilization,
            "seq_wall": seq_wall, "seq_util": target / (workers * seq_wall),
            "ideal": target / workers}


def main(argv: list[str] | None = None) -> int:
    """Run both settings once and print the figures and verdicts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 trials per study")
    args = parser.parse_args(argv)
    n_trials = 10 if args.quick else 25
    print(f"# bench_suite  python {platform.python_version()}  {platform.machine()}  "
          f"{time.strftime('%Y-%m-%d %H:%M:%S')}")
    print(f"{'setting':<22}{'trials':>7}{'ideal s':>9}{'shared s':>10}{'util':>8}"
          f"{'one-by-one s':>14}{'util':>8}{'speed-up':>10}")
    verdicts = []
    for backend, workers, names, label in (("process", 2, NAMES, ""), ("thread", 8, NAMES, ""),
                                           ("process", 2, SCALED, " by budget")):
        print(f"running {backend} x {workers}{label} ...", file=sys.stderr)
        m = measure(backend, workers, n_trials, names)
        speedup = m["seq_wall"] / m["shared_wall"]
        backend = f"{backend} x {workers}{label}"
        print(f"{backend:<22}{m['trials']:>7.0f}{m['ideal']:>9.2f}"
              f"{m['shared_wall']:>10.2f}{m['shared_util']:>8.1%}{m['seq_wall']:>14.2f}"
              f"{m['seq_util']:>8.1%}{speedup:>9.2f}x")
        verdicts.append(f"{backend}: shared utilization >= 95 %: "
                        f"{'met' if m['shared_util'] >= 0.95 else 'NOT MET'}; "
                        f"speed-up >= 1.2x: {'met' if speedup >= 1.2 else 'NOT MET'}")
    print("\n".join(verdicts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
