"""FAULTS D: the loop and its driver (Ctrl-C and SIGTERM, SIGKILL then resume, a torn or corrupt
journal, two studies on one journal, retries, a raising tell), on every backend it involves."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable

import faults_targets as ft
import psutil
import pytest

from faults.conftest import FaultMaker, ListOptimizer, alive, configs, real_time, runs, started
from runner import OptimizationLoop, ProcessPoolRunner, RetriesExceededError, SerialRunner
from runner.testing import wait_until
from trials import (
    History,
    JournalCorruptError,
    JournalLockedError,
    JournalStaleLockWarning,
    JournalTornTailWarning,
    StatusType,
    read_records,
)

STUDY = os.path.join(os.path.dirname(__file__), "study.py")


class Interrupter(threading.Thread):
    """Sends each signal of ``steps`` to this process once its condition holds (polled), unless
    cancelled first; the test's main thread, running the loop, receives it."""

    def __init__(self, steps: list[tuple[Callable[[], bool], int]]) -> None:
        super().__init__(daemon=True, name="Interrupter")
        self.steps = steps
        self.sent: list[float] = []
        self._lock = threading.Lock()
        self._cancelled = False

    def run(self) -> None:
        for when, sig in self.steps:
            deadline = time.monotonic() + 60
            while not when():
                if self._cancelled or time.monotonic() > deadline:
                    return
                time.sleep(0.01)
            with self._lock:
                if self._cancelled:
                    return
                self.sent.append(time.monotonic())
                os.kill(os.getpid(), sig)

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
        self.join(10)


def _journal_marks(journal) -> tuple[list[int], set[str]]:
    cancelled = [r for r in read_records(journal) if r["type"] == "cancelled"]
    return sorted(r["trial"] for r in cancelled), {r["reason"] for r in cancelled}


@configs("any_config", real_time)
def test_D1_ctrl_c(any_config: FaultMaker, tmp_path) -> None:
    """D1: Ctrl-C while trials run: run() re-raises KeyboardInterrupt within 5 s, the trials in
    flight are marked cancelled in the flushed journal (its lock released), and trials running
    in worker processes are killed within 5 s."""
    maker = any_config
    d, journal = str(tmp_path), tmp_path / "study.jsonl"
    n_flight = 1 if maker.is_serial else maker.n_workers
    runner = maker(ft.stoppable)
    loop = OptimizationLoop(ListOptimizer([{"id": i, "dir": d} for i in range(6)]), runner,
                            journal=journal)
    intr = Interrupter([(lambda: all(started(d, i) for i in range(n_flight)), signal.SIGINT)])
    intr.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            loop.run()
        took = time.monotonic() - intr.sent[0]
    finally:
        intr.cancel()
        (tmp_path / "stop").touch()  # ends what cannot be killed (a thread's inline trial)
    assert took < 5.0, f"run() returned {took:.2f} s after Ctrl-C"
    assert loop.status() == "cancelled"
    assert not os.path.exists(f"{journal}.lock")
    pids = [int((tmp_path / f"started-{i}").read_text()) for i in range(n_flight)]
    if maker.isolates:
        wait_until(lambda: not any(alive(p) for p in pids), 5.0 - took, "trials to be killed")
    assert _journal_marks(journal) == (list(range(n_flight)), {"interrupted"})


def _slow_close_runner(release: threading.Event, closing: threading.Event):
    class SlowCloseRunner(ProcessPoolRunner):
        """A process pool whose first close() hangs (a backend stuck releasing its workers)."""

        def close(self) -> None:
            if not closing.is_set():
                closing.set()
                release.wait(60)
            super().close()

    return SlowCloseRunner


