"""Two workers, fed as an optimization loop feeds them (while a worker is free, submit one; wait
for any; collect): no-op throughput of our runners against the raw executors, SMAC3's
``DaskParallelRunner`` and adaptive's runner; worker utilization with 20 ms trials; the cost of
limits; and how soon a trial that overruns its wall-time limit comes back TIMEOUT.

    python -m benchmarks.bench_parallel [--quick] [--repeats N]
"""

from __future__ import annotations

import contextlib
import logging
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor
from concurrent.futures import wait as cf_wait
from dataclasses import dataclass
from typing import Any

from benchmarks import _common as c
from benchmarks._common import Table, drive, drive_executor, interleave, verdict

N_WORKERS = 2
RAW_PPE = "raw ProcessPoolExecutor(2)"
RAW_DASK = "raw dask client.submit"
SMAC_DASK = "SMAC3 DaskParallelRunner"
PPR = "ProcessPoolRunner(n_workers=2)"
DASK_OWN = "DaskRunner(n_workers=2)"
DASK_SHARED = "DaskRunner(client=the same cluster)"
DASK_TASKS = "DaskRunner(client=the same cluster, streaming=False)"
PPR_LIMITS = "ProcessPoolRunner, walltime 10 + memory 1024"


def _configs(n: int) -> list[dict[str, Any]]:
    return [{"x": i / max(1, n), "n": i % 100} for i in range(n)]


def _infos(n: int) -> list[Any]:
    from trials import TrialInfo

    return [TrialInfo(config=cfg, seed=0) for cfg in _configs(n)]


def _smac_infos(n: int) -> list[Any]:
    from smac.runhistory import TrialInfo as SmacTrialInfo

    return [SmacTrialInfo(config=cfg, seed=0) for cfg in _configs(n)]  # type: ignore[arg-type]


def _smac_tfr(target: Callable[..., Any], n: int, **limits: Any) -> Any:
    from ConfigSpace import ConfigurationSpace, Float
    from smac import Scenario
    from smac.runner import TargetFunctionRunner

    space = ConfigurationSpace(seed=0)
    space.add(Float("x", (0.0, 1.0)))
    scenario = Scenario(space, deterministic=True, n_trials=n, n_workers=N_WORKERS, **limits)
    return TargetFunctionRunner(scenario, target)


def _time_executor(executor: ProcessPoolExecutor, fn: Callable[..., Any],
                   args: Sequence[Any]) -> tuple[float, list[Any]]:
    return drive_executor(lambda a: executor.submit(fn, a),
                          lambda fs: cf_wait(fs, return_when=FIRST_COMPLETED).done,
                          args, N_WORKERS)


# -- 1. throughput on a process pool ----------------------------------------------------------


def bench_process_pool(n: int, repeats: int) -> Table:
    """No-op trials: ours against the executor it replaces and adaptive's runner on it."""
    import adaptive

    from runner import ProcessPoolRunner

    configs, infos = _configs(n), _infos(n)

    def run_adaptive(executor: ProcessPoolExecutor) -> float:
        learner = adaptive.SequenceLearner(c.noop_point, range(n))
        t0 = time.perf_counter()
        adaptive.BlockingRunner(learner, goal=lambda lrn: lrn.done(), executor=executor,
                                ntasks=N_WORKERS)  # else it asks mpi4py for the cores
        elapsed = time.perf_counter() - t0
        if len(learner.data) != n:
            raise RuntimeError(f"adaptive finished {len(learner.data)} of {n} points")
        return elapsed

    table = Table(f"Process pool, {N_WORKERS} workers: no-op trials, median of {repeats}")
    with ProcessPoolExecutor(N_WORKERS) as ex, \
            ProcessPoolRunner(c.noop, n_workers=N_WORKERS) as ours:
        runs = interleave({
            "raw": lambda: _time_executor(ex, c.noop, configs)[0],
            "ours": lambda: drive(ours, infos)[0],
            "adaptive": lambda: run_adaptive(ex),
        }, repeats)
    table.add(RAW_PPE, n, runs["raw"], note="executor.submit(f, config), wait FIRST_COMPLETED")
    table.add(PPR, n, runs["ours"], baseline=RAW_PPE)
    table.add("adaptive BlockingRunner on ProcessPoolExecutor(2)", n, runs["adaptive"],
              baseline=RAW_PPE, note="SequenceLearner of n no-op points")
    return table


