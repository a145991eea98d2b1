"""The worker side of a trial's reports: its ``report(step, cost, **metrics)`` looks (never
blocking) at the trial pipe for a stop decision, sends a report frame up the result pipe, and
looks again (frames: runner/_worker/protocol.py; the driver side: runner/_worker/reporting.py).

* A report is held to the cap on what a trial may return, measured as a result is
  (`runner._core.caps.over_result_cap`): over it, ``report`` raises ``ValueError`` in the
  target, naming the step, and nothing is sent; the trial goes on if it catches that.
* Threads of the trial take turns (``Reporter``'s lock): the poll object and the trial pipe's
  buffer are not thread-safe, and a frame larger than the pipe's atomic size written by two
  threads at once would interleave.
* A trial sent with ``waits`` (``wait_for_decisions``) blocks in each report for its answer
  (``STOP`` or ``CONTINUE``, runner/_core/waiting.py) instead of looking again.
* In a process forked from the trial every call is dropped (``Reporter.closed_by_fork``): a fork
  must neither read the worker's trial pipe (it would take the next trial) nor write frames
  that interleave with the worker's.
"""

from __future__ import annotations

import os
import select
from typing import Any

from runner._core.caps import is_plain_data, over_result_cap
from runner._core.reporting import Reporter
from runner._worker import protocol
from runner._worker.protocol import (
    STOP,
    decode_decision,
    encode_frame,
    encode_report,
    read_trial,
    unread,
    write_all,
)

__all__ = ["trial_reporter"]

_current: Reporter | None = None
"""The reporter of the trial running (or last run) in this worker process."""


def _forked() -> None:
    if _current is not None:
        _current.closed_by_fork()


os.register_at_fork(after_in_child=_forked)


def trial_reporter(read_fd: int, write_fd: int, token: int, seq: int,
                   waits: bool = False) -> Reporter:
    """Trial ``seq``'s ``report`` (each one waiting for its answer when ``waits``)."""
    global _current

    probe = select.poll()
    probe.register(read_fd, select.POLLIN)
    cap = protocol.MAX_RESULT_BYTES

    buffered = protocol.BUFFERED  # ``read_fd in buffered``: has_buffered without a call

    def stop_arrived() -> bool:
        stop = False
        while read_fd in buffered or probe.poll(0):
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

    def answer() -> bool:
        while True:
            message = read_trial(read_fd)
            if message is None:
                return False  # the driver is gone: the trial ends with its worker anyway
            decision = decode_decision(message)
            if decision is None:  # a trial, not an answer: cannot happen; do not hang on it
                unread(read_fd, message)
                return False
            if decision[0] == seq:  # (another seq: stale, from an earlier trial)
                return decision[1] == STOP

    def send(report: Any) -> bool:  # (threads of the trial take turns: Reporter's lock)
        payload = encode_report(report.step, report.cost, report.metrics, report.time)
        metrics = report.metrics
        if len(payload) > cap or (metrics and not is_plain_data(metrics)):
            _refuse_if_too_large(payload, report, cap, plain=not metrics)
        write_all(write_fd, encode_frame(token, seq, payload))
        return answer() if waits else stop_arrived()

    _current = Reporter(send, stop_arrived)
    return _current


def _refuse_if_too_large(payload: bytes, report: Any, cap: int, plain: bool) -> None:
    """``ValueError`` if the report in ``payload`` is over the cap on what a trial may return,
    pickled or once decoded (measured here: a worker is expendable, the driver is not)."""
    error = over_result_cap(payload, 1, cap, plain=plain, what="the report")
    if error is not None:  # (a validated step: a number a float holds, short to print)
        raise ValueError(f"report(step={report.step!r}) was not sent: {error} (keep large "
                         "data in files and report their paths)")
