"""The body of a supervised worker process: load the evaluator once, then evaluate trials one at
a time under the memory/CPU rlimits, sending each result back as plain data.

    driver (runner/_worker/process.py)          this process (own session)
    ----------------------------------          -------------------------
    init: (sys.path, payload, token) --pipe-->  cloudpickle.loads(payload) -> evaluator, shared
                              <--frame seq 0--  ("ready", pid) or ("init-error", traceback)
    trial n: (config, instance,   --pipe----->  with rlimits: evaluator.run_wrapper(trial)
             seed, budget)        <--frame n--  report(step, cost): ("R", step, cost, ...)
             decision (n, stop)   --pipe----->  read at the next report: TrialStopped
                                  <--frame n--  (status, cost, time, cpu, start, end, info)

The worker is its own process group's leader and a child subreaper, so everything a trial
starts can be found and killed with it; it dies with the driver thread that started it
(PDEATHSIG). Its pipe descriptors sit high and close on exec, out of a target's way. A process
the target forked that returns into this loop exits at once instead of answering. After each
trial the worker checks that the trial left it as it found it (`runner._worker.hygiene`)
and ends itself when not, so no trial inherits another's state.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import pickle
import signal
import sys
import traceback
from typing import Any

from runner._core import verdicts
from runner._worker.protocol import MAX_RESULT_BYTES

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_HIGH_FD = 200
"""The pipe descriptors move at or above this, away from the low numbers a target may write."""


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


def _move_high(fd: int) -> int:
    """Duplicate ``fd`` to a high, close-on-exec number and close the low one."""
    try:
        high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, _HIGH_FD)
    except OSError:
        os.set_inheritable(fd, False)
        return fd
    os.close(fd)
    return high


def kill_children() -> None:
    """Kill and reap whatever the last trial left running (cheap when it left nothing)."""
    try:
        os.waitpid(-1, os.WNOHANG)
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
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def encode_result(value: Any) -> bytes:
    """Pickle a result tuple; degrade its info dict to text rather than lose the result, and
    refuse one over the size cap. Never raises: the worker's own failure must not read as the
    trial's death."""
    status, cost, wall, cpu, start, end, info = value
    try:
        data = pickle.dumps(tuple(value), protocol=pickle.HIGHEST_PROTOCOL)
    except BaseException as exc:  # an info value (or key) that does not pickle
        data = pickle.dumps((status, cost, wall, cpu, start, end, _plain(info, exc)))
    if len(data) > MAX_RESULT_BYTES:
        msg = (f"the result is {len(data) / 2**20:.0f} MB pickled, over the "
               f"{MAX_RESULT_BYTES // 2**20} MB cap on what a trial may return")
        return pickle.dumps(("oversize", msg))
    if not _plain_data(info):  # objects rebuild themselves: measure what the driver would get
        too_large = _decoded_too_large(data)
        if too_large is not None:
            return pickle.dumps(("oversize", too_large))
    return data


_PLAIN = (str, int, float, bool, type(None), bytes)


