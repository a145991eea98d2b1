"""The optimization loop's own costs (issue 4's acceptance figures), in one run:

(a) ``overhead()`` with ``ProcessPoolRunner(n_workers=2)``, a target sleeping 50 ms, 200 trials
    (target: under 5 %), with the ``timings()`` split of where the rest went;
(b) µs per trial of the whole loop with a no-op target on ``SerialRunner`` at 1,000 and 100,000
    trials, and their ratio (target: under 1.3: the per-trial cost stays flat as history grows);
    the runner alone (``submit_trial`` + ``iter_results``, no loop) is timed too, so the loop's
    own share shows;
(c) the memory the history of 100,000 trials holds (``tracemalloc``; target: under 200 MB).

Run from the repository root: ``.venv/bin/python -m benchmarks.bench_loop`` (about a minute and a half);
``--quick`` for a smoke run with smaller sizes (rough figures). Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from typing import Any

from runner import OptimizationLoop, ProcessPoolRunner, SerialRunner
from trials import TrialInfo, TrialValue


def noop(config: Any) -> float:
    """Returns at once: what is timed is the loop and the runner."""
    return 0.0


def sleep_50ms(config: Any) -> float:
    """A 50 ms trial (a sleep, so two share two cores without contention)."""
    time.sleep(0.05)
    return 0.0


class Counter:
    """The cheapest optimizer: a fresh one-parameter trial per ask, learns nothing."""

    def __init__(self) -> None:
        self.i = 0

    def ask(self) -> TrialInfo:
        self.i += 1
        return TrialInfo({"i": self.i})

    def tell(self, info: TrialInfo, value: TrialValue) -> None:
        pass


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def loop_seconds(n: int) -> float:
    """Wall seconds of a loop of ``n`` no-op trials on SerialRunner."""
    loop = OptimizationLoop(Counter(), SerialRunner(noop), n_trials_goal=n)
    t0 = time.perf_counter()
    loop.run()
    took = time.perf_counter() - t0
    assert len(loop.history) == n
    return took


def runner_seconds(n: int) -> float:
    """The runner alone: submit, collect, keep the pairs (what the loop adds nothing to)."""
    runner = SerialRunner(noop)
    kept: list[tuple[TrialInfo, TrialValue]] = []
    opt = Counter()
    t0 = time.perf_counter()
    for _ in range(n):
        runner.submit_trial(opt.ask())
        kept.extend(runner.iter_results())
    return time.perf_counter() - t0


def median_us(run: Callable[[int], float], n: int, repeats: int) -> float:
    run(min(n, 1000))  # warm-up
    times = []
    for _ in range(repeats):
        gc.collect()
        times.append(run(n))
    return statistics.median(times) / n * 1e6


def overhead(n: int, repeats: int) -> list[tuple[float, Any]]:
    results = []
    with ProcessPoolRunner(sleep_50ms, n_workers=2) as runner:
        for r in range(repeats):
            loop = OptimizationLoop(Counter(), runner, n_trials_goal=n)
            loop.run()
            results.append((loop.overhead(), loop.timings()))
            log(f"  (a) run {r + 1}: overhead {loop.overhead():.2f} %")
    return results


def history_megabytes(n: int) -> float:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    loop = OptimizationLoop(Counter(), SerialRunner(noop), n_trials_goal=n)
    loop.run()
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert len(loop.history) == n
    return (after - before) / 2**20


def header() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"bench_loop  {_dt.datetime.now():%Y-%m-%d %H:%M}  Python {platform.python_version()}"
            f"  {platform.machine()}  {os.cpu_count()} cores  load {load:.2f}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, rough figures")
    args = parser.parse_args(argv)
    small, large = 1_000, (10_000 if args.quick else 100_000)
    n_over, rep_over = (60, 1) if args.quick else (200, 3)
    print(header())

    log(f"(a) overhead: 2 process workers, 50 ms target, {n_over} trials x {rep_over}")
    runs = overhead(n_over, rep_over)
    best = sorted(runs, key=lambda r: r[0])[len(runs) // 2]
    log(f"(b) µs/trial: no-op target, SerialRunner, {small:,} and {large:,} trials")
    loop_small = median_us(loop_seconds, small, 21)
    loop_large = median_us(loop_seconds, large, 3)
    raw_small = median_us(runner_seconds, small, 21)
    raw_large = median_us(runner_seconds, large, 3)
    log(f"(c) memory: history of {large:,} trials (tracemalloc)")
    megabytes = history_megabytes(large)

    ratio = loop_large / loop_small
    rows = [
        (f"(a) overhead(), 2 workers, 50 ms, {n_over} trials (median of {rep_over})",
         f"{best[0]:.2f} %", "< 5 %", best[0] < 5),
        (f"(b) loop µs/trial at {small:,}", f"{loop_small:.1f}", "", None),
        (f"(b) loop µs/trial at {large:,}", f"{loop_large:.1f}", "", None),
        (f"(b) ratio {large:,} / {small:,}", f"{ratio:.2f}", "< 1.3", ratio < 1.3),
        (f"(b) runner alone µs/trial at {small:,} / {large:,}",
         f"{raw_small:.1f} / {raw_large:.1f}", "", None),
        (f"(b) the loop's own µs/trial at {small:,} / {large:,}",
         f"{loop_small - raw_small:.1f} / {loop_large - raw_large:.1f}", "", None),
        (f"(c) history of {large:,} trials", f"{megabytes:.1f} MB", "< 200 MB",
         megabytes < 200),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>14}  {'target':>8}  verdict")
    for name, value, target, ok in rows:
        verdict = "" if ok is None else ("met" if ok else "NOT MET")
        print(f"{name:<{width}}  {value:>14}  {target:>8}  {verdict}")
    print()
    print("where the time went in (a) (worker shares are of workers x elapsed):")
    for name, seconds, share in best[1].rows():
        print(f"  {name:<24} {seconds:8.3f} s  {share:>6}")
    print(f"  {'elapsed':<24} {best[1].elapsed:8.3f} s  workers {best[1].workers}")
    return 0 if all(ok is not False for *_, ok in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
