"""The driver's side of one supervised worker process: start it, send it a trial, collect the
answer or the evidence of its death, replace it. `WorkerProcess` is pollable (``send``, then ``collect`` when its fds are readable);
``BlockingWorker`` (blocking.py) has a ``run(info)`` that blocks until the trial is decided.

Wall-time, CPU and memory limits are watched from outside by the watchdog
(runner/_worker/watchdog.py); the verdicts come from runner/_core/verdicts.py. A trial that
exits, is killed, overruns a limit or corrupts its result channel costs exactly that trial:
the worker's process group and the descendants seen are killed, and a new worker is started
before the next trial. ``stop()`` passes a stop decision on (runner/_worker/protocol.py).
"""

from __future__ import annotations

import logging
import os
import pickle
import random
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping

from runner._core import verdicts
from runner._core.limits import Limits
from runner._core.returns import Objectives, RawResult
from runner._worker import protocol
from runner._worker.judged import judged_value
from runner._worker.protocol import (
    NOT_RUN,
    RECYCLE,
    UNRUN,
    ChannelCorrupted,
    FrameReader,
    NotRun,
    write_trial,
)
from runner._worker.reporting import OnReport, ReportRelay, TrialLine
from runner._worker.spawn import SPAWNER, child_env
from runner._worker.spawn import pidfd as _pidfd  # a module name: tests replace it
from runner._worker.watchdog import Watched, descendants, killpg, watchdog
from runner._worker.wire import TrialEncoder
from runner.errors import WorkerStartError
from trials import StatusType, TrialInfo, TrialValue

__all__ = ["WorkerProcess"]

log = logging.getLogger(__name__)

START_TIMEOUT = 120.0
"""Seconds a new worker may take to import the target and report ready."""
DEATH_CHECK_MS = 1000
"""Without a pidfd (Linux < 5.3), how often a waiting supervisor checks that its worker lives."""


