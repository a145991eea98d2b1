"""The body of a supervised worker process: load the evaluator once, then evaluate trials one at
a time under the memory/CPU rlimits, sending each result back as plain data.

    driver (runner/_worker/process.py)          this process (own session)
    ----------------------------------          -------------------------
    init: (sys.path, payload, token) --pipe-->  cloudpickle.loads(payload) -> evaluator, shared
                              <--frame seq 0--  ("ready", pid) or ("init-error", traceback)
    trial n: (config, instance,   --pipe----->  with rlimits: evaluator.run_wrapper(trial)
             seed, budget)        <--frame n--  report(step, cost): ("R", step, cost, ...)
             decision (n, stop)   --pipe----->  read at the next report: TrialStopped
             (n, wait) before trial n: each report blocks for its answer (n, stop|continue)
                                  <--frame n--  RawResult as a plain tuple (returns.py)

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
from typing import TYPE_CHECKING, Any

from runner._core import verdicts
from runner._core.caps import is_plain_data, over_result_cap
from runner._core.returns import RawResult
from runner._worker import assign, protocol
from runner._worker.protocol import (
    RECYCLE,
    UNRUN,
    WAIT,
    decode_decision,
    encode_frame,
    read_trial,
    write_all,
)

if TYPE_CHECKING:
    from runner._core.evaluator import Evaluator

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


def encode_result(value: RawResult) -> bytes:
    """Pickle a result as a plain tuple with an int status (lighter than the named one and the
    enum member); degrade its info dict to text rather than lose the result, and refuse one
    over the size cap. Never raises: the worker's own failure must not read as the trial's
    death."""
    info = value.additional_info
    plain = (int(value.status), *value[1:])
    try:
        data = pickle.dumps(plain, protocol=pickle.HIGHEST_PROTOCOL)
    except BaseException as exc:  # an info value (or key) that does not pickle
        data = pickle.dumps((*plain[:6], _plain(info, exc)))
    # builtins only: the pickle's size is its size in the driver; objects rebuild themselves
    too_large = over_result_cap(data, 0, protocol.MAX_RESULT_BYTES, plain=is_plain_data(info))
    if too_large is not None:
        return pickle.dumps(("oversize", too_large))
    return data


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
        from runner._worker.child_reports import trial_reporter
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
    seq, waits = 0, False
    while True:
        message = read_trial(read_fd)
        if not message:
            return
        decision = decode_decision(message)
        if decision is not None:  # stale (its trial has ended), or "the next trial waits"
            waits = waits or decision == (seq + 1, WAIT)
            continue
        seq += 1
        reporter = (trial_reporter(read_fd, write_fd, token, seq, waits)
                    if evaluator.target.wants_report and run_override is None else None)
        waits = False
        result = _evaluate(evaluator, shared, run_override, applied, decoder, message,
                           reporter)
        data = encode_result(result)
        if os.getpid() != me:  # a process the target forked came back here: it is not us
            os._exit(0)
        write_all(write_fd, encode_frame(token, seq, data))
        assign.after_trial()  # its share stays held for the next trial of it (assign.py)
        # After the answer, while the driver takes it in: what did the trial leave behind?
        kill_children()
        dirty = ("a fresh process per trial" if limits.fresh_process
                 else baseline.check(assign.held_environment()))
        if dirty is not None:
            _recycle(read_fd, write_fd, token, seq, dirty)
            return


def _recycle(read_fd: int, write_fd: int, token: int, seq: int, why: str) -> None:
    """Tell the driver this worker must be replaced; a trial it was sent meanwhile is
    answered "unrun" (the driver sends it to the new worker), then the worker ends."""
    write_all(write_fd, encode_frame(token, seq, RECYCLE + why.encode()))
    message = read_trial(read_fd)
    while message and decode_decision(message) is not None:  # a late decision: not a trial
        message = read_trial(read_fd)
    if message:
        write_all(write_fd, encode_frame(token, seq + 1, UNRUN))


def _evaluate(evaluator: Evaluator, shared: Any, run_override: Any, applied: Any, decoder: Any,
              message: bytes, reporter: Any = None) -> RawResult:
    """One trial's `RawResult`; whatever goes wrong in the worker's own code becomes that
    trial's CRASHED value, never a dead worker."""
    crash = evaluator.objectives.crash_cost
    try:
        info = decoder.decode(message)
        if info.resources is not None:  # its share of cores, devices, memory (assign.py)
            assign.apply(info.resources, evaluator.limits.memory is not None)
            try:
                return _evaluate_in(evaluator, shared, run_override, applied, info, reporter)
            finally:
                assign.lift_memory()
        assign.release()  # no share: the worker's own variables and cores, if a share set them
        return _evaluate_in(evaluator, shared, run_override, applied, info, reporter)
    except MemoryError:  # outside the target, e.g. while building the value
        outcome = verdicts.memory_outcome(None, evaluator.limits.memory, crash)
    except BaseException as exc:
        outcome = verdicts.raised(exc, crash)
        outcome.additional_info["error"] = (f"the worker failed around the trial: "
                                            f"{outcome.additional_info['error']}")
    return RawResult(outcome.status, outcome.cost, 0.0, 0.0, 0.0, 0.0, outcome.additional_info)


def _evaluate_in(evaluator: Evaluator, shared: Any, run_override: Any, applied: Any, info: Any,
                 reporter: Any) -> RawResult:
    if applied is None:
        return evaluator.run_wrapper(info, shared, run_override, reporter)
    with applied:
        return evaluator.run_wrapper(info, shared, run_override, reporter)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
