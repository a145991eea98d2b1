"""The report half of a supervised worker's driver side: the running trial's reports handed to
its callback as ``collect`` reads them, and a stop decision sent down the trial pipe with the
watchdog armed to kill the trial if it ignores it (frames: runner/_worker/protocol.py). A trial
sent with ``wait=True`` blocks in each report until it gets its answer: ``stop()`` or
``proceed()``, one per report (runner/_core/waiting.py).

`WorkerProcess` (process.py) owns the `TrialLine` and keeps it current; its `ReportRelay` is
given the line and only reads it."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from runner._worker import protocol
from runner._worker.protocol import write_trial
from runner._worker.watchdog import Watched
from trials import Report

__all__ = ["OnReport", "ReportRelay", "TrialLine"]

OnReport = Callable[[Report], object] | None
"""Where a running trial's reports go in the driver (``None``: nowhere)."""

log = logging.getLogger(__name__)


class TrialLine:
    """The driver's end of one worker process's trial pipe: its write descriptor (``None``
    while no process runs), the number of the trial last sent on it, the watchdog's record of
    the process, and its pid (for messages)."""

    __slots__ = ("fd", "seq", "watched", "pid")

    def __init__(self) -> None:
        self.fd: int | None = None
        self.seq = 0
        self.watched: Watched | None = None
        self.pid: int | None = None


class ReportRelay:
    """The running trial's reports and the decisions on them, over a worker's `TrialLine`;
    ``grace``: seconds a stopped trial has to end before the watchdog kills it."""

    __slots__ = ("_line", "_grace", "_on_report", "last", "_waits", "stale")

    def __init__(self, line: TrialLine, grace: float) -> None:
        self._line = line
        self._grace = grace
        self._on_report: OnReport = None
        self.last: Report | None = None
        """The running trial's last report (a STOPPED value's step and cost)."""
        self._waits = False  # the running trial's reports wait for an answer
        self.stale = 0
        """Report frames dropped because their trial had answered (`take`)."""

    def expect(self, on_report: OnReport, waits: bool = False) -> None:
        """A trial is about to be sent: its reports go to ``on_report``; with ``waits`` the
        worker is told first that each of them waits for its answer (``OSError`` if gone)."""
        self._on_report, self.last, self._waits = on_report, None, waits
        line = self._line
        if waits and line.fd is not None:
            write_trial(line.fd, protocol.encode_decision(line.seq + 1, protocol.WAIT))

    def take(self, payload: bytes) -> None:
        """Hand a report frame of the running trial, before its answer, to its ``on_report``
        (any other report frame is `drop`'s: never another trial's, never a verdict)."""
        report = self.last = protocol.decode_report(payload) or self.last
        if report is not None and self._on_report is not None:
            self._on_report(report)
        elif self._waits:  # nobody will decide on this report: it must not wait forever
            self.proceed()

    def drop(self, seq: int) -> None:
        """Count a stale report frame of trial ``seq``: one of an earlier trial, or one after
        its trial's answer (a thread or a fork the trial left behind); warned about once."""
        self.stale += 1
        if self.stale == 1:
            log.warning("dropping a report of trial %d of worker %s that came after its "
                        "trial answered (a thread or process the trial left running); later "
                        "ones are dropped silently and counted", seq, self._line.pid)

    def stop(self) -> None:
        """Tell the running trial to stop at its next report; the watchdog kills it if it has
        not ended after the grace period (STOPPED with its last report all the same)."""
        line = self._line
        fd, watched, seq = line.fd, line.watched, line.seq
        if fd is None or watched is None:
            return
        try:
            write_trial(fd, protocol.encode_decision(seq))
        except OSError:
            return  # the worker is gone: collect() tells how the trial ended
        watched.stop_by(time.monotonic() + self._grace)

    def proceed(self) -> None:
        """Answer the running trial's waiting report with "continue"."""
        line = self._line
        fd, seq = line.fd, line.seq
        if fd is None:
            return
        try:
            write_trial(fd, protocol.encode_decision(seq, protocol.CONTINUE))
        except OSError:
            return  # the worker is gone: collect() tells how the trial ended
