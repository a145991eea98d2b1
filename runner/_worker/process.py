"""``WorkerProcess``: one long-lived, supervised worker process that evaluates trials one at a
time, and the rules that turn its death into a trial's status.

A trial that exits, is killed, or overruns its wall-time limit costs exactly that trial: the
worker's process group is killed (SIGTERM, then SIGKILL after ``grace``), the status is decided
from the evidence (exit code, signal), and a new worker is started before the next trial. Every
backend that isolates trials (process pool, dask, serial/threads with limits) uses this class.
"""

from __future__ import annotations

import logging
import math
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from multiprocessing.connection import Connection
from typing import Any

from runner._core.limits import Limits
from runner._core.returns import Objectives
from runner._worker.wire import TrialEncoder
from runner.errors import WorkerStartError
from trials import StatusType, TrialInfo, TrialValue

__all__ = ["WorkerProcess", "death_value"]

log = logging.getLogger(__name__)

_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
START_TIMEOUT = 120.0
"""Seconds a new worker may take to import the target and report ready."""


_CPU_SIGNALS = {getattr(signal, name) for name in ("SIGPROF", "SIGXCPU") if hasattr(signal, name)}
"""How a worker dies of its CPU-time limit: the timer (SIGPROF), or RLIMIT_CPU (SIGXCPU)."""


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def death_value(returncode: int, limits: Limits, crash_cost: Any, start: float) -> TrialValue:
    """The value of a trial whose worker process died with ``returncode`` (evidence only)."""
    now = time.time()
    if returncode < 0 and -returncode in _CPU_SIGNALS and limits.cpu_time:
        status = StatusType.TIMEOUT
        error = (f"cpu_time_limit of {limits.cpu_time:g} s exceeded (killed by "
                 f"{_signal_name(-returncode)})")
    elif returncode < 0:
        status = StatusType.CRASHED
        error = f"the trial's process was killed by {_signal_name(-returncode)}"
    else:
        status = StatusType.CRASHED
        error = f"the trial's process exited with code {returncode}"
    return TrialValue(cost=crash_cost, time=now - start, status=status, starttime=start,
                      endtime=now, additional_info={"error": error, "exitcode": returncode})


