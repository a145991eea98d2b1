"""The loop's side of the journal: the records it appends, what a resumed study replays, and
atomic snapshots of a history.

Records (one JSON line each, after the journal's header)::

    {"type": "submit",    "trial": 7, "attempt": 0, "info": {...}, "time": 1.7e9}
    {"type": "result",    "trial": 7, "attempt": 0, "final": false, "info": {...},
                          "value": {...}, "time": ...}      # a crashed attempt that is retried
    {"type": "submit",    "trial": 7, "attempt": 1, ...}
    {"type": "result",    "trial": 7, "attempt": 1, "final": true, ...}   # enters history, told
    {"type": "cancelled", "trial": 8, "attempt": 0, "reason": "interrupted", "time": ...}
    {"type": "failed",    "trial": 9, "attempt": 2, "traceback": "...", "time": ...}

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
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from runner._loop.study import ResumeMode, check_study
from trials import Journal, JournalCorruptError, TrialInfo, TrialValue
from trials._journal import FORMAT_VERSION

__all__ = ["LoopJournal", "PeriodicSaver", "Resume", "plan_resume", "write_history"]

log = logging.getLogger(__name__)


@attrs.frozen
class Resume:
    """What a journal says about a study: its finished trials in the order they finished, its
    unfinished ones in the order they were submitted, and the next free trial id."""

    finished: list[tuple[int, TrialInfo, TrialValue]]
    unfinished: list[tuple[int, int, TrialInfo]]
    """``(trial id, last attempt number, info)``."""
    next_id: int


def _field(record: Mapping[str, Any], key: str, number: int, path: str) -> Any:
    try:
        return record[key]
    except KeyError:
        raise JournalCorruptError(
            f"{path}: record {number} ({record.get('type')!r}) has no {key!r} field"
        ) from None


def plan_resume(records: Iterable[Mapping[str, Any]], path: str = "journal") -> Resume:
    """Read the loop's records (others are skipped, for forward compatibility)."""
    submitted: dict[int, tuple[int, Mapping[str, Any]]] = {}  # trial -> (last attempt, info)
    finished: list[tuple[int, Mapping[str, Any], Mapping[str, Any]]] = []
    done: set[int] = set()
    for number, record in enumerate(records, start=1):
        kind = record.get("type")
        if kind == "submit":
            trial = _field(record, "trial", number, path)
            attempt = _field(record, "attempt", number, path)
            last = submitted.get(trial)
            if last is None or attempt >= last[0]:
                submitted[trial] = (attempt, _field(record, "info", number, path))
        elif kind == "result" and record.get("final") is True:
            trial = _field(record, "trial", number, path)
            if trial not in done:  # a second final for one trial would be a bug: keep the first
                done.add(trial)
                finished.append((trial, _field(record, "info", number, path),
                                 _field(record, "value", number, path)))
    try:
        pairs = [(t, TrialInfo.from_dict(i), TrialValue.from_dict(v)) for t, i, v in finished]
        unfinished = [(t, a, TrialInfo.from_dict(i)) for t, (a, i) in sorted(submitted.items())
                      if t not in done]
    except (KeyError, TypeError, ValueError) as e:
        raise JournalCorruptError(f"{path}: a trial record cannot be read back: {e!r}") from e
    ids = submitted.keys() | done
    return Resume(finished=pairs, unfinished=unfinished, next_id=max(ids, default=-1) + 1)


class LoopJournal:
    """Appends the loop's records to a :class:`trials.Journal` opened from a path (and closed by
    the loop) or handed in open (and left open, its fsync policy untouched).

    A journal the loop opens itself is synced by the loop: :meth:`sync` (an ``fdatasync``) runs
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
                self.close()
                raise

    def resume(self) -> Resume:
        """What the journal held when it was opened."""
        return plan_resume(self.journal.records, self.path)

    def submit(self, trial: int, attempt: int, info: TrialInfo) -> None:
        self.journal.append({"type": "submit", "trial": trial, "attempt": attempt,
                             "info": info.to_dict(), "time": self._time()})

    def result(self, trial: int, attempt: int, final: bool, info: TrialInfo,
               value: TrialValue) -> None:
        self.journal.append({"type": "result", "trial": trial, "attempt": attempt,
                             "final": final, "info": info.to_dict(), "value": value.to_dict(),
                             "time": self._time()})

    def cancelled(self, trial: int, attempt: int, reason: str) -> None:
        self.journal.append({"type": "cancelled", "trial": trial, "attempt": attempt,
                             "reason": reason, "time": self._time()})

    def failed(self, trial: int, attempt: int, traceback: str) -> None:
        self.journal.append({"type": "failed", "trial": trial, "attempt": attempt,
                             "traceback": traceback, "time": self._time()})

    def end(self, in_flight: list[tuple[int, int]], reason: str) -> None:
        """Mark ``(trial, attempt)`` pairs still in flight as cancelled, then :meth:`close`;
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

    def close(self) -> None:
        """Sync, and close the journal if the loop opened it."""
        if self.owned:
            try:
                self.journal.sync()
            finally:
                self.journal.close()


def write_history(path: str | os.PathLike[str], pairs: Iterable[tuple[TrialInfo, TrialValue]],
                  study: str | None = None, fingerprint: dict[str, Any] | None = None) -> int:
    """Write ``pairs`` atomically (temporary file, fsync, ``os.replace``) in the journal format,
    so :meth:`trials.History.load` reads the snapshot; returns how many were written."""
    target = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(target))
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
                          "info": info.to_dict(), "value": value.to_dict()}
                f.write(json.dumps(record, allow_nan=False, separators=(",", ":")) + "\n")
                n += 1
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return n


class PeriodicSaver:
    """A background thread writing a loop's history with :func:`write_history` every
    ``interval`` seconds and once more when the loop ends; :meth:`stop` ends it."""

    def __init__(self, loop: Any, path: str | os.PathLike[str], interval: float) -> None:
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not (
            interval > 0
        ):
            raise ValueError(f"interval must be a number of seconds > 0, got {interval!r}")
        self.path = os.fspath(path)
        self.interval = float(interval)
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
                      getattr(loop, "_fingerprint", None))
        self.saves += 1

    def _run(self) -> None:
        done = self._loop._done
        last = time.monotonic()
        while True:
            finished = done.wait(min(self.interval, 0.2))
            stopping = self._stop.is_set()
            if finished or stopping or time.monotonic() - last >= self.interval:
                try:
                    self.save()
                except Exception:
                    log.exception("periodic saving of the history to %s failed", self.path)
                last = time.monotonic()
            if finished or stopping:
                return
