"""The loop's side of the journal: the records it appends (read back on resume by
``runner/_loop/resume.py``), and atomic snapshots of a history.

Records (one JSON line each, after the journal's header)::

    {"type": "submit",    "trial": 7, "attempt": 0, "info": {...}, "time": 1.7e9}
    {"type": "result",    "trial": 7, "attempt": 0, "final": false, "info": {...},
                          "value": {...}, "time": ...}      # a crashed attempt that is retried
    {"type": "submit",    "trial": 7, "attempt": 1, ...}
    {"type": "result",    "trial": 7, "attempt": 1, "final": true, ...}   # enters history, told
    {"type": "cancelled", "trial": 8, "attempt": 0, "reason": "interrupted", "time": ...}
    {"type": "failed",    "trial": 9, "attempt": 2, "traceback": "...", "time": ...}
    {"type": "report",    "trial": 7, "attempt": 1, "step": 3, "cost": 0.5, "t": 1.2}
                          # an intermediate result; "t": seconds into the trial, "metrics" if any
    {"type": "interrupted", "trial": 7, "attempt": 1, "reason": "...", "job": "1234",
                          "requeue": 1, "time": ...}
                          # its worker (node, batch job) was lost; the runner runs it again
                          # within the same attempt (no retry spent); "job": null if unknown

Attempts count from 0 (the first run) and go on counting across resumed sessions.

A trial is *finished* once it has a ``final`` result; every other submitted trial is
*unfinished* and runs again on resume, with the same id and the next attempt number.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from typing import Any

from runner._core.caps import JOURNAL_CAP, JOURNAL_VALUE_BYTES
from runner._loop.study import ResumeMode, check_study
from trials import Journal, Report, TrialInfo, TrialValue
from trials._journal import FORMAT_VERSION
from trials._journal_files import check_replaceable
from trials._numbers import real_to_float

__all__ = ["LoopJournal", "PeriodicSaver", "write_history"]

log = logging.getLogger(__name__)


_GIVEN: weakref.WeakSet[Journal] = weakref.WeakSet()
"""Open journals handed to a loop: each serves one loop only (a loop replays what its journal
held when it was opened and numbers its trials from there; a second loop on the same object
would interleave its trials with the first's under the same ids)."""
_GIVEN_LOCK = threading.Lock()

class LoopJournal:
    """Appends the loop's records to a `trials.Journal` opened from a path (and closed by
    the loop) or handed in open (and left open, its fsync policy untouched).

    A journal the loop opens itself is synced by the loop: `sync` (an ``fdatasync``) runs
    after each batch of results and before the optimizer hears of them, so every result is on
    disk when it is told, at one sync per batch instead of one per record; submit records reach
    the disk with the next sync.
    """

    def __init__(self, journal: str | os.PathLike[str] | Journal, study: str | None = None,
                 fingerprint: dict[str, Any] | None = None, resume: ResumeMode = "check",
                 clock: Callable[[], float] = time.time) -> None:
        """Open ``journal`` and check that it holds this study (see ``runner._loop.study``);
        ``clock`` stamps the records' ``time``: Unix time, or a runner's own clock."""
        self._time = clock
        if isinstance(journal, Journal):
            with _GIVEN_LOCK:
                if journal in _GIVEN:
                    raise ValueError(
                        f"journal={journal!r} was already given to another loop: an open "
                        "trials.Journal serves one OptimizationLoop (a loop replays what the "
                        "journal held when it was opened, so a second one would reuse the "
                        "first's trial ids); close it and pass its path, or open it again, "
                        "for the next loop")
                _GIVEN.add(journal)
            self.journal, self.owned = journal, False
        elif isinstance(journal, (str, os.PathLike)):
            # A new file gets the name in its header; an existing one is compared by
            # check_study, whose error says what differs and how to go on anyway.
            fresh = not os.path.exists(journal) or os.path.getsize(journal) == 0
            self.journal = Journal.open(journal, fsync="never", study=study if fresh else None,
                                        fingerprint=fingerprint)
            self.owned = True
        else:
            raise TypeError("journal must be a path or an open trials.Journal, got "
                            f"{journal!r} (type {type(journal).__name__})")
        self.path = self.journal.path
        if fingerprint is not None:
            try:
                check_study(self.journal, study, fingerprint, resume)
            except BaseException:
                self.abandon()
                raise

    def submit(self, trial: int, attempt: int, info: TrialInfo) -> None:
        self.journal.append({"type": "submit", "trial": trial, "attempt": attempt,
                             "info": info.to_dict(cap=JOURNAL_CAP), "time": self._time()})

    def result(self, trial: int, attempt: int, final: bool, info: TrialInfo,
               value: TrialValue) -> None:
        self.journal.append({"type": "result", "trial": trial, "attempt": attempt,
                             "final": final, "info": info.to_dict(cap=JOURNAL_CAP),
                             "value": value.to_dict(cap=JOURNAL_CAP),
                             "time": self._time()})

    def report(self, trial: int, attempt: int, report: Report) -> None:
        """One intermediate result, compactly: no info, no wall-clock stamp."""
        record = {"type": "report", "trial": trial, "attempt": attempt,
                  **report.to_dict(cap=JOURNAL_CAP)}  # metrics capped as a result's info
        record["t"] = record.pop("time")
        self.journal.append(record)

    def interrupted(self, trial: int, attempt: int, reason: str, job: str | None,
                    requeue: int) -> None:
        self.journal.append({"type": "interrupted", "trial": trial, "attempt": attempt,
                             "reason": reason, "job": job, "requeue": requeue,
                             "time": self._time()})

    def cancelled(self, trial: int, attempt: int, reason: str) -> None:
        self.journal.append({"type": "cancelled", "trial": trial, "attempt": attempt,
                             "reason": reason, "time": self._time()})

    def failed(self, trial: int, attempt: int, traceback: str) -> None:
        if len(traceback) > JOURNAL_VALUE_BYTES:  # keep the end: the exception is at the end
            cut = len(traceback) - JOURNAL_VALUE_BYTES
            traceback = f"[... {cut} characters cut ...]\n" + traceback[cut:]
        self.journal.append({"type": "failed", "trial": trial, "attempt": attempt,
                             "traceback": traceback, "time": self._time()})

    def end(self, in_flight: list[tuple[int, int]], reason: str) -> None:
        """Mark ``(trial, attempt)`` pairs still in flight as cancelled, then `close`;
        a broken journal is logged, not raised (those trials are unfinished there anyway)."""
        try:
            for trial, attempt in in_flight:
                self.cancelled(trial, attempt, reason)
        except OSError as exc:
            log.warning("could not mark the trials in flight in the journal: %s", exc)
        finally:
            try:
                self.close()
            except OSError as exc:
                log.warning("closing the journal failed: %s", exc)

    def sync(self) -> None:
        """Force what was appended to disk, if the loop owns the journal's syncing."""
        if self.owned:
            self.journal.sync()

    def abandon(self) -> None:
        """The loop was never built: `close`, and an open journal handed in may be given
        to another loop."""
        try:
            self.close()
        finally:
            if not self.owned:
                with _GIVEN_LOCK:
                    _GIVEN.discard(self.journal)

    def close(self) -> None:
        """Sync, and close the journal if the loop opened it."""
        if self.owned:
            try:
                self.journal.sync()
            finally:
                self.journal.close()


_SNAPSHOT_ADVICE = ("a history snapshot replaces its file atomically, so it must be a regular "
                    "file (or a symlink to one); choose another path")


def write_history(path: str | os.PathLike[str], pairs: Iterable[tuple[TrialInfo, TrialValue]],
                  study: str | None = None, fingerprint: dict[str, Any] | None = None) -> int:
    """Write ``pairs`` atomically (temporary file, fsync, ``os.replace``) in the journal format,
    so `trials.History.load` reads the snapshot; returns how many were written. Only a
    regular file is ever replaced (a symlink's target, the link kept): a device, FIFO or folder
    at ``path`` is a `trials.JournalFormatError`."""
    target = check_replaceable(os.fspath(path), _SNAPSHOT_ADVICE)
    folder = os.path.dirname(target)
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(target) + ".", suffix=".tmp", dir=folder)
    n = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            header = {"type": "header", "format": FORMAT_VERSION, "created": time.time(),
                      "study": study, "snapshot": True}
            if fingerprint is not None:
                header["fingerprint"] = fingerprint
            f.write(json.dumps(header, separators=(",", ":")) + "\n")
            for trial, (info, value) in enumerate(pairs):
                record = {"type": "result", "trial": trial, "attempt": 0, "final": True,
                          "info": info.to_dict(cap=JOURNAL_CAP),
                          "value": value.to_dict(cap=JOURNAL_CAP)}
                f.write(json.dumps(record, allow_nan=False, separators=(",", ":")) + "\n")
                n += 1
            f.flush()
            os.fsync(f.fileno())
        check_replaceable(target, _SNAPSHOT_ADVICE)  # again: it may have changed meanwhile
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return n