class WorkerProcess:
    """A supervised worker; :meth:`run` blocks its caller until the trial's value is decided."""

    def __init__(self, payload: bytes, objectives: Objectives, limits: Limits,
                 env: Mapping[str, str] | None = None) -> None:
        self._payload = payload
        self._encoder = TrialEncoder()
        self._crash_cost = objectives.crash_cost
        self._limits = limits
        self._env = dict(env) if env else None
        self._proc: subprocess.Popen[bytes] | None = None
        self._send: Connection | None = None
        self._recv: Connection | None = None
        self._poller: Any = None  # select.poll on the result pipe and the worker's pidfd
        self._pidfd: int | None = None
        self._closed = False
        self._lock = threading.Lock()
        self.starts = 0
        walltime = limits.walltime
        self._deadline_ms = None if walltime is None else max(1, math.ceil(walltime * 1000))

    @property
    def pid(self) -> int | None:
        """The worker's pid while it runs."""
        return self._proc.pid if self._proc is not None else None

    def start(self) -> None:
        """Start the worker and wait until it has loaded the target (or raise why it could not)."""
        self.spawn()
        self.handshake()

    def spawn(self) -> None:
        """Start the worker process and send it the target, without waiting for it to load:
        a pool spawns all its workers first, then waits for each (:meth:`handshake`)."""
        r_trial, w_trial = os.pipe()
        r_result, w_result = os.pipe()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [_PACKAGE_ROOT] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
        if self._env:
            env.update(self._env)
        args = [sys.executable, "-m", "runner._worker.child", str(r_trial), str(w_result),
                str(os.getpid())]
        try:
            proc = subprocess.Popen(args, pass_fds=(r_trial, w_result), env=env,
                                    start_new_session=True, stdin=subprocess.DEVNULL)
        finally:
            os.close(r_trial)
            os.close(w_result)
        send, recv = Connection(w_trial, readable=False), Connection(r_result, writable=False)
        # One poll object per worker, reused for every trial, watching the result pipe and the
        # process itself: a child the trial forked keeps the pipe open after the worker died.
        poller = select.poll()
        poller.register(r_result, select.POLLIN)
        pidfd = _pidfd(proc.pid)
        if pidfd is not None:
            poller.register(pidfd, select.POLLIN)
        with self._lock:
            self._proc, self._send, self._recv = proc, send, recv
            self._poller, self._pidfd = poller, pidfd
            self._encoder.reset()
            self.starts += 1
            closed = self._closed
        if closed:  # close() ran while we started: it may have missed this process
            self.kill()
            return
        try:
            send.send_bytes(pickle.dumps((list(sys.path), self._payload)))
        except OSError as exc:
            code = proc.wait()
            self._discard()
            raise WorkerStartError(f"worker process exited with code {code} while starting "
                                   f"({exc!r})") from None

    def handshake(self) -> None:
        """Wait until the spawned worker has loaded the target (or raise why it could not)."""
        with self._lock:
            proc, recv = self._proc, self._recv
        if proc is None or recv is None:
            if self._closed:
                return
            raise WorkerStartError("the worker process is gone before it reported ready")
        try:
            if not recv.poll(START_TIMEOUT):
                raise WorkerStartError(f"worker did not report ready within {START_TIMEOUT:g} s")
            message = pickle.loads(recv.recv_bytes())
        except (EOFError, OSError) as exc:
            code = proc.wait()
            self._discard()
            raise WorkerStartError(f"worker process exited with code {code} while starting "
                                   f"({exc!r})") from None
        except WorkerStartError:
            self._discard()
            raise
        if message[0] != "ready":
            self._discard()
            raise WorkerStartError(
                "the worker process could not load the target (is it importable there?):\n"
                + message[1])

    def run(self, info: TrialInfo) -> TrialValue:
        """Evaluate one trial in the worker; never raises for what the trial does."""
        if self._closed:
            return self._cancelled(time.time())
        if self._proc is None or self._proc.poll() is not None:
            self._discard()
            self.start()
        with self._lock:  # local references: close() may discard the attributes meanwhile
            proc, send, recv = self._proc, self._send, self._recv
            poller, pidfd = self._poller, self._pidfd
        start = time.time()
        if proc is None or send is None or recv is None:
            return self._cancelled(start)
        try:
            send.send_bytes(self._encoder.encode(info))
            ready = self._wait(proc, recv, poller, pidfd is not None)
            if ready is None:
                return self._timeout(start)
            if not ready:
                return self._died(start, proc)
            data = recv.recv_bytes()
        except (EOFError, OSError):
            return self._died(start, proc)
        return self._decode(data, start)

    # -- the non-blocking half, for a pool that polls many workers from one thread -----------

    @property
    def fds(self) -> tuple[int, int | None] | None:
        """``(result fd, pidfd or None)`` while the worker runs: readable when a result is
        there, and when the process has exited."""
        with self._lock:
            if self._recv is None:
                return None
            return self._recv.fileno(), self._pidfd

    @property
    def alive(self) -> bool:
        """Whether the worker process is there and has not exited."""
        proc = self._proc
        return proc is not None and proc.poll() is None

    def send(self, info: TrialInfo) -> None:
        """Send a trial to the (idle) worker; ``OSError`` if the worker is gone."""
        send = self._send
        if send is None:
            raise BrokenPipeError("the worker process is gone")
        write_message(send.fileno(), self._encoder.encode(info))

    def collect(self, start: float, result_ready: bool, timed_out: bool = False) -> TrialValue:
        """The value of the trial sent at ``start``, once its result fd (``result_ready``) or
        its pidfd became readable; ``timed_out``: the pool signalled it for its wall limit."""
        with self._lock:
            proc, recv = self._proc, self._recv
        if proc is None or recv is None:
            return self._cancelled(start)
        try:
            if not result_ready:  # the process exited: a result it sent first still counts
                probe = select.poll()
                probe.register(recv.fileno(), select.POLLIN)
                result_ready = bool(probe.poll(0))
            if result_ready:
                return self._decode(read_message(recv.fileno()), start)
        except (EOFError, OSError):
            pass
        if timed_out and not self._closed:
            self.kill()
            return self._timed_out_value(start)
        return self._died(start, proc)

    # -- the blocking half -------------------------------------------------------------------

    def _wait(self, proc: subprocess.Popen[bytes], recv: Connection, poller: Any,
              has_pidfd: bool) -> bool | None:
        """Block until the result is readable (``True``), the worker died first (``False``) or
        the wall limit passed (``None``): one ``poll`` call in the common case, not a selector
        per trial as ``Connection.poll`` builds."""
        fd = recv.fileno()
        if has_pidfd and self._deadline_ms is None:  # the common case, kept lean
            return any(ready_fd == fd for ready_fd, _ in poller.poll())
        deadline = None if self._deadline_ms is None else (
            time.monotonic() + self._deadline_ms / 1000)
        while True:
            timeout: int | None = None if has_pidfd else DEATH_CHECK_MS
            if deadline is not None:
                left = math.ceil((deadline - time.monotonic()) * 1000)
                if left <= 0:
                    return None
                timeout = left if timeout is None else min(left, timeout)
            events = poller.poll(timeout)
            if any(ready_fd == fd for ready_fd, _ in events):
                return True
            if events or proc.poll() is not None:  # the pidfd fired, or (no pidfd) it exited
                return False

    def _decode(self, data: bytes, start: float) -> TrialValue:
        try:
            message = pickle.loads(data)
        except Exception as exc:
            now = time.time()
            return TrialValue(cost=self._crash_cost, time=now - start, status=StatusType.CRASHED,
                              starttime=start, endtime=now,
                              additional_info={"error": f"the result could not be unpickled in "
                                                        f"the driver: {exc!r}"})
        if message[0] == "oversize":
            now = time.time()
            return TrialValue(cost=self._crash_cost, time=now - start, status=StatusType.CRASHED,
                              starttime=start, endtime=now, additional_info={"error": message[1]})
        status, cost, wall, cpu, t_start, t_end, extra = message
        if status in (StatusType.MEMORYOUT, StatusType.TIMEOUT):
            self.kill()  # a process that hit a limit is not trusted with the next trial
        try:
            return TrialValue(cost=cost, time=wall, cpu_time=cpu, status=status,
                              starttime=t_start, endtime=t_end, additional_info=extra)
        except (TypeError, ValueError) as exc:  # checked here, once, not in the worker too
            now = time.time()
            return TrialValue(cost=self._crash_cost, time=now - start, status=StatusType.CRASHED,
                              starttime=start, endtime=now,
                              additional_info={"error": f"the trial's value is invalid: {exc}",
                                               "error_type": type(exc).__name__})

    def _died(self, start: float, proc: subprocess.Popen[bytes]) -> TrialValue:
        if self._closed:
            return self._cancelled(start)
        _signal_group(proc.pid, signal.SIGKILL)  # what it left running; before the pid is reaped
        try:
            code = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pipe broke but the process lingers: end it
            self.kill()
            code = proc.wait()
        self._discard()
        return death_value(code, self._limits, self._crash_cost, start)

    def _timeout(self, start: float) -> TrialValue:
        self.kill(grace=self._limits.grace)
        if self._closed:
            return self._cancelled(start)
        return self._timed_out_value(start)

    def _timed_out_value(self, start: float) -> TrialValue:
        now = time.time()
        limit = self._limits.walltime
        return TrialValue(cost=self._crash_cost, time=now - start, status=StatusType.TIMEOUT,
                          starttime=start, endtime=now,
                          additional_info={"error": f"walltime_limit of {limit:g} s exceeded"})

    def _cancelled(self, start: float) -> TrialValue:
        now = time.time()
        return TrialValue(cost=self._crash_cost, time=max(0.0, now - start),
                          status=StatusType.CANCELLED, starttime=start, endtime=now,
                          additional_info={"error": "cancelled: the runner was closed"})

    def kill(self, grace: float = 0.0) -> None:
        """End the worker and everything it started: SIGTERM, ``grace`` seconds, SIGKILL."""
        with self._lock:
            proc = self._proc
        if proc is None:
            return
        descendants = _descendants(proc.pid)
        if grace > 0 and proc.poll() is None:
            _signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        _signal_group(proc.pid, signal.SIGKILL)
        for child in descendants:
            try:
                child.kill()
            except Exception:
                pass
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
            send, recv, pidfd = self._send, self._recv, self._pidfd
            self._proc = self._send = self._recv = self._poller = self._pidfd = None
        if pidfd is not None:
            os.close(pidfd)
        for conn in (send, recv):
            if conn is not None:
                try:
                    conn.close()
                except OSError:
                    pass