# -- 2. throughput on dask ---------------------------------------------------------------------


def _our_dask_runners(client: Any, table: Table) -> list[Any]:
    """``DaskRunner`` on its own LocalCluster and, with ``streaming=False``, on ``client``'s,
    or none (with a skip note) while ``runner._backends.dask.driver`` is missing or broken."""
    try:
        from runner._backends.dask.driver import DaskRunner
    except ImportError as exc:
        table.skip("DaskRunner", f"runner._backends.dask.driver is not there yet ({exc})")
        return []
    runners: list[Any] = []
    try:
        runners.append(DaskRunner(c.noop, n_workers=N_WORKERS))
        runners.append(DaskRunner(c.noop, client=client, streaming=False))
    except Exception as exc:  # a backend under construction must not sink the other figures
        table.skip("DaskRunner", f"could not be constructed: {exc!r}")
        for r in runners:
            r.close()
        return []
    return runners


def _streamed(client: Any, trials: Sequence[Any]) -> Callable[[], float]:
    """A run of a streaming ``DaskRunner`` on ``client``'s cluster, opened for the run only:
    its pilots hold every worker slot while it is open, so the other contenders could not run
    (construction, which waits for the pilots, and close are not timed)."""
    def run() -> float:
        from runner._backends.dask.driver import DaskRunner

        with DaskRunner(c.noop, client=client) as runner:
            return drive(runner, trials)[0]

    return run