class PeriodicSaver:
    """A background thread writing a loop's history with `write_history` every
    ``interval`` seconds and once more when the loop ends; `stop` ends it."""

    def __init__(self, loop: Any, path: str | os.PathLike[str], interval: float) -> None:
        seconds = real_to_float(interval, "interval", "a number of seconds > 0")
        if not seconds > 0:
            raise ValueError(f"interval must be a number of seconds > 0, got {interval!r}")
        self.path = os.fspath(path)
        check_replaceable(self.path, _SNAPSHOT_ADVICE)  # a clear error now, not at each save
        self.interval = seconds
        self.saves = 0
        self._loop = loop
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="PeriodicSaver", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stop saving (after one last save) and wait for the thread."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def save(self) -> None:
        """Write the history now."""
        loop = self._loop
        write_history(self.path, list(loop.history), getattr(loop, "study", None),
                      getattr(loop, "fingerprint", None))
        self.saves += 1

    def _run(self) -> None:
        ended = self._loop.ended
        last = time.monotonic()
        while True:
            finished = ended(min(self.interval, 0.2))
            stopping = self._stop.is_set()
            if finished or stopping or time.monotonic() - last >= self.interval:
                try:
                    self.save()
                except Exception:
                    log.exception("periodic saving of the history to %s failed", self.path)
                last = time.monotonic()
            if finished or stopping:
                return
