"""Shared parts of the benchmark scripts: the targets, timing (``time.perf_counter``, warm-up,
median of several repetitions), the way an optimization loop feeds a runner, the result table and
the target verdicts.

The targets live here, in an importable module, so that every backend (process pools, dask
workers, pynisher's subprocesses) pickles them by reference and none has an advantage.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import signal
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Row",
    "Table",
    "drive",
    "drive_executor",
    "header",
    "interleave",
    "noop",
    "noop_point",
    "parse_args",
    "repeat",
    "sleep_20ms",
    "spin",
    "spin_ignoring_sigterm",
    "verdict",
]

# -- targets -----------------------------------------------------------------------------------


def noop(config: Any, seed: int | None = None) -> float:
    """Returns at once: what is timed is the runner, not the target."""
    return 0.0


def noop_point(x: Any) -> float:
    """The same for adaptive's learners, which call ``f(point)``."""
    return 0.0


def sleep_20ms(config: Any) -> float:
    """A 20 ms trial (sleep, so two of them share two cores without contention)."""
    time.sleep(0.02)
    return 0.0


def sleep_20ms_timed(config: Any) -> float:
    """A 20 ms trial that returns its own duration, for executors that do not time trials."""
    t0 = time.perf_counter()
    time.sleep(0.02)
    return time.perf_counter() - t0


def spin(config: Any) -> float:
    """A pure-Python busy loop that never returns: only a kill ends it."""
    while True:
        pass


def spin_ignoring_sigterm(config: Any) -> float:
    """A busy loop that ignores SIGTERM, so whoever stops it needs SIGKILL."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while True:
        pass


# -- timing ------------------------------------------------------------------------------------


def repeat(run: Callable[[], float], repeats: int, warmups: int = 1) -> list[float]:
    """Call ``run`` (which returns the seconds it measured itself, so its set-up is not timed)
    ``warmups`` times untimed, then ``repeats`` times; the measured seconds."""
    for _ in range(warmups):
        run()
    return [run() for _ in range(repeats)]


def interleave(runs: dict[str, Callable[[], float]], repeats: int, warmups: int = 1,
               warm: dict[str, Callable[[], Any]] | None = None) -> dict[str, list[float]]:
    """Like :func:`repeat` for several contenders at once, alternating them (A B C A B C ...) so
    that a burst of load from elsewhere on the machine falls on all of them alike. ``warm``
    gives cheaper warm-up calls (e.g. on fewer trials) where a full run is slow."""
    for _ in range(warmups):
        for name, run in runs.items():
            (warm or {}).get(name, run)()
    measured: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            measured[name].append(run())
    return measured


def drive(runner: Any, trials: Sequence[Any],
          stamps: dict[int, list[float]] | None = None) -> tuple[float, list[Any]]:
    """Feed ``trials`` as an optimization loop does (while a worker is free, submit one; wait for
    any to finish; collect), through the submit/collect API that our runners and SMAC3's share.
    Returns the wall seconds from the first submit to the last result, and the finished
    ``(info, value)`` pairs in the order they came. ``stamps``, if given, receives ``id(info): [submitted, collected]`` as
    ``time.time()``, comparable with ``TrialValue.starttime``/``endtime``."""
    n = len(trials)
    results: list[tuple[Any, Any]] = []
    it = iter(trials)
    left = n
    t0 = time.perf_counter()
    while len(results) < n:
        while left and runner.count_available_workers() > 0:
            info = next(it)
            if stamps is not None:
                stamps[id(info)] = [time.time()]
            runner.submit_trial(info)
            left -= 1
        runner.wait()
        for info, value in runner.iter_results():
            if stamps is not None:
                stamps[id(info)].append(time.time())
            results.append((info, value))
    elapsed = time.perf_counter() - t0
    check_success(value for _, value in results)
    return elapsed, results


def drive_executor(submit: Callable[[Any], Any], wait_first: Callable[[set[Any]], set[Any]],
                   args: Sequence[Any], n_workers: int) -> tuple[float, list[Any]]:
    """The same feeding for a raw executor or dask client: at most one call per free worker."""
    n = len(args)
    it = iter(args)
    left = n
    running: set[Any] = set()
    results: list[Any] = []
    t0 = time.perf_counter()
    while len(results) < n:
        while left and len(running) < n_workers:
            running.add(submit(next(it)))
            left -= 1
        done = wait_first(running)
        running -= done
        results.extend(f.result() for f in done)
    return time.perf_counter() - t0, results


def check_success(values: Iterable[Any]) -> None:
    """Fail loudly if a trial did not succeed: a broken set-up must not pass as a fast one."""
    for value in values:
        if value.status.name != "SUCCESS":
            raise RuntimeError(f"benchmark trial ended {value.status.name}: "
                               f"{value.additional_info}")


# -- the table ---------------------------------------------------------------------------------


@dataclass
class Row:
    """One measured line: ``trials`` trials in ``seconds`` (median of ``runs``)."""

    name: str
    trials: int
    seconds: float
    runs: list[float] = field(default_factory=list)
    baseline: str | None = None
    note: str = ""

    @property
    def per_second(self) -> float:
        return self.trials / self.seconds if self.seconds > 0 else float("inf")

    @property
    def us_per_trial(self) -> float:
        return 1e6 * self.seconds / self.trials


class Table:
    """Rows in the order measured; each row's ratio is its throughput over its baseline's
    (> 1 means faster than the baseline)."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.rows: list[Row] = []
        self.skipped: list[tuple[str, str]] = []

    def add(self, name: str, trials: int, runs: Sequence[float], baseline: str | None = None,
            note: str = "") -> Row:
        """Add a row from the measured seconds of each repetition (the median is reported)."""
        row = Row(name, trials, statistics.median(runs), list(runs), baseline, note)
        self.rows.append(row)
        print(f"  measured {name}: {row.us_per_trial:,.1f} us/trial", file=sys.stderr, flush=True)
        return row

    def skip(self, name: str, reason: str) -> None:
        """Record a row that could not be measured, and why."""
        self.skipped.append((name, reason))

    def get(self, name: str) -> Row | None:
        return next((r for r in self.rows if r.name == name), None)

    def ratio(self, name: str, baseline: str | None = None) -> float | None:
        """Throughput of ``name`` over that of ``baseline`` (its own baseline by default)."""
        row = self.get(name)
        if row is None:
            return None
        base = self.get(baseline or row.baseline or "")
        if base is None:
            return None
        return row.per_second / base.per_second

    def render(self) -> str:
        head = ("name", "trials", "seconds", "trials/s", "us/trial", "ratio", "vs")
        lines = []
        for r in self.rows:
            ratio = self.ratio(r.name)
            lines.append((r.name, f"{r.trials:,}", f"{r.seconds:.3f}", f"{r.per_second:,.0f}",
                          f"{r.us_per_trial:,.1f}", _ratio_text(ratio),
                          r.baseline or ""))
        widths = [max(len(head[i]), *(len(line[i]) for line in lines)) for i in range(len(head))]
        out = [self.title, _fmt(head, widths), _fmt(tuple("-" * w for w in widths), widths)]
        if any(r.baseline for r in self.rows):
            out.insert(1, "ratio = trials/s over the baseline's (vs); 1/N x = N times slower")
        out += [_fmt(line, widths) for line in lines]
        for r in self.rows:
            if r.note:
                out.append(f"  note: {r.name}: {r.note}")
        for name, reason in self.skipped:
            out.append(f"  skipped: {name}: {reason}")
        return "\n".join(out)


