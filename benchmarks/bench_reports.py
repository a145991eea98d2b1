"""Intermediate reports and early stopping (issue 19), three figures:

1. what one ``report()`` call costs a target on ``ProcessPoolRunner`` (a frame to the driver and
   a look for a decision), target <= 100 µs; and with ``wait_for_decisions=True`` (the report
   returns once the loop decided on it), on the process pool and on dask (one worker of its
   own ``LocalCluster``): no target, a figure to document;
2. from a stop decision to the trial's end, a target reporting every 10 ms, on the process
   pool, target <= 50 ms (median of the repetitions; the maximum is printed too); and, through
   ``OptimizationLoop``, the step such a trial ends at when its optimizer stops it at step 5
   (target: 5, never more than one step late);
3. ASHA against our Hyperband on ``ackley-5d-mf-lc`` (learning curves, simulated runner, 4
   virtual workers): the target time (simulated seconds summed over trials) ASHA needs to
   reach the final regret of one Hyperband iteration, over 5 seeds; target: the median ratio
   <= 0.5. The same against 3 Hyperband iterations, whose final regret depends less on one
   lucky draw.

    python -m benchmarks.bench_reports [--quick] [--repeats N]
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from benchmarks._common import header, parse_args, verdict
from benchmarks._report_targets import report_every_10ms, report_many
from runner import OptimizationLoop, ProcessPoolRunner, SimulatedRunner
from runner.optimizers import ASHA, Hyperband
from runner.problems import get
from trials import StatusType, TrialInfo


class _Once:
    """Asks one trial of ``config``; takes every report, never stops."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config, self.value, self.asked = config, None, False

    def ask(self) -> TrialInfo | None:
        if self.asked:
            return None
        self.asked = True
        return TrialInfo(self.config)

    def tell(self, info: TrialInfo, value: Any) -> None:
        self.value = value

    def on_report(self, info: TrialInfo, report: Any) -> str:
        return "continue"


def report_cost(repeats: int, n: int, wait: bool = False,
                make: Callable[[], Any] = lambda: ProcessPoolRunner(report_many, n_workers=1)
                ) -> float:
    """Median µs per report() call inside the target, the loop draining the reports (and
    deciding on each before the call returns, with ``wait``)."""
    figures: list[float] = []
    with make() as runner:
        for _ in range(repeats + 1):  # the first is a warm-up
            opt = _Once({"n": n})
            OptimizationLoop(opt, runner, wait_for_decisions=wait).run()
            assert opt.value is not None and opt.value.status is StatusType.SUCCESS, opt.value
            figures.append(opt.value.additional_info["us_per_report"])
    return statistics.median(figures[1:])


def dask_waited_report_cost(repeats: int, n: int, wait: bool = True) -> float | None:
    """`report_cost` on a ``DaskRunner`` with one worker of its own; ``None`` without dask."""
    try:
        from runner import DaskRunner
    except ImportError:
        return None
    return report_cost(repeats, n, wait, lambda: DaskRunner(report_many, n_workers=1))


def stop_latency(repeats: int) -> tuple[float, float]:
    """Median and maximum seconds from decide(stop) to the trial's result being collected."""
    figures = []
    with ProcessPoolRunner(report_every_10ms, n_workers=1) as runner:
        for _ in range(repeats + 1):
            info = TrialInfo({})
            runner.submit_trial(info)
            decided = None
            while True:
                for got, report in runner.iter_reports():
                    if report.step == 5 and decided is None:
                        decided = time.perf_counter()
                        runner.decide(got, "stop")
                results = list(runner.iter_results())
                if results:
                    assert decided is not None
                    figures.append(time.perf_counter() - decided)
                    assert results[0][1].status is StatusType.STOPPED, results
                    break
                runner.wait(1.0)
    return statistics.median(figures[1:]), max(figures[1:])


class _StopsAtFive:
    """Asks ``n`` trials of the 10 ms reporter, one after another; stops each at step 5."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.steps: list[int] = []

    def ask(self) -> TrialInfo | None:
        self.n -= 1
        return TrialInfo({}) if self.n >= 0 else None

    def tell(self, info: TrialInfo, value: Any) -> None:
        assert value.status is StatusType.STOPPED, value
        self.steps.append(value.additional_info["stopped_at_step"])

    def on_report(self, info: TrialInfo, report: Any) -> str:
        return "stop" if report.step >= 5 else "continue"


def loop_stop_steps(repeats: int) -> list[int]:
    """The step each of ``repeats`` trials ended at, stopped by the loop's optimizer at step 5."""
    optimizer = _StopsAtFive(repeats)
    with ProcessPoolRunner(report_every_10ms, n_workers=1) as runner:
        OptimizationLoop(optimizer, runner).run()
    return optimizer.steps