def _plain_data(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` is builtins only (then its pickle's size is its size in the driver)."""
    if isinstance(value, _PLAIN):
        return True
    if depth > 20:
        return False
    if type(value) in (list, tuple):
        return all(_plain_data(v, depth + 1) for v in value)
    if type(value) is dict:
        return all(_plain_data(k, depth + 1) and _plain_data(v, depth + 1)
                   for k, v in value.items())
    return False


def _decoded_too_large(data: bytes) -> str | None:
    """Unpickle ``data`` here (this worker is expendable, the driver is not) and measure it."""
    from runner._core.caps import check_result_size

    try:
        decoded = pickle.loads(data)
    except MemoryError:
        return "the result does not fit in memory once unpickled"
    except Exception:  # the driver will say that it cannot unpickle it
        return None
    return check_result_size(decoded, MAX_RESULT_BYTES)


def _plain(info: Any, exc: BaseException) -> dict[str, Any]:
    """``info`` with every key and value that is not plain data turned into text."""
    safe: dict[str, Any] = {}
    try:
        items = list(info.items())
    except BaseException:
        items = []
    for key, val in items:
        safe[_text(key) if not isinstance(key, str) else key] = (
            val if isinstance(val, (str, int, float, bool, type(None))) else _text(val))
    safe["pickle_error"] = _text(exc)
    return safe


def _text(obj: Any) -> str:
    try:
        return repr(obj)[:10_000]
    except BaseException:
        return f"<{type(obj).__name__} whose repr() raised>"


def _ignore_notices() -> None:
    """A batch job's preemption notice (``scancel --full`` signals every process of the job)
    is for the dask worker that runs this one (runner/_backends/dask/notice.py), not the
    trial: ignore the signals it names, SIGTERM excepted (limits stop trials with it)."""
    for name in os.environ.get("TRIALRUNNER_NOTICE_SIGNALS", "").split(","):
        sig = getattr(signal, name, None)
        if isinstance(sig, signal.Signals) and sig is not signal.SIGTERM:
            signal.signal(sig, signal.SIG_IGN)


def main(read_fd: int, write_fd: int, parent: int) -> None:
    """Serve trials until the driver closes the pipe."""
    _linux_setup(parent)
    _ignore_notices()
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # SIGXCPU must not dump core
    except (ImportError, ValueError, OSError):
        pass
    read_fd, write_fd = _move_high(read_fd), _move_high(write_fd)
    from runner._worker.protocol import decode_decision, encode_frame, read_trial, write_all

    init = read_trial(read_fd)
    if init is None:
        return
    sys_path, payload, token = pickle.loads(init)
    sys.path[:] = sys_path + [p for p in sys.path if p not in sys_path]
    me = os.getpid()
    try:
        import cloudpickle

        import runner._core.script as script
        from runner._core.limits import AppliedLimits
        from runner._worker.hygiene import Baseline
        from runner._worker.wire import TrialDecoder

        script.IN_SUPERVISED_WORKER = True
        evaluator, shared, run_override = cloudpickle.loads(payload)
        limits = evaluator.limits
        limited = limits.memory is not None or limits.cpu_time is not None
        applied = AppliedLimits(limits) if limited else None
        baseline = Baseline()
    except BaseException:
        write_all(write_fd, encode_frame(token, 0, pickle.dumps(
            ("init-error", traceback.format_exc()))))
        return
    write_all(write_fd, encode_frame(token, 0, pickle.dumps(("ready", me))))
    del payload
    decoder = TrialDecoder()
    seq = 0
    while True:
        message = read_trial(read_fd)
        if not message:
            return
        if decode_decision(message) is not None:
            continue  # a decision for a trial that has ended already: stale
        seq += 1
        reporter = (_reporter(read_fd, write_fd, token, seq)
                    if evaluator.target.wants_report and run_override is None else None)
        result = _evaluate(evaluator, shared, run_override, applied, decoder, message,
                           reporter)
        data = encode_result(result)
        if os.getpid() != me:  # a process the target forked came back here: it is not us
            os._exit(0)
        write_all(write_fd, encode_frame(token, seq, data))
        # After the answer, while the driver takes it in: what did the trial leave behind?
        kill_children()
        dirty = "a fresh process per trial" if limits.fresh_process else baseline.check()
        if dirty is not None:
            _recycle(read_fd, write_fd, token, seq, dirty)
            return


def _recycle(read_fd: int, write_fd: int, token: int, seq: int, why: str) -> None:
    """Tell the driver this worker must be replaced; a trial it was sent meanwhile is
    answered "unrun" (the driver sends it to the new worker), then the worker ends."""
    from runner._worker.protocol import (
        RECYCLE,
        UNRUN,
        decode_decision,
        encode_frame,
        read_trial,
        write_all,
    )

    write_all(write_fd, encode_frame(token, seq, RECYCLE + why.encode()))
    message = read_trial(read_fd)
    while message and decode_decision(message) is not None:  # a late decision: not a trial
        message = read_trial(read_fd)
    if message:
        write_all(write_fd, encode_frame(token, seq + 1, UNRUN))


def _reporter(read_fd: int, write_fd: int, token: int, seq: int) -> Any:
    """Trial ``seq``'s ``report``: a look (never blocking) at the trial pipe for a stop decision
    for this trial, then a report frame to the driver, then another look."""
    import select

    from runner._core.reporting import Reporter
    from runner._worker.protocol import (
        STOP,
        decode_decision,
        encode_frame,
        encode_report,
        has_buffered,
        read_trial,
        unread,
        write_all,
    )

    probe = select.poll()
    probe.register(read_fd, select.POLLIN)

    def stop_arrived() -> bool:
        stop = False
        while has_buffered(read_fd) or probe.poll(0):
            message = read_trial(read_fd)
            if message is None:
                return stop  # the driver is gone: the trial ends with its worker anyway
            decision = decode_decision(message)
            if decision is None:  # not a decision: keep it for the loop that reads trials
                unread(read_fd, message)
                break
            if decision[0] == seq and decision[1] == STOP:
                stop = True
        return stop

    def send(report: Any) -> bool:
        write_all(write_fd, encode_frame(token, seq, encode_report(
            report.step, report.cost, report.metrics, report.time)))
        return stop_arrived()

    return Reporter(send, stop_arrived)


def _evaluate(evaluator: Any, shared: Any, run_override: Any, applied: Any, decoder: Any,
              message: bytes, reporter: Any = None) -> list[Any]:
    """One trial as the list ``[status, cost, wall, cpu, start, end, info]``; whatever goes
    wrong in the worker's own code becomes that trial's CRASHED value, never a dead worker."""
    crash = evaluator.objectives.crash_cost
    try:
        info = decoder.decode(message)
        if applied is None:
            status, *rest = evaluator.run_wrapper(info, shared, run_override, reporter)
        else:
            with applied:
                status, *rest = evaluator.run_wrapper(info, shared, run_override, reporter)
        return [int(status), *rest]  # an int travels lighter than the enum member
    except MemoryError:  # outside the target, e.g. while building the value
        outcome = verdicts.memory_outcome(None, evaluator.limits.memory, crash)
    except BaseException as exc:
        outcome = verdicts.raised(exc, crash)
        outcome.additional_info["error"] = (f"the worker failed around the trial: "
                                            f"{outcome.additional_info['error']}")
    return [int(outcome.status), outcome.cost, 0.0, 0.0, 0.0, 0.0, outcome.additional_info]


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