def _ratio_text(ratio: float | None) -> str:
    if ratio is None:
        return ""
    if ratio >= 0.1:
        return f"{ratio:.2f}x"
    return f"1/{1 / ratio:,.0f}x"


def _fmt(cells: tuple[str, ...], widths: list[int]) -> str:
    first = cells[0].ljust(widths[0])
    rest = [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
    return "  ".join([first, *rest[:-1], cells[-1].ljust(widths[-1])]).rstrip()


def verdict(label: str, value: float | None, target: float, unit: str = "x",
            higher_is_better: bool = True) -> str:
    """One line: the measured value against its target, and whether the target is met."""
    if value is None:
        return f"{label}: not measured (see skipped rows)"
    sign = ">=" if higher_is_better else "<="
    ok = value >= target if higher_is_better else value <= target
    return (f"{label}: {_num(value, unit)}, target {sign} {_num(target, unit)}: "
            f"{'met' if ok else 'NOT MET'}")


def _num(value: float, unit: str) -> str:
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "%":
        return f"{value:.1f}%"
    return f"{value:,.2f} {unit}"


# -- command line ------------------------------------------------------------------------------


def parse_args(description: str, argv: Sequence[str] | None = None) -> argparse.Namespace:
    """``--quick`` (a short run, a rough figure) and ``--repeats N``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true",
                        help="fewer trials and repetitions: a smoke run, figures are rough")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed repetitions per measurement (median reported); "
                             "default 5, or 3 with --quick")
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 3 if args.quick else 5
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")
    return args


def header(title: str) -> str:
    """What, when, and on what machine: the first lines of every report."""
    now = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    return (f"{title}\n{now}; Python {platform.python_version()}; {os.cpu_count()} cores; "
            f"{platform.system()} {platform.machine()}; {load_note()}")


def load_note() -> str:
    """The 1-minute load average, with a warning when other work competes for the cores."""
    try:
        load = os.getloadavg()[0]
    except OSError:
        return "load average unknown"
    busy = load > 0.5 * (os.cpu_count() or 1)
    return f"load average {load:.2f}" + (" (busy machine: figures may be noisy)" if busy else "")
