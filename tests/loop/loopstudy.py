"""A study the fault tests run in a subprocess: ``python loopstudy.py MODE JOURNAL OUT``.

Modes:
* ``kill``: RandomSearch on 2 process workers, ``n_trials_goal=N_TRIALS``; each execution appends
  its ``x`` to OUT/executions (so the test can count how often each configuration ran).
* ``hang``: trials that sleep a minute on 2 process workers (for Ctrl-C and SIGTERM);
  ``hang-bg`` the same with ``start()`` and ``block_until_done()`` (OUT/blocking is created just
  before the latter).
* ``fsize``: SerialRunner; the fourth trial sets a file-size limit just above the journal's size,
  so the next append fails (disk full); exits 3 after printing the error.

Each mode writes the runner's worker pids to OUT/pids.json once the runner is up.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

from runner import OptimizationLoop, ProcessPoolRunner, SerialRunner
from runner.optimizers import RandomSearch
from trials import JournalWriteError

N_TRIALS = 40


def make_recorder(out: str):
    path = os.path.join(out, "executions")

    def target(config):
        time.sleep(0.02)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{config['x']!r}\n".encode())
        finally:
            os.close(fd)
        return config["x"]

    return target


def hang(config):
    time.sleep(60)
    return 0.0


def main(mode: str, journal: str, out: str) -> int:
    if mode == "fsize":
        return fsize(journal)
    target = make_recorder(out) if mode == "kill" else hang
    with ProcessPoolRunner(target, n_workers=2) as runner:
        with open(os.path.join(out, "pids.json"), "w") as f:
            json.dump(runner.worker_pids(), f)
        loop = OptimizationLoop(RandomSearch({"x": (0.0, 1.0)}, seed=12), runner,
                                n_trials_goal=N_TRIALS, journal=journal)
        if mode == "hang-bg":
            loop.start()
            open(os.path.join(out, "blocking"), "w").close()  # Ctrl-C from now hits the wait
            loop.block_until_done()
        else:
            loop.run()
    return 0


def fsize(journal: str) -> int:
    import resource

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    calls = []

    def target(config):
        calls.append(1)
        if len(calls) == 4:  # the journal may not grow by another record
            size = os.path.getsize(journal)
            resource.setrlimit(resource.RLIMIT_FSIZE, (size + 1, resource.RLIM_INFINITY))
        return config["x"]

    loop = OptimizationLoop(RandomSearch({"x": (0.0, 1.0)}, seed=5), SerialRunner(target),
                            n_trials_goal=10, journal=journal)
    try:
        loop.run()
    except JournalWriteError as exc:
        print(f"JournalWriteError after {len(calls)} calls, {len(loop.history)} told: {exc}")
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