def test_D1_second_ctrl_c_forces_exit(tmp_path) -> None:
    """D1: a second Ctrl-C while the loop is stuck closing the runner ends run() at once with
    KeyboardInterrupt; the journal still marks the trials in flight and releases its lock."""
    d, journal = str(tmp_path), tmp_path / "study.jsonl"
    release, closing = threading.Event(), threading.Event()
    runner = _slow_close_runner(release, closing)(ft.stoppable, n_workers=2)
    loop = OptimizationLoop(ListOptimizer([{"id": i, "dir": d} for i in range(4)]), runner,
                            journal=journal)
    intr = Interrupter([(lambda: started(d, 0) and started(d, 1), signal.SIGINT),
                        (closing.is_set, signal.SIGINT)])
    intr.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            loop.run()
        took = time.monotonic() - intr.sent[1]
        assert len(intr.sent) == 2
    finally:
        intr.cancel()
        release.set()
        runner.close()
    assert took < 2.0, f"the second Ctrl-C took {took:.2f} s to end run()"
    assert _journal_marks(journal) == ([0, 1], {"interrupted"})
    assert not os.path.exists(f"{journal}.lock")


def test_D1_sigterm(tmp_path) -> None:
    """D1: SIGTERM during run() is handled like Ctrl-C: KeyboardInterrupt, trials killed and
    marked, journal closed."""
    d, journal = str(tmp_path), tmp_path / "study.jsonl"
    with ProcessPoolRunner(ft.stoppable, n_workers=2) as runner:
        loop = OptimizationLoop(ListOptimizer([{"id": i, "dir": d} for i in range(4)]), runner,
                                journal=journal)

        def ready() -> bool:  # the loop installs its SIGTERM handler as run() starts
            handler = signal.getsignal(signal.SIGTERM)
            return started(d, 0) and started(d, 1) and handler is not signal.SIG_DFL

        intr = Interrupter([(ready, signal.SIGTERM)])
        intr.start()
        try:
            with pytest.raises(KeyboardInterrupt):
                loop.run()
        finally:
            intr.cancel()
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # restored
        pids = [int((tmp_path / f"started-{i}").read_text()) for i in range(2)]
        wait_until(lambda: not any(alive(p) for p in pids), 5.0, "trials to be killed")
    assert _journal_marks(journal) == ([0, 1], {"interrupted"})


D2_BACKENDS = ["serial", "process", "thread", "asyncio",
               pytest.param("dask", marks=pytest.mark.slow)]


def _study(backend: str, mode: str, journal, out, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, STUDY, backend, mode, str(journal), str(out)],
                            start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def _quiet_records(journal) -> list[dict]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a torn tail while the study writes
        return read_records(journal) if os.path.exists(journal) else []


@pytest.mark.parametrize("backend", D2_BACKENDS)
def test_D2_sigkill_then_resume(backend: str, tmp_path) -> None:
    """D2: SIGKILL the driver (its whole process group) mid-run, then resume: every trial with
    a journaled result is kept and never runs again; each trial in flight runs again exactly
    once; the study ends with every trial finished once; nothing of the first driver is left."""
    journal, out = tmp_path / "study.jsonl", tmp_path / "out"
    out.mkdir()
    proc = _study(backend, "run", journal, out)

    def midway() -> bool:  # 5 results in, and a trial submitted whose result is not
        records = _quiet_records(journal)
        done = {r["trial"] for r in records if r["type"] == "result" and r["final"]}
        sent = {r["trial"] for r in records if r["type"] == "submit"}
        return len(done) >= 5 and bool(sent - done)

    try:
        wait_until(midway, 90, "5 results journaled and a trial in flight")
        family = psutil.Process(proc.pid).children(recursive=True)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    wait_until(lambda: not any(alive(p.pid) for p in family), 10, "the driver's processes to go")
    records = _quiet_records(journal)
    finished = {r["trial"] for r in records if r["type"] == "result" and r["final"]}
    submitted = {r["trial"] for r in records if r["type"] == "submit"}
    in_flight = submitted - finished
    assert finished and in_flight, (finished, in_flight)
    ids = {r["trial"]: r["info"]["config"]["id"] for r in records if r["type"] == "submit"}
    before = {i: runs(out, i) for i in range(20)}

    again = _study(backend, "run", journal, out)
    _, stderr = again.communicate(timeout=120)
    assert again.returncode == 0, stderr
    history = History.load(journal)
    assert sorted(info.config["id"] for info, _ in history) == list(range(20))
    assert all(v.status == StatusType.SUCCESS for _, v in history)
    for trial in finished:
        assert runs(out, ids[trial]) == before[ids[trial]] == 1, f"trial {trial} ran again"
    for trial in in_flight:
        assert runs(out, ids[trial]) - before[ids[trial]] == 1, f"trial {trial}"
    finals = [r["trial"] for r in read_records(journal) if r["type"] == "result" and r["final"]]
    assert sorted(finals) == sorted(set(finals)), "a trial has two final results"