def simulated_study(optimizer: Any, problem: Any, goal: float | None = None) -> tuple[float, float]:
    """(regret of the incumbent, simulated target seconds summed over trials): ``optimizer`` on
    ``problem``'s target, ``SimulatedRunner`` with 4 workers, until an incumbent at the full
    budget is within ``goal`` regret, if given (a low-budget cost does not count)."""
    def reached(loop: Any) -> bool:
        return goal is not None and loop.incumbent is not None and \
            loop.incumbent[0].budget >= problem.fidelity[1] and \
            loop.incumbent[1].cost - problem.optimum <= goal

    with SimulatedRunner(problem.target, n_workers=4) as runner:
        loop = OptimizationLoop(optimizer, runner, goal=reached if goal is not None else None)
        loop.run()
    assert loop.incumbent is not None
    return loop.incumbent[1].cost - problem.optimum, sum(v.time for _, v in loop.history)


def asha_vs_hyperband(seeds: int, n_iterations: int = 1
                      ) -> list[tuple[int, float, float, float, float]]:
    """Per seed: (seed, Hyperband regret, Hyperband time, ASHA regret, ASHA time), Hyperband run
    for ``n_iterations`` iterations and ASHA until it reaches Hyperband's final regret."""
    problem = get("ackley-5d-mf-lc")
    assert problem.fidelity is not None
    lo, hi = problem.fidelity
    rows = []
    for seed in range(seeds):
        hb = Hyperband(problem.space, min_budget=lo, max_budget=hi, eta=3, seed=seed,
                       n_iterations=n_iterations)
        hb_regret, hb_time = simulated_study(hb, problem)
        asha = ASHA(problem.space, lo, hi, eta=3, seed=seed, n_configs=5000)
        asha_regret, asha_time = simulated_study(asha, problem, goal=hb_regret)
        rows.append((seed, hb_regret, hb_time, asha_regret, asha_time))
        print(f"  {n_iterations} Hyperband iteration(s), seed {seed}: done", file=sys.stderr)
    return rows


def print_asha_table(title: str, rows: list[tuple[int, float, float, float, float]]) -> float:
    """Prints one ASHA-vs-Hyperband table; returns the median ratio of target times."""
    print(f"\n{title}")
    print(f"{'seed':>4} {'HB regret':>10} {'HB time s':>10} {'ASHA regret':>12} "
          f"{'ASHA time s':>12} {'ratio':>6}")
    ratios = []
    for seed, hb_r, hb_t, a_r, a_t in rows:
        ratio = a_t / hb_t if a_r <= hb_r else float("inf")
        ratios.append(ratio)
        print(f"{seed:>4} {hb_r:>10.4f} {hb_t:>10.1f} {a_r:>12.4f} {a_t:>12.1f} {ratio:>6.2f}")
    return statistics.median(ratios)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv)
    print(header("bench_reports: intermediate reports and early stopping"))
    n = 2000 if args.quick else 20000
    per_call = report_cost(args.repeats, n)
    print(f"\nreport() on ProcessPoolRunner: {per_call:.1f} µs per call "
          f"(median of {args.repeats} trials of {n} calls)")
    waited = report_cost(args.repeats, n // 10, wait=True)
    print(f"report() on ProcessPoolRunner, wait_for_decisions=True: {waited:.1f} µs per call")
    on_dask = dask_waited_report_cost(args.repeats, 50 if args.quick else 200)
    if on_dask is not None:
        print(f"report() on DaskRunner (1 worker), wait_for_decisions=True: "
              f"{on_dask / 1000:.2f} ms per call; not waiting: "
              f"{dask_waited_report_cost(args.repeats, 2000, wait=False) or 0:.1f} µs per call")
    median, worst = stop_latency(args.repeats)
    print(f"stop decision -> trial ended (reports every 10 ms): median {median * 1e3:.1f} ms, "
          f"max {worst * 1e3:.1f} ms over {args.repeats} trials")
    steps = loop_stop_steps(max(args.repeats, 20))
    counts = {s: steps.count(s) for s in sorted(set(steps))}
    print(f"through OptimizationLoop, stopped at step 5: ended at step(s) {counts} over "
          f"{len(steps)} trials")
    seeds = 2 if args.quick else 5
    one = print_asha_table("ackley-5d-mf-lc, 4 virtual workers: target time to the final regret "
                           "of one Hyperband iteration", asha_vs_hyperband(seeds))
    three = print_asha_table("the same, Hyperband run for 3 iterations",
                             asha_vs_hyperband(seeds, n_iterations=3))
    print()
    print(verdict("report() per call", per_call, 100.0, unit="µs", higher_is_better=False))
    print(verdict("stop -> end, median", median * 1e3, 50.0, unit="ms", higher_is_better=False))
    print(verdict("loop: steps late, at most", max(steps) - 5, 1, unit="",
                  higher_is_better=False))
    print(verdict("ASHA / Hyperband target time, median", one, 0.5, higher_is_better=False))
    print(verdict("ASHA / Hyperband (3 iterations) target time, median", three, 0.5,
                  higher_is_better=False))


if __name__ == "__main__":
    main()
