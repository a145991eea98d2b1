"""``trialrunner report`` on a large journal (issue 27, item 14): seconds and peak memory of the
text report and of ``--plot --html``, each in a fresh process (``/usr/bin/time -v`` where it
exists, for the maximum resident set size).

The journal is written with the real ``trials.Journal`` API, as the loop writes it: a
``trialrunner run`` command in the header (process pool x 2, Hyperband budgets), a ``submit``
and a ``result`` record per attempt, 2 % crashes retried once, a few cancelled attempts.

    python -m benchmarks.bench_report [--trials N] [--keep FILE.jsonl]

Targets: text report < 3 s; plots (PNG + HTML) < 10 s and < 500 MB.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

from trials import Journal, StatusType, TrialInfo, TrialValue

COMMAND = {
    "version": 1, "cwd": "/tmp", "target": {"function": "quad:objective"},
    "space": {"x": {"low": -5.0, "high": 5.0}, "kind": {"choices": ["a", "b"]}},
    "optimizer": {"name": "hyperband", "seed": 1, "options": {"min_budget": 1, "max_budget": 27}},
    "backend": {"name": "process", "workers": 2, "scheduler": None},
    "limits": {}, "objectives": ["cost"], "crash_cost": None,
    "goals": {"n_trials": None, "cost": None, "duration": None}, "retries": 1,
}


def write_journal(path: str, n: int, seed: int = 0) -> None:
    """``n`` trials on two workers, as the loop journals them."""
    rng = random.Random(seed)
    now = [1.7e9, 1.7e9]  # each worker's clock
    with Journal.open(path, fsync="never", command=COMMAND) as journal:
        for trial in range(n):
            budget = float(rng.choice((1, 3, 9, 27)))
            info = TrialInfo({"x": rng.uniform(-5, 5), "kind": rng.choice("ab")}, budget=budget,
                             seed=trial)
            attempts = 2 if rng.random() < 0.02 else 1
            for attempt in range(attempts):
                w = min((0, 1), key=lambda i: now[i])
                submitted = now[w]
                start = submitted + 0.001
                end = start + 0.01 * budget * rng.uniform(0.5, 1.5)
                now[w] = end + 0.001
                final = attempt == attempts - 1
                status = StatusType.SUCCESS if final else StatusType.CRASHED
                cost = ((info.config["x"] - 2) ** 2 + 1 / budget) if final else float("inf")
                value = TrialValue(cost=cost, time=end - start, status=status, starttime=start,
                                   endtime=end)
                journal.append({"type": "submit", "trial": trial, "attempt": attempt,
                                "info": info.to_dict(), "time": submitted})
                journal.append({"type": "result", "trial": trial, "attempt": attempt,
                                "final": final, "info": info.to_dict(),
                                "value": value.to_dict(), "time": now[w]})


def measure(argv: list[str]) -> tuple[float, float | None, float | None]:
    """Wall seconds, peak RSS in MB and CPU seconds (user + system; both None without
    /usr/bin/time) of ``python -m runner ARGV``. On a loaded machine the CPU time is the
    steadier figure."""
    cmd = [sys.executable, "-m", "runner", *argv]
    timer = shutil.which("time") or ("/usr/bin/time" if os.path.exists("/usr/bin/time") else None)
    if timer:
        cmd = [timer, "-v", *cmd]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - t0
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    cpu = [float(x) for x in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)",
                                        done.stderr)]
    return seconds, (int(rss[1]) / 1024 if rss else None), (sum(cpu) if cpu else None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100_000)
    parser.add_argument("--keep", metavar="FILE.jsonl", help="write the journal here and keep it")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="bench-report-")
    try:
        path = args.keep or os.path.join(folder, "big.jsonl")
        if not os.path.exists(path):
            t0 = time.perf_counter()
            write_journal(path, args.trials)
            print(f"journal: {args.trials} trials, {os.path.getsize(path) / 1e6:.0f} MB, "
                  f"written in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        rows = [("text report", ["report", path], 3.0, None),
                ("--plot --html", ["report", path, "--plot", os.path.join(folder, "r.png"),
                                   "--html", os.path.join(folder, "r.html")], 10.0, 500.0)]
        print(f"load average {os.getloadavg()[0]:.2f}")
        print(f"{'what':<16} {'seconds':>8} {'CPU s':>6} {'max RSS MB':>11}  target")
        for name, argv, limit_s, limit_mb in rows:
            seconds, mb, cpu = measure(argv)
            ok = seconds < limit_s and (limit_mb is None or mb is None or mb < limit_mb)
            shown = "?" if mb is None else f"{mb:.0f}"
            used = "?" if cpu is None else f"{cpu:.2f}"
            want = f"< {limit_s:g} s" + (f", < {limit_mb:g} MB" if limit_mb else "")
            print(f"{name:<16} {seconds:>8.2f} {used:>6} {shown:>11}  {want}: "
                  f"{'met' if ok else 'NOT MET'}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