def _small_study(journal, n: int, ids=range(5)) -> OptimizationLoop:
    loop = OptimizationLoop(ListOptimizer([{"x": float(i)} for i in ids]), SerialRunner(
        lambda c: c["x"]), n_trials_goal=n, journal=journal)
    loop.run()
    return loop


def test_D3_torn_last_line(tmp_path) -> None:
    """D3: a journal whose last record was torn by a kill mid-write: on open the loop warns,
    moves the torn bytes aside, cuts them off, and appends cleanly after them."""
    journal = tmp_path / "study.jsonl"
    _small_study(journal, 3)
    data = journal.read_bytes()
    last = data.splitlines(keepends=True)[-1]
    torn = last[: len(last) // 2]
    journal.write_bytes(data + torn)  # a second copy of the last record, half written
    with pytest.warns(JournalTornTailWarning, match=rf"byte {len(data)} \({len(torn)} bytes\), "
                                                     "is a torn write"):
        loop = OptimizationLoop(ListOptimizer([{"x": float(i)} for i in range(3, 8)]),
                                SerialRunner(lambda c: c["x"]), n_trials_goal=6,
                                journal=journal)
    loop.run()
    [aside] = list(tmp_path.glob("study.jsonl.torn-*"))
    assert aside.read_bytes() == torn
    assert journal.read_bytes().startswith(data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no torn tail any more
        assert [v.cost for _, v in History.load(journal)] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]


def test_D4_corrupt_middle_line(tmp_path) -> None:
    """D4: a corrupt line in the middle of a journal: the loop refuses to resume, naming the line
    and its byte offset; the file is left exactly as it was and its lock is released."""
    journal = tmp_path / "study.jsonl"
    _small_study(journal, 3)
    lines = journal.read_bytes().splitlines(keepends=True)
    lines[3] = b'{"type":"result","trial":1,"att\x00mpt\n'
    damaged = b"".join(lines)
    journal.write_bytes(damaged)
    offset = sum(len(line) for line in lines[:3])
    with pytest.raises(JournalCorruptError, match=rf"line 4 \(byte {offset}\) is not a valid "
                                                  "JSON record"):
        OptimizationLoop(ListOptimizer([]), SerialRunner(lambda c: 0.0), journal=journal)
    assert journal.read_bytes() == damaged
    assert not os.path.exists(f"{journal}.lock")
    with pytest.raises(JournalCorruptError, match="line 4"):
        History.load(journal)


def test_D5_second_loop_in_this_process(tmp_path) -> None:
    """D5: a second loop on a journal that an open loop holds is refused, naming this process."""
    journal = tmp_path / "study.jsonl"
    first = OptimizationLoop(ListOptimizer([{"x": 1.0}]), SerialRunner(lambda c: c["x"]),
                             journal=journal)
    with pytest.raises(JournalLockedError, match=f"in use by the live process {os.getpid()}"):
        OptimizationLoop(ListOptimizer([]), SerialRunner(lambda c: 0.0), journal=journal)
    first.run()
    assert len(History.load(journal)) == 1


def test_D5_other_process_then_stale_lock(tmp_path) -> None:
    """D5: while another live process holds the journal, a loop is refused naming its pid; once
    that process is SIGKILLed, its lock is detected as stale and taken over with a warning."""
    journal = tmp_path / "study.jsonl"
    holder = _study("serial", "hold", journal, tmp_path, stdin=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(JournalLockedError, match=f"in use by the live process {holder.pid}"):
            OptimizationLoop(ListOptimizer([]), SerialRunner(lambda c: 0.0), journal=journal)
    finally:
        holder.kill()
        holder.communicate()
    assert os.path.exists(f"{journal}.lock")  # a SIGKILLed owner cannot remove it
    with pytest.warns(JournalStaleLockWarning, match=f"lock left by process {holder.pid}, "
                                                     "which no longer runs"):
        loop = OptimizationLoop(ListOptimizer([{"x": 2.0}]), SerialRunner(lambda c: c["x"]),
                                journal=journal)
    loop.run()
    assert [v.cost for _, v in History.load(journal)] == [2.0]


def _attempts(journal, trial: int) -> list[tuple[str, int, object]]:
    return [(r["type"], r["attempt"], r.get("final")) for r in read_records(journal)
            if r.get("trial") == trial]


def test_D7_retries(every_backend: FaultMaker, tmp_path) -> None:
    """D7: with retries=2 a transient error (two failures, then success) takes 3 attempts, each
    journaled with its number; a deterministic error stops after exactly 3 attempts with
    RetriesExceededError; no endless loop."""
    d, journal = str(tmp_path), tmp_path / "study.jsonl"
    with every_backend(ft.flaky) as runner:
        opt = ListOptimizer([{"id": 0, "dir": d, "fail": 2}])
        OptimizationLoop(opt, runner, retries=2, journal=journal).run()
        assert [v.status for _, v in opt.told] == [StatusType.SUCCESS]
        assert runs(d, 0) == 3
        assert _attempts(journal, 0) == [("submit", 0, None), ("result", 0, False),
                                         ("submit", 1, None), ("result", 1, False),
                                         ("submit", 2, None), ("result", 2, True)]
        opt, journal = ListOptimizer([{"id": 1, "dir": d, "fail": -1}]), tmp_path / "two.jsonl"
        loop = OptimizationLoop(opt, runner, retries=2, journal=journal,
                                raise_if_retries_exceeded=True)
        with pytest.raises(RetriesExceededError, match=r"crashed on all 3 attempt\(s\) "
                                                       r"\(retries=2\)") as exc:
            loop.run()
    assert "trial 1 failed on execution 3" in exc.value.traceback
    assert runs(d, 1) == 3 and opt.told == []
    assert _attempts(journal, 0) == [("submit", 0, None), ("result", 0, False),
                                     ("submit", 1, None), ("result", 1, False),
                                     ("submit", 2, None), ("result", 2, False),
                                     ("failed", 2, None)]


class _RaisingTell(ListOptimizer):
    def tell(self, info, value) -> None:
        super().tell(info, value)
        if len(self.told) == 2:
            raise ZeroDivisionError("the optimizer's model broke")


def test_D8_tell_raises(every_backend: FaultMaker, tmp_path) -> None:
    """D8: when tell raises, the trial's result is already journaled as final, and the loop
    stops (status failed) with that very error; the journal is closed."""
    d, journal = str(tmp_path), tmp_path / "study.jsonl"
    opt = _RaisingTell([{"id": i, "x": float(i), "dir": d} for i in range(6)])
    with every_backend(ft.record, **every_backend.one_worker()) as runner:
        loop = OptimizationLoop(opt, runner, journal=journal)
        with pytest.raises(ZeroDivisionError, match="the optimizer's model broke"):
            loop.run()
    assert loop.status() == "failed"
    told = opt.told[-1][0].config["id"]
    finals = [r["info"]["config"]["id"] for r in read_records(journal)
              if r["type"] == "result" and r["final"]]
    assert told in finals
    assert not os.path.exists(f"{journal}.lock")


def test_D8_goal_raises(tmp_path) -> None:
    """D8: a user callback (a goal) that raises stops the loop with its error, after the result
    that triggered it was journaled."""
    journal = tmp_path / "study.jsonl"

    def goal(loop: OptimizationLoop) -> bool:
        if len(loop.history) == 2:
            raise KeyError("user callback failed")
        return False

    loop = OptimizationLoop(ListOptimizer([{"x": float(i)} for i in range(5)]),
                            SerialRunner(lambda c: c["x"]), goal=goal, journal=journal)
    with pytest.raises(KeyError, match="user callback failed"):
        loop.run()
    assert len(History.load(journal)) == 2 and loop.status() == "failed"
