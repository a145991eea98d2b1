"""A study the fault tests run in a subprocess, on any backend:
``python study.py BACKEND MODE JOURNAL OUT``.

Modes:
* ``run``: ``N_TRIALS`` trials of ``faults_targets.record`` (each counts its executions in OUT
  and takes ``SECONDS``) through ``OptimizationLoop(journal=JOURNAL)``; run it again on the same
  journal to resume.
* ``fsize``: the same, but once three results are told a goal sets ``RLIMIT_FSIZE`` just above
  the journal's size, so the next append fails as on a full disk; prints what the loop saw and
  exits 3.
* ``vanish``: serial only; while trial 3 runs its target renames the journal's folder away (the
  folder vanishes), and puts it back once the loop has failed; prints what the loop saw, exits 3.
* ``hold``: open JOURNAL, print ``held``, and keep it until stdin closes (a second study).

BACKEND is ``serial``, ``process``, ``thread``, ``asyncio`` or ``dask`` (its own LocalCluster).
"""

from __future__ import annotations

import os
import signal
import sys

# the repository (the packages) and tests/ (faults_targets) on the path
_TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path += [os.path.dirname(_TESTS), _TESTS]

import faults_targets as ft  # noqa: E402 - tests/ is put on the path just above

from runner import OptimizationLoop  # noqa: E402
from trials import Journal, JournalWriteError, TrialInfo, TrialValue  # noqa: E402

N_TRIALS = 20
SECONDS = 0.05


class Counter:
    """Proposes ``{"id": k, ...}`` for k = 0..n-1, skipping what a resumed study told or
    restored (so a resumed study proposes nothing twice)."""

    def __init__(self, n: int, out: str) -> None:
        self.n, self.out, self.next = n, out, 0
        self.seen: set[int] = set()

    def ask(self) -> TrialInfo | None:
        while self.next in self.seen:
            self.next += 1
        if self.next >= self.n:
            return None
        self.next += 1
        k = self.next - 1
        return TrialInfo({"id": k, "x": float(k), "dir": self.out, "s": SECONDS})

    def tell(self, info: TrialInfo, value: TrialValue) -> None:
        self.seen.add(info.config["id"])

    def restore_pending(self, info: TrialInfo) -> None:
        self.seen.add(info.config["id"])


def make_runner(backend: str):  # noqa: ANN201 - any runner
    from runner import AsyncioRunner, DaskRunner, ProcessPoolRunner, SerialRunner, ThreadPoolRunner

    if backend == "serial":
        return SerialRunner(ft.record)
    if backend == "process":
        return ProcessPoolRunner(ft.record, n_workers=2)
    if backend == "thread":
        return ThreadPoolRunner(ft.record, n_workers=2)
    if backend == "asyncio":
        return AsyncioRunner(ft.record_async, n_workers=2)
    if backend == "dask":
        return DaskRunner(ft.record, n_workers=2)
    raise SystemExit(f"unknown backend {backend!r}")


def fill_disk(journal: str):  # noqa: ANN201 - a goal
    """A goal that, once three results are in, lets the journal grow by one byte only."""
    import resource

    def goal(loop: OptimizationLoop) -> bool:
        if len(loop.history) >= 3 and not goal.done:  # type: ignore[attr-defined]
            size = os.path.getsize(journal)
            resource.setrlimit(resource.RLIMIT_FSIZE, (size + 1, resource.RLIM_INFINITY))
            goal.done = True  # type: ignore[attr-defined]
        return False

    goal.done = False  # type: ignore[attr-defined]
    return goal


def vanishing(folder: str, away: str):  # noqa: ANN201 - a target
    """``record``, but trial 3 first renames ``folder`` (the journal's) to ``away``."""

    def target(config: dict) -> float:
        if config["id"] == 3:
            os.rename(folder, away)
        return ft.record(config)

    return target


def report(loop: OptimizationLoop, opt: Counter, exc: BaseException) -> int:
    print(f"asked={opt.next} told={len(opt.seen)} status={loop.status()}: {exc}")
    return 3


def main(backend: str, mode: str, journal: str, out: str) -> int:
    if mode == "hold":
        with Journal.open(journal):
            print("held", flush=True)
            sys.stdin.read()
        return 0
    opt = Counter(N_TRIALS, out)
    if mode == "vanish":
        folder = os.path.dirname(os.path.abspath(journal))
        away = folder + ".away"
        from runner import SerialRunner

        loop = OptimizationLoop(opt, SerialRunner(vanishing(folder, away)), journal=journal)
        try:
            loop.run()
        except JournalWriteError as exc:
            os.rename(away, folder)
            return report(loop, opt, exc)
        return 0
    with make_runner(backend) as runner:
        if mode == "fsize":
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead
            loop = OptimizationLoop(opt, runner, journal=journal, goal=fill_disk(journal))
            try:
                loop.run()
            except JournalWriteError as exc:
                return report(loop, opt, exc)
            return 0
        # resume="force": the sabotaged target of a first run ("vanish") is replaced on resume.
        OptimizationLoop(opt, runner, journal=journal, resume="force").run()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