def bench_dask(n: int, n_smac: int, repeats: int) -> Table:
    """No-op trials on a 2-worker LocalCluster (processes, one thread each)."""
    import distributed
    from smac.runner import DaskParallelRunner

    table = Table(f"Dask, {N_WORKERS} worker processes x 1 thread: no-op trials, "
                  f"median of {repeats}")
    configs, infos, smac_infos = _configs(n), _infos(n), _smac_infos(n_smac)
    few = max(N_WORKERS * 10, n // 10)  # warm-up size: a full dask run takes seconds
    cluster = distributed.LocalCluster(n_workers=N_WORKERS, threads_per_worker=1,
                                       processes=True, dashboard_address=None,
                                       silence_logs=logging.ERROR)
    client = distributed.Client(cluster)
    ours: list[Any] = []
    try:
        smac = DaskParallelRunner(_smac_tfr(c.noop, n_smac), dask_client=client)

        def raw(args: Sequence[Any]) -> float:
            return drive_executor(
                lambda cfg: client.submit(c.noop, cfg, pure=False),
                lambda fs: distributed.wait(fs, return_when="FIRST_COMPLETED").done,
                args, N_WORKERS)[0]

        def fed(runner: Any, trials: Sequence[Any]) -> Callable[[], float]:
            return lambda: drive(runner, trials)[0]

        contenders = {"raw": lambda: raw(configs), "smac": fed(smac, smac_infos)}
        warm = {"raw": lambda: raw(configs[:few]), "smac": fed(smac, smac_infos[:few])}
        ours = _our_dask_runners(client, table)
        for key, runner in zip(("own", "tasks"), ours, strict=False):
            contenders[key] = fed(runner, infos)
            warm[key] = fed(runner, infos[:few])
        if ours:
            contenders["shared"], warm["shared"] = (_streamed(client, infos),
                                                    _streamed(client, infos[:few]))
        runs = interleave(contenders, repeats, warm=warm)
    finally:
        for runner in ours:
            runner.close()
        client.close()
        cluster.close()
    table.add(RAW_DASK, n, runs["raw"],
              note="client.submit(f, config, pure=False), distributed.wait FIRST_COMPLETED")
    if ours:
        table.add(DASK_OWN, n, runs["own"], baseline=RAW_DASK,
                  note="its own LocalCluster; streaming: trials go to one pilot per slot")
        table.add(DASK_SHARED, n, runs["shared"], baseline=RAW_DASK, note="streaming")
        table.add(DASK_TASKS, n, runs["tasks"], baseline=RAW_DASK, note="one dask task a trial")
    table.add(SMAC_DASK, n_smac, runs["smac"], baseline=RAW_DASK,
              note="wrapping a TargetFunctionRunner; dask_client=the same cluster")
    return table


# -- 3. utilization with 20 ms trials ----------------------------------------------------------


@dataclass
class Utilization:
    """Worker utilization of one contender, and where the idle time per trial went."""

    name: str
    percent: float
    elapsed: float
    to_start_us: float | None = None
    back_us: float | None = None

    def render(self) -> str:
        line = f"  {self.name}: {self.percent:.1f}% over {self.elapsed:.2f} s (median of runs)"
        if self.to_start_us is not None and self.back_us is not None:
            line += (f"\n    idle per trial and worker (mean): submit -> target starts "
                     f"{self.to_start_us:,.0f} us, target ends -> result collected "
                     f"{self.back_us:,.0f} us")
        return line


def bench_utilization(n: int, repeats: int) -> list[Utilization]:
    """Target time / (workers x wall) with 20 ms trials, and the mean gaps around each trial
    (from the submit and collect times against ``TrialValue.starttime``/``endtime``)."""
    from runner import ProcessPoolRunner

    infos, configs = _infos(n), _configs(n)
    pcts, elapsed, to_start, back = [], [], [], []
    with ProcessPoolRunner(c.sleep_20ms, n_workers=N_WORKERS) as ours:
        drive(ours, infos[:N_WORKERS * 4])  # warm-up
        for _ in range(repeats):
            stamps: dict[int, list[float]] = {}
            seconds, results = drive(ours, infos, stamps)
            values = {id(info): value for info, value in results}
            pcts.append(100 * sum(v.time for v in values.values()) / (N_WORKERS * seconds))
            elapsed.append(seconds)
            to_start += [values[k].starttime - s[0] for k, s in stamps.items()]
            back += [s[1] - values[k].endtime for k, s in stamps.items()]
    rows = [Utilization(PPR, statistics.median(pcts), statistics.median(elapsed),
                        1e6 * statistics.mean(to_start), 1e6 * statistics.mean(back))]
    pcts, elapsed = [], []
    with ProcessPoolExecutor(N_WORKERS) as ex:
        _time_executor(ex, c.sleep_20ms_timed, configs[:N_WORKERS * 4])
        for _ in range(repeats):
            seconds, durations = _time_executor(ex, c.sleep_20ms_timed, configs)
            pcts.append(100 * sum(durations) / (N_WORKERS * seconds))
            elapsed.append(seconds)
    rows.append(Utilization(RAW_PPE + " (target times itself)", statistics.median(pcts),
                            statistics.median(elapsed)))
    from runner._backends.dask.driver import DaskRunner

    for streaming in (True, False):
        pcts, elapsed, to_start, back = [], [], [], []
        with DaskRunner(c.sleep_20ms, n_workers=N_WORKERS, streaming=streaming) as runner:
            drive(runner, infos[:N_WORKERS * 10])  # warm-up
            for _ in range(repeats):
                stamps = {}
                seconds, results = drive(runner, infos, stamps)
                values = {id(info): value for info, value in results}
                pcts.append(100 * sum(v.time for v in values.values()) / (N_WORKERS * seconds))
                elapsed.append(seconds)
                to_start += [values[k].starttime - s[0] for k, s in stamps.items()]
                back += [s[1] - values[k].endtime for k, s in stamps.items()]
        rows.append(Utilization(DASK_OWN + ("" if streaming else ", streaming=False"),
                                statistics.median(pcts), statistics.median(elapsed),
                                1e6 * statistics.mean(to_start), 1e6 * statistics.mean(back)))
    return rows


# -- 4. the cost of limits ---------------------------------------------------------------------


@contextlib.contextmanager
def _stderr_lines_dropped(prefix: str, dropped: list[int]) -> Iterator[None]:
    """Drop the lines starting with ``prefix`` that child processes print to stderr meanwhile
    (pynisher prints one per trial, noted in docs/performance.md), counting them in
    ``dropped``; pass the others on."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            text = sink.read().decode(errors="replace")
    kept = [line for line in text.splitlines() if not line.startswith(prefix)]
    dropped.append(text.count(prefix))
    if kept:
        print("\n".join(kept), file=sys.stderr)


def bench_limits(n: int, n_smac: int, repeats: int) -> Table:
    """Walltime and memory limits on: what they add per trial, ours and SMAC3's pynisher."""
    from runner import ProcessPoolRunner

    infos, smac_infos = _infos(n), _smac_infos(n_smac)
    # SMAC3 2.4.1 hands an int trial_memory_limit to pynisher as bytes though its docs say MB;
    # the (amount, unit) form it also accepts gives the intended 1024 MB
    smac = _smac_tfr(c.noop, n_smac, trial_walltime_limit=10, trial_memory_limit=(1024, "MB"))

    noise = "Current memory usage in new process"
    dropped: list[int] = []

    def run_smac() -> float:
        with _stderr_lines_dropped(noise, dropped):
            t0 = time.perf_counter()
            for info in smac_infos:
                smac.submit_trial(info)
                c.check_success(v for _, v in smac.iter_results())
            return time.perf_counter() - t0

    table = Table(f"Limits on, no-op trials, median of {repeats}")
    with ProcessPoolRunner(c.noop, n_workers=N_WORKERS) as plain, \
            ProcessPoolRunner(c.noop, n_workers=N_WORKERS, walltime_limit=10,
                              memory_limit=1024) as limited:
        runs = interleave({
            "plain": lambda: drive(plain, infos)[0],
            "limited": lambda: drive(limited, infos)[0],
            "smac": run_smac,
        }, repeats)
    if sum(dropped):
        print(f"  ({sum(dropped)} lines of pynisher's '{noise} ...' warning dropped)")
    table.add(PPR, n, runs["plain"])
    table.add(PPR_LIMITS, n, runs["limited"], baseline=PPR)
    table.add("SMAC3 TargetFunctionRunner, walltime 10 + memory 1024", n_smac, runs["smac"],
              baseline=PPR, note="pynisher: a process per trial, one at a time (its dask "
                                 "runner would need non-daemonic workers for pynisher)")
    return table


# -- 5. TIMEOUT latency ------------------------------------------------------------------------


def _latency_ours(target: Callable[..., Any]) -> tuple[float, str]:
    from runner import ProcessPoolRunner

    info = _infos(1)[0]
    with ProcessPoolRunner(target, n_workers=N_WORKERS, walltime_limit=1) as runner:
        t0 = time.perf_counter()
        runner.submit_trial(info)
        got: list[Any] = []
        while not got:
            runner.wait()
            got = list(runner.iter_results())
        elapsed = time.perf_counter() - t0
    return elapsed, got[0][1].status.name


def _latency_pynisher(target: Callable[..., Any]) -> tuple[float, str]:
    import pynisher

    limited = pynisher.limit(target, wall_time=1)
    t0 = time.perf_counter()
    try:
        limited({"x": 0.5})
    except pynisher.WallTimeoutException:
        return time.perf_counter() - t0, "WallTimeoutException"
    raise RuntimeError("pynisher returned a result from a target that never returns")


def _latency_smac(target: Callable[..., Any]) -> tuple[float, str]:
    smac = _smac_tfr(target, 1, trial_walltime_limit=1)
    info = _smac_infos(1)[0]
    t0 = time.perf_counter()
    smac.submit_trial(info)
    got = list(smac.iter_results())
    return time.perf_counter() - t0, got[0][1].status.name


LatencyRow = tuple[str, list[float], set[str]]


def bench_timeout(repeats: int, slow_repeats: int) -> list[LatencyRow]:
    """Seconds from submit to the TIMEOUT result, walltime limit 1 s, plain and SIGTERM-proof
    spinners; a fresh, warm runner each time (a timed-out worker is replaced)."""
    rows: list[LatencyRow] = []
    for name, fn, reps in [
        ("ProcessPoolRunner", _latency_ours, repeats),
        ("pynisher.limit", _latency_pynisher, slow_repeats),
        ("SMAC3 TargetFunctionRunner", _latency_smac, slow_repeats),
    ]:
        for label, target in [("spin", c.spin), ("spin ignoring SIGTERM", c.spin_ignoring_sigterm)]:
            measured = [fn(target) for _ in range(reps)]
            rows.append((f"{name}, {label}", [m[0] for m in measured], {m[1] for m in measured}))
        print(f"  measured {name} timeouts", file=sys.stderr, flush=True)
    return rows


def render_latency(rows: list[LatencyRow]) -> str:
    width = max(len(name) for name, _, _ in rows)
    out = ["TIMEOUT latency, walltime limit 1 s: seconds from submit to the result",
           f"{'name'.ljust(width)}  runs  median     min     max  reported as",
           "-" * (width + 50)]
    for name, runs, statuses in rows:
        out.append(f"{name.ljust(width)}  {len(runs):>4}  {statistics.median(runs):6.2f}  "
                   f"{min(runs):6.2f}  {max(runs):6.2f}  {', '.join(sorted(statuses))}")
    return "\n".join(out)


# -- main --------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    args = c.parse_args(__doc__.splitlines()[0], argv)
    logging.getLogger("smac").setLevel(logging.ERROR)
    logging.getLogger("distributed").setLevel(logging.ERROR)
    # pynisher warns in every trial that the forked child's address space (the driver's, with
    # dask loaded) is already above an absolute RLIMIT_AS; noted in docs/performance.md
    warnings.filterwarnings("ignore", message="Current memory usage in new process")
    quick, reps = args.quick, args.repeats
    print(c.header(f"bench_parallel: {N_WORKERS} workers, fed one trial per free worker"))
    print()
    pool = bench_process_pool(1_000 if quick else 3_000, reps)
    print(pool.render(), end="\n\n")
    # dask costs milliseconds per task here: a few hundred trials give a steady median
    dask = bench_dask(100 if quick else 200, 50 if quick else 100, min(reps, 3))
    print(dask.render(), end="\n\n")
    util = bench_utilization(100 if quick else 300, 1 if quick else 3)
    print(f"Worker utilization, 20 ms trials, {N_WORKERS} workers: "
          "sum of TrialValue.time / (workers x elapsed)")
    print("\n".join(u.render() for u in util), end="\n\n")
    limits = bench_limits(1_000 if quick else 3_000, 20 if quick else 60, reps)
    print(limits.render(), end="\n\n")
    # pynisher's timeouts take limit + its fixed 5 s grace every time: one run each suffices
    latency = bench_timeout(1 if quick else 3, 1)
    print(render_latency(latency), end="\n\n")

    print("Verdicts")
    print(verdict(f"{PPR} vs {RAW_PPE}", pool.ratio(PPR), 0.8))
    print(verdict(f"{DASK_SHARED} vs {RAW_DASK}", dask.ratio(DASK_SHARED), 5.0))
    print(verdict(f"{DASK_SHARED} vs {SMAC_DASK}", dask.ratio(DASK_SHARED, SMAC_DASK), 3.0))
    shared, ppr = dask.get(DASK_SHARED), pool.get(PPR)
    if shared is not None and ppr is not None:
        print(f"{DASK_SHARED} vs {PPR}: {shared.per_second / ppr.per_second:.2f}x "
              f"({shared.per_second:,.0f} against {ppr.per_second:,.0f} trials/s)")
    print(verdict("ProcessPoolRunner utilization, 20 ms trials", util[0].percent, 97.0,
                  unit="%"))
    print(verdict("DaskRunner utilization, 20 ms trials", util[2].percent, 99.0, unit="%"))
    plain, limited = limits.get(PPR), limits.get(PPR_LIMITS)
    extra = None if plain is None or limited is None else (
        limited.us_per_trial - plain.us_per_trial)
    print(verdict("ProcessPoolRunner extra cost of walltime + memory limits", extra, 1000.0,
                  unit="us/trial", higher_is_better=False))
    for name, runs, _ in latency:
        if name.startswith("ProcessPoolRunner"):
            print(verdict(f"{name}: TIMEOUT latency", statistics.median(runs), 1.5, unit="s",
                          higher_is_better=False))
    print(c.load_note())
    return 0


if __name__ == "__main__":
    sys.exit(main())