def write_message(fd: int, data: bytes) -> None:
    """Write ``data`` in ``Connection.send_bytes`` framing: one ``write`` for a small message."""
    n = len(data)
    header = struct.pack("!i", n) if n <= 0x7FFFFFFF else struct.pack("!iQ", -1, n)
    if n <= 16384:
        view = memoryview(header + data)
    else:
        _write_all(fd, memoryview(header))
        view = memoryview(data)
    _write_all(fd, view)


def _write_all(fd: int, view: memoryview) -> None:
    while view:
        view = view[os.write(fd, view):]


def read_message(fd: int) -> bytes:
    """One message in ``Connection.send_bytes`` framing, read with as few syscalls as it
    takes (one, for a message that fits the pipe): the pool reads every result this way, and
    a worker every trial."""
    chunk = os.read(fd, 16384)
    if len(chunk) < 4:
        chunk += _read_exactly(fd, 4 - len(chunk))
    (size,) = struct.unpack("!i", chunk[:4])
    head = 4
    if size == -1:  # over 2 GiB: an 8-byte size follows
        if len(chunk) < 12:
            chunk += _read_exactly(fd, 12 - len(chunk))
        (size,) = struct.unpack("!Q", chunk[4:12])
        head = 12
    body = chunk[head:]
    if len(body) < size:
        return body + _read_exactly(fd, size - len(body))
    return body


def _read_exactly(fd: int, n: int) -> bytes:
    parts = []
    while n > 0:
        part = os.read(fd, min(n, 1 << 20))
        if not part:
            raise EOFError("the worker closed its result pipe mid-message")
        parts.append(part)
        n -= len(part)
    return b"".join(parts)


DEATH_CHECK_MS = 1000
"""Without a pidfd (Linux < 5.3), how often a waiting supervisor checks that its worker lives."""


def _pidfd(pid: int) -> int | None:
    """A descriptor that becomes readable when ``pid`` exits, where the platform has one."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _descendants(pid: int) -> list[Any]:
    try:
        import psutil

        return list(psutil.Process(pid).children(recursive=True))
    except Exception:
        return []
