"""The body of a supervised worker process: load the evaluator once, then evaluate trials one at
a time under the memory/CPU rlimits, sending each result back as plain data.

    driver (WorkerProcess)                     this process (own session)
    ---------------------                      -------------------------
    init: (sys.path, payload) ------pipe----->  cloudpickle.loads(payload) -> evaluator, shared
                              <-----pipe------  ("ready",) or ("init-error", traceback)
    trial: pickle(TrialInfo)  ------pipe----->  with rlimits: evaluator.measure(info)
                              <-----pipe------  (status, cost, time, cpu, start, end, info)

The worker is its own process group's leader and a child subreaper, so everything a trial
starts can be killed with it; it dies with the driver thread that started it (PDEATHSIG).
"""

from __future__ import annotations

import ctypes
import os
import pickle
import signal
import struct
import sys
import traceback
from multiprocessing.connection import Connection
from typing import Any

MAX_RESULT_BYTES = 256 * 1024 * 1024
"""Results larger than this (pickled) are refused as CRASHED instead of being shipped."""

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36


def _linux_setup(parent: int) -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except OSError:
        return
    if os.getppid() != parent:  # the driver died before PDEATHSIG was armed
        os._exit(0)


def kill_children() -> None:
    """Kill and reap whatever the last trial left running (cheap when it left nothing)."""
    try:
        pid, _ = os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return  # no children at all: the common case, one syscall
    import psutil

    for child in psutil.Process().children(recursive=True):
        try:
            child.kill()
        except psutil.Error:
            pass
    while True:
        try:
            pid, _ = os.waitpid(-1, 0)
        except ChildProcessError:
            return


def encode_result(value: Any) -> bytes:
    """Pickle a result tuple, degrading its info dict to text rather than losing the result."""
    status, cost, wall, cpu, start, end, info = value
    try:
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # an info value that does not pickle
        safe = {k: v if isinstance(v, (str, int, float, bool, type(None))) else repr(v)
                for k, v in info.items()}
        safe["pickle_error"] = repr(exc)
        data = pickle.dumps((status, cost, wall, cpu, start, end, safe))
    if len(data) > MAX_RESULT_BYTES:
        msg = (f"the result is {len(data) / 2**20:.0f} MB pickled, over the "
               f"{MAX_RESULT_BYTES // 2**20} MB cap on what a trial may return")
        data = pickle.dumps(("oversize", msg))
    return data


def main(read_fd: int, write_fd: int, parent: int) -> None:
    """Serve trials until the driver closes the pipe."""
    _linux_setup(parent)
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # SIGXCPU must not dump core
    except (ImportError, ValueError, OSError):
        pass
    conn_in = Connection(read_fd, writable=False)
    conn_out = Connection(write_fd, readable=False)
    sys_path, payload = pickle.loads(conn_in.recv_bytes())
    sys.path[:] = sys_path + [p for p in sys.path if p not in sys_path]
    try:
        import cloudpickle

        import runner._core.script as script
        from runner._core.limits import AppliedLimits
        from runner._worker.process import read_message, write_message
        from runner._worker.wire import TrialDecoder

        script.IN_SUPERVISED_WORKER = True
        evaluator, shared, run_override = cloudpickle.loads(payload)
        limited = evaluator.limits.memory is not None or evaluator.limits.cpu_time is not None
        applied = AppliedLimits(evaluator.limits) if limited else None
    except BaseException:
        conn_out.send_bytes(pickle.dumps(("init-error", traceback.format_exc())))
        return
    conn_out.send_bytes(pickle.dumps(("ready", os.getpid())))
    del payload
    decoder = TrialDecoder()
    while True:
        try:
            message = read_message(read_fd)
        except (EOFError, struct.error):
            return
        if not message:
            return
        write_message(write_fd, encode_result(_evaluate(evaluator, shared, run_override,
                                                        applied, decoder.decode(message))))
        kill_children()


def _evaluate(evaluator: Any, shared: Any, run_override: Any, applied: Any, info: Any) -> Any:
    try:
        if applied is None:
            status, *rest = evaluator.measure(info, shared, run_override)
        else:
            with applied:
                status, *rest = evaluator.measure(info, shared, run_override)
        return (int(status), *rest)  # an int travels lighter than the enum member
    except MemoryError:  # outside the target, e.g. while building the value
        from trials import StatusType

        crash = evaluator.objectives.crash_cost
        limit = evaluator.limits.memory
        if limit is None:
            return (int(StatusType.CRASHED), crash, 0.0, 0.0, 0.0, 0.0,
                    {"error": "MemoryError while handling the trial's result"})
        return (int(StatusType.MEMORYOUT), crash, 0.0, 0.0, 0.0, 0.0,
                {"error": f"memory_limit of {limit:g} MB exceeded (MemoryError)"})


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