class WorkerProcess:
    """A supervised worker, driven by polling: `send`, then `collect`."""

    def __init__(self, payload: bytes, objectives: Objectives, limits: Limits,
                 env: Mapping[str, str] | None = None,
                 budget: tuple[int, str] | None = None) -> None:
        """``budget``: ``(bytes, what it is)`` the trial's whole process tree may hold."""
        self._payload = payload
        self._encoder = TrialEncoder()
        self._crash_cost = objectives.crash_cost
        self._limits = limits
        self._env = dict(env) if env else None
        self._budget = budget
        self._proc: subprocess.Popen[bytes] | None = None
        self._reader: FrameReader | None = None
        self._pidfd: int | None = None
        self._line = TrialLine()  # the trial pipe, shared with the report relay
        self._reports = ReportRelay(self._line, limits.grace)
        self._start = 0.0
        self._recycling: str | None = None  # why the worker said it must be replaced
        self._closed = False
        self._lock = threading.Lock()
        self.starts = 0

    @property
    def pid(self) -> int | None:
        """The worker's pid while it runs."""
        proc = self._proc
        return proc.pid if proc is not None else None

    @property
    def fds(self) -> tuple[int, int | None] | None:
        """``(result fd, pidfd or None)`` while the worker runs: readable when result bytes
        are there, and when the process has exited."""
        reader = self._reader
        return None if reader is None else (reader.fd, self._pidfd)

    @property
    def alive(self) -> bool:
        """Whether the worker process is there and has not exited."""
        proc = self._proc
        return proc is not None and proc.poll() is None

    @property
    def stale_reports(self) -> int:
        """Report frames dropped because their trial had answered (reporting.py)."""
        return self._reports.stale

    def stop(self) -> None:
        """Tell the running trial to stop at its next report (`ReportRelay.stop`)."""
        self._reports.stop()

    def proceed(self) -> None:
        """Answer the running trial's waiting report with "continue"."""
        self._reports.proceed()

    # -- starting ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker and wait until it has loaded the target (or raise why it could not)."""
        self.spawn()
        self.handshake()

    def spawn(self) -> None:
        """Start the worker process and send it the target, without waiting for it to load:
        a pool spawns all its workers first, then waits for each (`handshake`)."""
        r_trial, w_trial = os.pipe()
        r_result, w_result = os.pipe()
        args = [sys.executable, "-m", "runner._worker.child", str(r_trial), str(w_result),
                str(os.getpid())]
        try:
            proc = SPAWNER.popen(args, pass_fds=(r_trial, w_result), env=child_env(self._env),
                                  start_new_session=True, stdin=subprocess.DEVNULL)
        except BaseException:
            for fd in (w_trial, r_result):
                os.close(fd)
            raise
        finally:
            os.close(r_trial)
            os.close(w_result)
        token = random.getrandbits(64)
        limits = self._limits
        watched = Watched(proc.pid, limits.grace, limits.cpu_time, limits.memory,
                          None if self._budget is None else self._budget[0])
        with self._lock:
            self._proc, self._reader = proc, FrameReader(r_result, token)
            self._pidfd = _pidfd(proc.pid)
            line = self._line
            line.fd, line.seq, line.watched, line.pid = w_trial, 0, watched, proc.pid
            self._recycling = None
            self._encoder.reset()
            self.starts += 1
            closed = self._closed
        watchdog().add(watched)
        if self.starts > 1:
            log.info("a worker process was replaced (new pid %d, start %d of this worker)",
                     proc.pid, self.starts)
        if closed:  # close() ran while we started: it may have missed this process
            self.kill()
            return
        try:
            write_trial(w_trial, pickle.dumps((list(sys.path), self._payload, token)))
        except OSError as exc:
            code = proc.wait()
            self._discard()
            raise WorkerStartError(f"worker process exited with code {code} while starting "
                                   f"({exc!r})") from None

    def handshake(self) -> None:
        """Wait until the spawned worker has loaded the target (or raise why it could not)."""
        proc, reader = self._proc, self._reader
        if proc is None or reader is None:
            if self._closed:
                return
            raise WorkerStartError("the worker process is gone before it reported ready")
        deadline = time.monotonic() + START_TIMEOUT
        probe = select.poll()
        probe.register(reader.fd, select.POLLIN)
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not probe.poll(int(left * 1000) + 1):
                    raise WorkerStartError(
                        f"worker did not report ready within {START_TIMEOUT:g} s")
                open_ = reader.fill()
                frame = reader.frame()
                if frame is not None:
                    break
                if not open_:
                    code = proc.wait()
                    raise WorkerStartError(f"worker process exited with code {code} while "
                                           "starting")
        except (WorkerStartError, ChannelCorrupted) as exc:
            self.kill()
            raise WorkerStartError(str(exc)) from None
        message = pickle.loads(frame[1])
        if message[0] != "ready":
            self.kill()
            raise WorkerStartError(
                "the worker process could not load the target (is it importable there?):\n"
                + message[1])

    # -- one trial ---------------------------------------------------------------------------

    def send(self, info: TrialInfo, on_report: OnReport = None, wait: bool = False,
             resources: object = None) -> None:
        """Send a trial and its share of ``resources`` to the idle worker (its reports to
        ``on_report``, held if ``wait``); ``OSError`` if gone."""
        line = self._line
        fd, watched = line.fd, line.watched
        if fd is None or watched is None:
            raise BrokenPipeError("the worker process is gone")
        data = self._encoder.encode(info, resources)
        self._reports.expect(on_report, wait)
        self._start = time.time()
        line.seq += 1
        watched.begin(self._limits.walltime)
        try:
            write_trial(fd, data)
        except BaseException:
            line.seq -= 1
            watched.end()
            raise

    def collect(self) -> TrialValue | NotRun | None:
        """The value of the trial last sent, once its result descriptor or its pidfd became
        readable; ``None`` while its answer is still on the way; `NOT_RUN` when the worker
        was being replaced and did not run it (send it again, to a new worker)."""
        proc, reader, watched = self._proc, self._reader, self._line.watched
        start, current = self._start, self._line.seq
        if proc is None or reader is None or watched is None:
            return verdicts.cancelled(self._crash_cost, start)
        answer: bytes | None = None
        try:
            open_ = reader.fill()
            while (frame := reader.frame()) is not None:
                seq, payload = frame
                if protocol.is_report(payload):  # the trial's before its answer, else stale
                    if seq == current and answer is None:
                        self._reports.take(payload)
                    else:
                        self._reports.drop(seq)
                elif payload.startswith(RECYCLE) and seq in (current, current - 1):
                    self._note_recycle(payload)
                elif payload == UNRUN and seq == current:
                    watched.end()
                    self.kill()
                    return NOT_RUN
                elif seq != current or answer is not None:
                    return self._corrupted(start, f"an answer for trial {seq}, expected "
                                           f"{current}" if seq != current else
                                           "a second answer")
                else:
                    answer = payload
                    if not reader.pending():  # the common case: nothing after the answer
                        break
        except ChannelCorrupted as exc:
            return self._corrupted(start, str(exc))
        except OSError:
            open_ = False
        if answer is not None:
            verdict = watched.end()
            if verdict is not None:  # the watchdog decided first: its verdict stands
                return self._judged(verdict, start)
            return self._decode(answer, start)
        if open_ and proc.poll() is None:
            return None  # part of the answer is here; the rest is on its way
        verdict = watched.end()
        if self._closed:
            self.kill()
            return verdicts.cancelled(self._crash_cost, start)
        if verdict is not None:
            return self._judged(verdict, start)
        return self._died(start, proc)

    def idle_event(self) -> str | None:
        """The result fd or pidfd fired while no trial ran: ``None`` if nothing is wrong,
        else why the worker must be replaced."""
        reader = self._reader
        if reader is None:
            return "gone"
        try:
            open_ = reader.fill()
            while (frame := reader.frame()) is not None:
                if protocol.is_report(frame[1]):  # of a trial that has answered: dropped
                    self._reports.drop(frame[0])
                elif frame[1].startswith(RECYCLE):
                    self._note_recycle(frame[1])
                else:
                    return "it wrote while idle"
        except ChannelCorrupted:
            return "it wrote while idle"
        except OSError:
            open_ = False
        if self._recycling is not None:
            return f"recycled: {self._recycling}"
        if not open_ or not self.alive:
            return "exited"
        return None

    def _note_recycle(self, payload: bytes) -> None:
        self._recycling = payload[len(RECYCLE):].decode("utf-8", "replace")
        log.info("worker process %s is replaced: %s", self.pid, self._recycling)

    def _decode(self, payload: bytes, start: float) -> TrialValue:
        crash = self._crash_cost
        try:
            message = pickle.loads(payload)
        except Exception as exc:
            return verdicts.not_run(crash, "the result could not be unpickled in the "
                                    f"driver: {exc!r}", start=start)
        if message[0] == "oversize":
            return verdicts.not_run(crash, message[1], start=start)
        raw = RawResult._make(message)
        if (raw.status in (StatusType.MEMORYOUT, StatusType.TIMEOUT)  # not trusted any more
                or self._limits.fresh_process or self._recycling is not None):  # ends itself
            self.kill()  # so no next trial is sent to it
        try:
            return raw.to_value()
        except (TypeError, ValueError) as exc:  # checked here, once, not in the worker too
            return verdicts.not_run(crash, f"the trial's value is invalid: {exc}", exc,
                                    start=start)

    def _judged(self, verdict: str, start: float) -> TrialValue:
        watched = self._line.watched
        self.kill()
        return judged_value(verdict, watched, self._limits, self._budget, self._reports.last,
                            self._crash_cost, start)

    def _corrupted(self, start: float, detail: str) -> TrialValue:
        watched = self._line.watched
        if watched is not None:
            watched.end()
        self.kill()
        if self._closed:
            return verdicts.cancelled(self._crash_cost, start)
        log.warning("a trial corrupted its worker's result channel (%s); replacing the worker",
                    detail)
        return verdicts.channel_corrupted(self._crash_cost, start, detail)

    def _died(self, start: float, proc: subprocess.Popen[bytes]) -> TrialValue:
        killpg(proc.pid, signal.SIGKILL)  # what it left running; before the pid is reaped
        try:
            code = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pipe broke but the process lingers: end it
            self.kill()
            code = proc.wait()
        self.kill()  # the descendants seen, and our descriptors
        return verdicts.died(code, self._limits.cpu_time, self._crash_cost, start)

    # -- ending ------------------------------------------------------------------------------

    def kill_tree(self) -> None:
        """SIGKILL the worker, its group, its descendants and the escaped ones seen; keeps the
        descriptors (another thread may be polling them)."""
        with self._lock:
            proc, watched = self._proc, self._line.watched
        if proc is None:
            return
        found = descendants(proc.pid)
        killpg(proc.pid, signal.SIGKILL)
        for child in found:
            try:
                child.kill()
            except Exception:
                pass
        if watched is not None:
            watched.kill_escaped()

    def kill(self) -> None:
        """End the worker and everything it started (group, descendants, escaped ones)."""
        proc = self._proc
        if proc is None:
            return
        self.kill_tree()
        proc.wait()
        self._discard()

    def close(self) -> None:
        """Kill the worker; a trial it was running comes back CANCELLED. Idempotent."""
        self._closed = True
        self.kill()

    def closing(self) -> None:
        """From now on a death is the runner's doing: the trial comes back CANCELLED."""
        self._closed = True

    def _discard(self) -> None:
        with self._lock:
            line = self._line
            send_fd, reader, pidfd, watched = line.fd, self._reader, self._pidfd, line.watched
            self._proc = self._reader = self._pidfd = line.fd = line.watched = line.pid = None
        if watched is not None:
            watchdog().remove(watched)
        for fd in (pidfd, send_fd, None if reader is None else reader.fd):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass

