"""Resources per trial (docs/resources.md): the scheduling cost of ``trial_resources`` on no-op
trials, and a numpy matmul study on two workers with and without ``{"cpu": 1}``.

    python -m benchmarks.bench_resources [--quick] [--repeats N]
"""

from __future__ import annotations

import os
import statistics
import sys
from collections.abc import Callable
from typing import Any

from benchmarks._common import drive, interleave

N_WORKERS = 2


def noop(config: Any) -> float:
    """A trial that does nothing."""
    return 0.0


def matmul(config: Any) -> float:
    """Three products of two 600x600 matrices (numpy uses every thread it may)."""
    import numpy as np

    rng = np.random.default_rng(config["n"])
    a, b = rng.random((600, 600)), rng.random((600, 600))
    for _ in range(3):
        a = a @ b / 600.0
    return float(a[0, 0])


def _infos(n: int) -> list[Any]:
    from trials import TrialInfo

    return [TrialInfo(config={"n": i}, seed=0) for i in range(n)]


def _run(target: Callable[[Any], float], n: int, **kwargs: Any) -> Callable[[], float]:
    from runner import ProcessPoolRunner

    def once() -> float:
        # a fresh pool each time, as a study starts one: numpy's threads start in the trial
        with ProcessPoolRunner(target, n_workers=N_WORKERS, **kwargs) as runner:
            seconds, _ = drive(runner, _infos(n))
        return n / seconds

    return once


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    repeats = int(argv[argv.index("--repeats") + 1]) if "--repeats" in argv else (3 if quick
                                                                                   else 5)
    cores = sorted(os.sched_getaffinity(0))[:N_WORKERS]
    n = 2000 if quick else 6000
    runs = {
        "no trial_resources": _run(noop, n),
        'trial_resources={"gpu": 1} of 2': _run(noop, n, resources={"gpu": ["0", "1"]},
                                                   trial_resources={"gpu": 1}),
        'trial_resources={"cpu": 1}': _run(noop, n, resources={"cpu": cores},
                                           trial_resources={"cpu": 1}),
    }
    _table("no-op trials/s, 2 workers", interleave(runs, repeats))
    m = 40 if quick else 80
    study = {
        "matmul, no trial_resources": _run(matmul, m),
        'matmul, trial_resources={"cpu": 1}': _run(matmul, m, resources={"cpu": cores},
                                                   trial_resources={"cpu": 1}),
    }
    _table("numpy matmul trials/s, 2 workers", interleave(study, repeats))


def _table(title: str, measured: dict[str, list[float]]) -> None:
    base = statistics.median(next(iter(measured.values())))
    print(f"\n| {title} | median | min | max | vs first |\n| --- | --- | --- | --- | --- |")
    for name, values in measured.items():
        med = statistics.median(values)
        print(f"| {name} | {med:,.1f} | {min(values):,.1f} | {max(values):,.1f} | "
              f"{100 * (med / base - 1):+.1f} % |")


if __name__ == "__main__":
    main(sys.argv[1:])
