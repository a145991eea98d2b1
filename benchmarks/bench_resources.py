"""Resources per trial (docs/resources.md): the scheduling cost of ``trial_resources`` on no-op
trials, A/B on persistent pools, and a numpy matmul study on two workers with and without
``{"cpu": 1}``.

    python -m benchmarks.bench_resources [--quick] [--rounds N] [--trials N] [--no-study]

**No-op overhead.** One persistent 2-worker pool per variant (none, ``{"gpu": 1}`` of 2 device
ids, ``{"cpu": 1}`` of 2 cores), all started and warmed first; then ``--rounds`` rounds, each
running a batch of ``--trials`` no-op trials on every pool in turn (the order rotating every
round), so a burst of load from elsewhere falls on all variants alike. Each round gives a
*paired* ratio, a variant's wall time over the baseline's in the same round; the table prints
the median ratio with its quartiles and range, µs per trial, and the driver's CPU µs per trial.
The issue's target is a median ratio of at most 1.10.

**The matmul study** starts a fresh pool per run (numpy's BLAS threads start in the trial).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from benchmarks._common import drive, header, interleave

N_WORKERS = 2
TARGET = 1.10
"""No-op throughput with ``trial_resources`` within 10 % of without (issue 30)."""


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


def variants(cores: list[int]) -> dict[str, dict[str, Any]]:
    """The pools compared, by name: the first is the baseline."""
    return {
        "no trial_resources": {},
        'trial_resources={"gpu": 1} of 2': {"resources": {"gpu": ["0", "1"]},
                                            "trial_resources": {"gpu": 1}},
        'trial_resources={"cpu": 1} of 2': {"resources": {"cpu": cores},
                                            "trial_resources": {"cpu": 1}},
    }


def _children() -> set[int]:
    """This process's child pids (Linux; empty elsewhere)."""
    found: set[int] = set()
    try:
        for tid in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{tid}/children") as f:
                found.update(int(p) for p in f.read().split())
    except OSError:
        pass
    return found


def _cpu_seconds(pids: set[int]) -> float:
    """User + system CPU seconds of ``pids`` so far (Linux; 0 elsewhere or once gone)."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / ticks


Measured = dict[str, tuple[list[float], list[float], list[float]]]
"""``{variant: (wall s, driver CPU s, workers' CPU s)}``, one entry per round."""


def noop_ab(kinds: dict[str, dict[str, Any]], rounds: int, trials: int) -> Measured:
    """Wall, driver CPU and workers' CPU seconds per round on persistent pools, alternating,
    the order rotating each round."""
    from runner import ProcessPoolRunner

    pools: dict[str, Any] = {}
    workers: dict[str, set[int]] = {}
    try:
        for name, kw in kinds.items():
            before = _children()
            pools[name] = pool = ProcessPoolRunner(noop, n_workers=N_WORKERS, **kw)
            drive(pool, _infos(min(trials, 500)))  # workers started, imports done, caches warm
            workers[name] = _children() - before
        out: Measured = {n: ([], [], []) for n in pools}
        names = list(pools)
        for r in range(rounds):
            for name in names[r % len(names):] + names[:r % len(names)]:
                batch = _infos(trials)
                cpu0, work0 = time.process_time(), _cpu_seconds(workers[name])
                seconds, _ = drive(pools[name], batch)
                out[name][0].append(seconds)
                out[name][1].append(time.process_time() - cpu0)
                out[name][2].append(_cpu_seconds(workers[name]) - work0)
        return out
    finally:
        for pool in pools.values():
            pool.close()


def _quartiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def noop_table(measured: Measured, trials: int) -> str:
    """Per variant: µs per trial (median, min-max), driver and workers' CPU µs per trial (the
    workers' summed over all rounds: the kernel counts in ticks), and the paired ratio to the
    baseline (median, quartiles, min-max)."""
    base_name = next(iter(measured))
    base = measured[base_name][0]
    lines = ["| pool | wall µs/trial, median (min-max) | driver CPU µs/trial | workers' CPU "
             f"µs/trial | wall ratio to '{base_name}', median [q1, q3] (min-max) |",
             "| --- | --- | --- | --- | --- |"]
    verdicts = []
    for name, (walls, cpus, work) in measured.items():
        per = [1e6 * w / trials for w in walls]
        cpu = (f"{statistics.median(1e6 * c / trials for c in cpus):,.1f} | "
               f"{1e6 * sum(work) / (trials * len(work)):,.1f}")
        if name == base_name:
            ratio = "1 (baseline)"
        else:
            ratios = [w / b for w, b in zip(walls, base, strict=True)]
            q1, q2, q3 = _quartiles(ratios)
            ratio = (f"{q2:.3f} [{q1:.3f}, {q3:.3f}] ({min(ratios):.3f}-{max(ratios):.3f}), "
                     f"{100 * (q2 - 1):+.1f} %")
            verdicts.append(f"{name}: median ratio {q2:.3f} "
                            f"{'<=' if q2 <= TARGET else '>'} {TARGET} "
                            f"({'met' if q2 <= TARGET else 'NOT met'})")
        lines.append(f"| {name} | {statistics.median(per):,.1f} ({min(per):,.1f}-"
                     f"{max(per):,.1f}) | {cpu} | {ratio} |")
    return "\n".join(lines + [""] + verdicts)


def _study(target: Callable[[Any], float], n: int, **kwargs: Any) -> Callable[[], float]:
    from runner import ProcessPoolRunner

    def once() -> float:
        # a fresh pool each time, as a study starts one: numpy's threads start in the trial
        with ProcessPoolRunner(target, n_workers=N_WORKERS, **kwargs) as runner:
            seconds, _ = drive(runner, _infos(n))
        return n / seconds

    return once


def ratio_table(title: str, measured: dict[str, list[float]]) -> str:
    base = statistics.median(next(iter(measured.values())))
    lines = [f"| {title} | median | min | max | vs first |", "| --- | --- | --- | --- | --- |"]
    for name, values in measured.items():
        med = statistics.median(values)
        lines.append(f"| {name} | {med:,.1f} | {min(values):,.1f} | {max(values):,.1f} | "
                     f"{100 * (med / base - 1):+.1f} % |")
    return "\n".join(lines)


def _option(argv: list[str], name: str, default: int) -> int:
    if name not in argv:
        return default
    try:
        value = int(argv[argv.index(name) + 1])
    except (IndexError, ValueError):
        raise SystemExit(f"{name} takes a whole number >= 1") from None
    if value < 1:
        raise SystemExit(f"{name} takes a whole number >= 1, got {value}")
    return value


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    rounds = _option(argv, "--rounds", 15 if quick else 40)
    trials = _option(argv, "--trials", 500 if quick else 1000)
    cores = sorted(os.sched_getaffinity(0))[:N_WORKERS]
    print(header(f"Resources per trial: no-op scheduling overhead, {N_WORKERS} workers, "
                 f"{rounds} alternating rounds of {trials:,} trials on persistent pools"))
    print()
    print(noop_table(noop_ab(variants(cores), rounds, trials), trials))
    if "--no-study" in argv:
        return
    m = 40 if quick else 80
    study = {
        "matmul, no trial_resources": _study(matmul, m),
        'matmul, trial_resources={"cpu": 1}': _study(matmul, m, resources={"cpu": cores},
                                                     trial_resources={"cpu": 1}),
    }
    print()
    print(ratio_table("numpy matmul trials/s, 2 workers, fresh pools",
                       interleave(study, 3 if quick else 5)))


if __name__ == "__main__":
    main(sys.argv[1:])
