"""Per-trial overhead of ``SerialRunner`` against a plain function call and SMAC3's
``TargetFunctionRunner``, without limits and with a wall-time limit.

Every runner is fed the way SMAC3's loop feeds a serial runner: ``submit_trial(info)`` (which
evaluates the trial before it returns), then ``iter_results()``, one trial at a time. The target
returns at once, so what is timed is the runner. Both runners get the same ConfigSpace
``Configuration`` objects and seeds; the ``TrialInfo`` objects are built before timing starts.

    python -m benchmarks.bench_serial [--quick] [--repeats N]
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Sequence
from typing import Any

from benchmarks._common import Table, header, interleave, noop, parse_args, verdict

SEED = 0
SMAC_PLAIN = "SMAC3 TargetFunctionRunner"
SMAC_LIMITED = "SMAC3 TargetFunctionRunner, walltime 10"
OURS_LIMITED = "SerialRunner, walltime_limit=10"


def _space() -> Any:
    from ConfigSpace import ConfigurationSpace, Float, Integer

    space = ConfigurationSpace(seed=0)
    space.add([Float("x", (0.0, 1.0)), Integer("n", (1, 100))])
    return space


def _configs(n: int) -> list[Any]:
    return list(_space().sample_configuration(n))


def _smac_runner(n: int, walltime_limit: float | None) -> Any:
    from smac import Scenario
    from smac.runner import TargetFunctionRunner

    scenario = Scenario(_space(), deterministic=True, n_trials=n,
                        trial_walltime_limit=walltime_limit)
    return TargetFunctionRunner(scenario, noop, required_arguments=["seed"])


def _time_runner(runner: Any, trials: Sequence[Any]) -> float:
    """submit_trial + iter_results per trial, as SMAC3's loop drives a serial runner."""
    t0 = time.perf_counter()
    for info in trials:
        runner.submit_trial(info)
        for _, value in runner.iter_results():
            if value.status.name != "SUCCESS":
                raise RuntimeError(f"trial ended {value.status.name}: {value.additional_info}")
    return time.perf_counter() - t0


def _time_plain(configs: Sequence[Any]) -> float:
    t0 = time.perf_counter()
    for config in configs:
        noop(config, seed=SEED)
    return time.perf_counter() - t0


def bench_no_limits(n: int, repeats: int) -> Table:
    """The in-process path: what the runner adds around a call."""
    from smac.runhistory import TrialInfo as SmacTrialInfo

    from runner import SerialRunner
    from trials import TrialInfo

    configs = _configs(n)
    ours = [TrialInfo(config=c, seed=SEED) for c in configs]
    n_smac = max(100, n // 10)  # SMAC3 is slower: fewer trials give a steady figure
    theirs = [SmacTrialInfo(config=c, seed=SEED) for c in configs[:n_smac]]
    table = Table(f"Serial, no limits (in-process): no-op trials, median of {repeats}")
    smac = _smac_runner(n, None)
    with SerialRunner(noop) as runner:
        runs = interleave({
            "plain": lambda: _time_plain(configs),
            "ours": lambda: _time_runner(runner, ours),
            "smac": lambda: _time_runner(smac, theirs),
        }, repeats)
    table.add("plain function call", n, runs["plain"])
    table.add("SerialRunner", n, runs["ours"], baseline="plain function call")
    table.add(SMAC_PLAIN, n_smac, runs["smac"], baseline="plain function call")
    return table


def bench_walltime(n: int, repeats: int) -> Table:
    """The isolated path: ours sends each trial to one long-lived supervised worker process;
    SMAC3's pynisher starts a process per trial."""
    from smac.runhistory import TrialInfo as SmacTrialInfo

    from runner import SerialRunner
    from trials import TrialInfo

    configs = _configs(n)
    n_smac = max(10, n // 10)  # a process per trial: fewer trials give a steady figure
    ours = [TrialInfo(config=c, seed=SEED) for c in configs]
    ours_dict = [TrialInfo(config=dict(c), seed=SEED) for c in configs]
    theirs = [SmacTrialInfo(config=c, seed=SEED) for c in configs[:n_smac]]
    table = Table(f"Serial, wall-time limit 10 s (isolated trials): no-op trials, "
                  f"median of {repeats}")
    smac = _smac_runner(n, 10)
    with SerialRunner(noop, walltime_limit=10) as runner:
        runs = interleave({
            "smac": lambda: _time_runner(smac, theirs),
            "ours": lambda: _time_runner(runner, ours),
            "dict": lambda: _time_runner(runner, ours_dict),
        }, repeats)
    table.add(SMAC_LIMITED, n_smac, runs["smac"], note="pynisher.limit: a new process per trial")
    table.add(OURS_LIMITED, n, runs["ours"], baseline=SMAC_LIMITED,
              note="one long-lived supervised worker; each trial's Configuration is pickled "
                   "to it")
    table.add(OURS_LIMITED + ", dict configs", n, runs["dict"], baseline=SMAC_LIMITED,
              note="the same trials with config=dict(configuration)")
    return table


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv)
    logging.getLogger("smac").setLevel(logging.ERROR)
    n_fast = 2_000 if args.quick else 10_000
    n_limited = 200 if args.quick else 1_000
    print(header("bench_serial: SerialRunner per-trial overhead"))
    print()
    plain = bench_no_limits(n_fast, args.repeats)
    print(plain.render())
    print()
    limited = bench_walltime(n_limited, args.repeats)
    print(limited.render())
    print()
    call = plain.get("plain function call")
    ours = plain.get("SerialRunner")
    if call is not None and ours is not None:
        print(f"SerialRunner overhead over a plain call: "
              f"{ours.us_per_trial - call.us_per_trial:,.1f} us/trial")
    print(verdict("SerialRunner vs SMAC3 TargetFunctionRunner, no limits",
                  plain.ratio("SerialRunner", SMAC_PLAIN), 1.0))
    print(verdict("SerialRunner vs SMAC3 (pynisher), walltime limit",
                  limited.ratio(OURS_LIMITED), 1.0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
