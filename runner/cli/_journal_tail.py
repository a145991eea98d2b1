"""A journal followed as it grows, for ``trialrunner watch``: each `JournalTail.refresh`
reads only the bytes appended since the last one (a line without its newline yet waits for the
next refresh), folds each new record into running totals, and never writes anything: no lock
is taken, the study's own ``<journal>.lock`` is only read.

Whether the study still runs: its writer holds ``<journal>.lock`` while the journal is open (a
file on the shared file system, so this works from another machine); on the same host a lock
whose process is gone means the writer died. How it ended: a ``failed`` record, or trials in
flight marked ``cancelled`` (reason "cancelled", "interrupted" or the error that failed it), else
finished.
"""

from __future__ import annotations

import json
import math
import os
import socket
import time
from typing import Any

from runner import GoalProgress
from runner.lowlevel import LiveInfo, Tally
from trials import JournalFormatError, StatusType, TrialValue

__all__ = ["JournalTail"]

_FAILED = {"CRASHED", "TIMEOUT", "MEMORYOUT"}


def _number(cost: Any) -> float | None:
    if isinstance(cost, bool) or not isinstance(cost, (int, float)):
        return None  # a tuple (multi-objective) or an escaped non-finite float
    return float(cost)


def _dict(x: Any) -> dict[str, Any]:
    return x if isinstance(x, dict) else {}


class JournalTail:
    """Running totals of the journal at ``path``; `refresh` reads what was appended."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._offset = 0
        self._partial = b""
        self.header: dict[str, Any] | None = None
        self.skipped = 0  # complete lines that are not JSON records
        self._running: set[int] = set()
        self._tally = Tally()
        self._finished = 0
        self._best: tuple[float, float] | None = None  # (budget, cost)
        self._incumbent: dict[str, Any] | None = None
        self._target_time = 0.0
        self._first: float | None = None
        self._last: float | None = None
        self._most_running = 0
        self._ending: str | None = None  # how the last session ended, if it said so

    # -- reading ----------------------------------------------------------------------------

    def refresh(self) -> int:
        """Read what was appended since the last refresh; the number of new records."""
        with open(self.path, "rb") as f:
            f.seek(self._offset)
            data = f.read()
        self._offset += len(data)
        data = self._partial + data
        cut = data.rfind(b"\n") + 1
        self._partial = data[cut:]
        n = 0
        for line in data[:cut].split(b"\n")[:-1]:
            try:
                record = json.loads(line)
            except ValueError:
                self.skipped += 1
                continue
            if not isinstance(record, dict):
                self.skipped += 1
            elif self.header is None:
                if record.get("type") != "header":
                    raise JournalFormatError(f"{self.path} is not a trial journal: its first "
                                             "line is not a journal header")
                self.header = record
            else:
                self._fold(record)
                n += 1
        return n

    def _fold(self, record: dict[str, Any]) -> None:
        kind, trial, t = record.get("type"), record.get("trial"), record.get("time")
        if isinstance(t, (int, float)):
            self._first = t if self._first is None else min(self._first, t)
            self._last = t if self._last is None else max(self._last, t)
        if kind == "submit":
            if self._ending is not None:  # a resumed session began
                self._ending = None
            self._running.add(trial)  # type: ignore[arg-type]
            self._most_running = max(self._most_running, len(self._running))
        elif kind == "result":
            if record.get("final") is True:
                self._running.discard(trial)
                self._result(record)
        elif kind == "cancelled":
            self._running.discard(trial)
            reason = str(record.get("reason", ""))
            self._ending = ("cancelled" if reason in ("cancelled", "interrupted")
                            else "finished" if reason == "finished" else "failed")
        elif kind == "failed":
            self._ending = "failed"
            lines = str(record.get("traceback", "")).strip().splitlines()
            if lines:
                self._tally.last_error = lines[-1].strip()[:200]
        elif kind == "study" and isinstance(record.get("study"), str) and self.header:
            self.header = {**self.header, "study": record["study"]}

    def _result(self, record: dict[str, Any]) -> None:
        self._finished += 1
        raw = record.get("value") or {}
        try:
            value = TrialValue.from_dict(raw)
        except (KeyError, TypeError, ValueError):
            self.skipped += 1
            return
        self._tally.add(value)
        self._target_time += value.time if value.time > 0 else 0.0
        cost = _number(raw.get("cost"))
        if value.status is StatusType.SUCCESS and cost is not None and math.isfinite(cost):
            info = record.get("info") or {}
            budget = info.get("budget")
            level = float(budget) if isinstance(budget, (int, float)) else 0.0
            if self._best is None or level > self._best[0] or (
                    level == self._best[0] and cost < self._best[1]):
                self._best = (level, cost)
                config = info.get("config")
                self._incumbent = dict(config) if isinstance(config, dict) else None

    # -- the study's state ------------------------------------------------------------------

    def writer_alive(self) -> bool:
        """Whether a process holds the journal open (its lock file exists and, on this host,
        its process lives)."""
        try:
            with open(self.path + ".lock", encoding="utf-8") as f:
                owner = json.loads(f.read() or "{}")
        except FileNotFoundError:
            return False
        except (OSError, ValueError):
            return True  # being written, or unreadable: assume it is held
        if not isinstance(owner, dict) or owner.get("hostname") != socket.gethostname():
            return True
        pid = owner.get("pid")
        if not isinstance(pid, int) or pid <= 0:
            return True
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def snapshot(self, running: bool | None = None) -> LiveInfo:
        """The totals as a `LiveInfo` (``running``: whether the writer is alive, read
        from the lock file when not given)."""
        alive = self.writer_alive() if running is None else running
        header = self.header or {}
        status = "running" if alive else (self._ending or "finished")
        end = time.time() if alive else (self._last or 0.0)
        elapsed = max(0.0, end - self._first) if self._first is not None else 0.0
        command = _dict(header.get("command"))
        workers = _dict(command.get("backend")).get("workers")
        if not isinstance(workers, int) or workers <= 0:
            workers = self._most_running
        overhead = (100.0 * (1 - self._target_time / (workers * elapsed))
                    if workers and elapsed > 0 else None)
        goal = None
        n_trials = _dict(command.get("goals")).get("n_trials")
        if isinstance(n_trials, int) and n_trials > 0:
            goal = GoalProgress(completed=float(self._finished), total=float(n_trials),
                                unit="trials")
        study = header.get("study")
        return LiveInfo(
            title=f"study {study!r} ({self.path})" if study else self.path, status=status,
            elapsed=elapsed, finished=self._finished,
            running=len(self._running) if alive else 0,
            per_status=dict(self._tally.per_status),
            best=None if self._best is None else self._best[1], incumbent=self._incumbent,
            overhead=overhead, workers=workers, last_error=self._tally.last_error, goal=goal)
