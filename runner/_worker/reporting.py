"""The report half of a supervised worker's driver side: the running trial's reports handed to
its callback as ``collect`` reads them, and a stop decision sent down the trial pipe with the
watchdog armed to kill the trial if it ignores it (frames: runner/_worker/protocol.py). A trial
sent with ``wait=True`` blocks in each report until it gets its answer: ``stop()`` or
``proceed()``, one per report (runner/_core/waiting.py)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from runner._core.limits import Limits
from runner._worker import protocol
from runner._worker.protocol import write_trial
from runner._worker.watchdog import Watched
from trials import Report

__all__ = ["OnReport", "ReportingWorker"]

OnReport = Callable[[Report], object] | None
"""Where a running trial's reports go in the driver (``None``: nowhere)."""

log = logging.getLogger(__name__)


class ReportingWorker:
    """Mixed into ``WorkerProcess`` (which owns the fields declared here)."""

    _send_fd: int | None
    _watched: Watched | None
    _seq: int
    _limits: Limits
    _on_report: Callable[[Report], object] | None = None
    _last_report: Report | None = None
    _waits: bool = False  # the running trial's reports wait for an answer
    stale_reports = 0
    """Report frames dropped because their trial had answered (`_take_report`)."""

    def _expect_reports(self, on_report: Callable[[Report], object] | None,
                        waits: bool = False) -> None:
        """A trial is about to be sent: its reports go to ``on_report``; with ``waits`` the
        worker is told first that each of them waits for its answer (``OSError`` if gone)."""
        self._on_report, self._last_report, self._waits = on_report, None, waits
        if waits and self._send_fd is not None:
            write_trial(self._send_fd, protocol.encode_decision(self._seq + 1, protocol.WAIT))

    def _take_report(self, seq: int, payload: bytes, answered: bool = False) -> None:
        """Hand a report frame of the running trial to its ``on_report``; one of an earlier
        trial, or one after the trial's answer (``answered``), is dropped (a thread or a fork
        the trial left behind): never another trial's, never a verdict."""
        if seq != self._seq or answered:
            self._stale_report(seq)
            return
        report = self._last_report = protocol.decode_report(payload) or self._last_report
        if report is not None and self._on_report is not None:
            self._on_report(report)
        elif self._waits:  # nobody will decide on this report: it must not wait forever
            self.proceed()

    def _stale_report(self, seq: int) -> None:
        self.stale_reports += 1
        if self.stale_reports == 1:
            log.warning("dropping a report of trial %d of worker %s that came after its "
                        "trial answered (a thread or process the trial left running); later "
                        "ones are dropped silently and counted", seq, getattr(self, "pid", None))

    def stop(self) -> None:
        """Tell the running trial to stop at its next report; the watchdog kills it if it has
        not ended after the grace period (STOPPED with its last report all the same)."""
        fd, watched, seq = self._send_fd, self._watched, self._seq
        if fd is None or watched is None:
            return
        try:
            write_trial(fd, protocol.encode_decision(seq))
        except OSError:
            return  # the worker is gone: collect() tells how the trial ended
        watched.stop_by(time.monotonic() + self._limits.grace)

    def proceed(self) -> None:
        """Answer the running trial's waiting report with "continue"."""
        fd, seq = self._send_fd, self._seq
        if fd is None:
            return
        try:
            write_trial(fd, protocol.encode_decision(seq, protocol.CONTINUE))
        except OSError:
            return  # the worker is gone: collect() tells how the trial ended
