"""A study as its journal tells it, for ``report``: every attempt with its four instants
(submitted, target start, target end, collected), the final outcomes, worker lanes and the time
breakdown. Reads without the journal's lock, so it works while a study runs.

The journal is streamed, line by line, and each attempt is kept as a few numbers (status, cost,
budget, times, worker) and the byte offset of its ``result`` line: a 100,000-trial journal is
read in about a second into some tens of MB. ``Attempt.info``/``Attempt.value`` and
``Study.history`` decode the full objects from the file when something asks for them.

Trials are named by their journal id (``Attempt.trial``: what the log and the journal say),
never by their position in the history.

Worker lanes: a trial's ``additional_info["worker"]`` when the target or runner recorded one;
otherwise lanes are derived from the start and end times by interval partitioning (each attempt
goes to the lowest-numbered lane free at its start), which uses as few lanes as the largest
number of attempts running at once; they show concurrency and idle gaps, not which process ran
what.
"""

from __future__ import annotations

import heapq
import json
import math
from collections import Counter
from collections.abc import Iterator
from typing import Any

import attrs

from trials import History, Report, TrialInfo, TrialValue, read_header
from trials._journal_read import iter_records
from trials._json import from_jsonable

__all__ = ["Attempt", "Breakdown", "Study", "derive_lanes", "load_study"]

Cost = float | tuple[float, ...]


def _read_result(path: str, offset: int) -> dict[str, Any]:
    with open(path, "rb") as f:
        f.seek(offset)
        record: dict[str, Any] = json.loads(f.readline())
    return record


@attrs.frozen(slots=True)
class Attempt:
    """One run of a trial: its outcome in brief, and when it was submitted and collected (Unix
    times). ``trial`` is the journal's trial id."""

    trial: int
    attempt: int
    final: bool
    status: str
    cost: Cost
    budget: float | None
    time: float
    """The runtime the target or runner reported (``TrialValue.time``)."""
    starttime: float
    endtime: float
    worker: str | None
    submitted: float | None
    collected: float | None
    path: str = attrs.field(default="", repr=False)
    offset: int = attrs.field(default=-1, repr=False)
    """Where its ``result`` record starts in the journal (``-1``: not read from one)."""

    @property
    def info(self) -> TrialInfo:
        """The trial's ``TrialInfo``, read back from the journal."""
        return TrialInfo.from_dict(_read_result(self.path, self.offset)["info"])

    @property
    def value(self) -> TrialValue:
        """The attempt's ``TrialValue``, read back from the journal."""
        return TrialValue.from_dict(_read_result(self.path, self.offset)["value"])

    @property
    def scalar_cost(self) -> float:
        """The cost, or the first objective's."""
        return self.cost[0] if isinstance(self.cost, tuple) else self.cost

    @property
    def measured(self) -> bool:
        """Whether the runner set the target's start and end times."""
        return self.starttime > 0 and self.endtime >= self.starttime

    @property
    def span(self) -> tuple[float, float]:
        """When the target ran; the submit/collect times for a runner that set no timestamps."""
        if self.measured:
            return self.starttime, self.endtime
        lo = self.submitted if self.submitted is not None else self.collected or 0.0
        hi = self.collected if self.collected is not None else lo
        return lo, max(lo, hi)


@attrs.frozen
class Breakdown:
    """Where the workers' time went, in seconds (see ``runner.Timings`` for the live version).
    ``target`` is measured (the target's start to end); ``reported`` is what targets said they
    took (``TrialValue.time``: a script's own ``runtime=``), which may differ."""

    elapsed: float
    workers: int
    workers_known: bool
    target: float
    queue_wait: float
    transfer: float
    idle: float
    reported: float = 0.0

    def rows(self) -> list[tuple[str, float, float]]:
        """``(name, seconds, share of workers x elapsed)``."""
        cap = self.workers * self.elapsed
        parts = [("queue wait & start-up", self.queue_wait), ("target", self.target),
                 ("transfer back", self.transfer), ("workers idle", self.idle)]
        return [(name, x, x / cap if cap > 0 else 0.0) for name, x in parts]


class Study:
    """What a journal holds, ready for summaries and plots."""

    def __init__(self, path: str, header: dict[str, Any], attempts: list[Attempt],
                 unfinished: int, curves: dict[tuple[int, int], list[Report]] | None = None,
                 cancelled: int = 0, sessions: list[dict[str, Any]] | None = None,
                 interruptions: list[dict[str, Any]] | None = None) -> None:
        self.path = path
        self.header = header
        self.attempts = attempts
        """Every attempt that has a result, in journal order."""
        self.finals = [a for a in attempts if a.final]
        """The final attempt of each finished trial, in finishing order."""
        self.unfinished = unfinished
        self.curves = curves or {}
        """``(trial, attempt)`` -> its intermediate reports (learning curve), in order."""
        self.cancelled = cancelled
        """Attempts the journal records as cancelled (no result: they run again on resume)."""
        self.sessions = sessions or []
        """What each ``trialrunner resume`` changed (its ``backend``), oldest first."""
        self.interruptions = interruptions or []
        """The journal's ``interrupted`` records: runs lost outside the trial and run again."""
        self._history: History | None = None

    @property
    def command(self) -> dict[str, Any] | None:
        """How ``trialrunner run`` started it, if it did."""
        command = self.header.get("command")
        return command if isinstance(command, dict) else None

    @property
    def backend(self) -> dict[str, Any]:
        """The backend trials ran on last: the command's, as the latest resume changed it."""
        backend = dict((self.command or {}).get("backend") or {})
        for session in self.sessions:
            if isinstance(session.get("backend"), dict):
                backend = dict(session["backend"])
        return backend

    @property
    def history(self) -> History:
        """The final outcomes as a ``trials.History`` (decoded on first use: slow for huge
        journals, so summaries and plots use `finals`)."""
        if self._history is None:
            history = History()
            for attempt, info, value in self.iter_finals():
                history.append(info, value)
                for report in self.curves.get((attempt.trial, attempt.attempt), ()):
                    history.add_report(info, report)
            self._history = history
        return self._history

    def iter_finals(self) -> Iterator[tuple[Attempt, TrialInfo, TrialValue]]:
        """Each final attempt with its decoded info and value, reading the journal once more
        (up to where it was read first, should it have grown since)."""
        wanted = {a.offset: a for a in self.finals}
        end = max(wanted, default=-1)
        for offset, record in iter_records(self.path):
            if offset > end:
                return
            attempt = wanted.get(offset)
            if attempt is not None:
                yield (attempt, TrialInfo.from_dict(record["info"]),
                       TrialValue.from_dict(record["value"]))

    def status_counts(self) -> Counter[str]:
        """Final outcomes per status name."""
        return Counter(a.status for a in self.finals)

    def lanes(self) -> tuple[list[int], bool]:
        """A lane per attempt, and whether they are recorded worker ids (else derived)."""
        recorded = [a.worker for a in self.attempts]
        if self.attempts and all(w is not None for w in recorded):
            names = {w: i for i, w in enumerate(sorted({str(w) for w in recorded}))}
            return [names[str(w)] for w in recorded], True
        return derive_lanes([a.span for a in self.attempts]), False

    def breakdown(self) -> Breakdown:
        """The time breakdown over all attempts (a resumed study's pause counts as idle)."""
        starts = [a.submitted if a.submitted is not None else a.span[0] for a in self.attempts]
        ends = [a.collected if a.collected is not None else a.span[1] for a in self.attempts]
        elapsed = max(ends) - min(starts) if self.attempts else 0.0
        backend = self.backend
        known = isinstance(backend.get("workers"), int)
        if known:
            workers = backend["workers"]
        else:
            lanes, _ = self.lanes()
            workers = max(lanes) + 1 if lanes else 0
        target = queue = transfer = reported = 0.0
        for a in self.attempts:
            start, end = a.span
            reported += a.time if a.time > 0 else end - start
            target += end - start if a.measured else (a.time if a.time > 0 else end - start)
            if a.submitted is not None:
                queue += max(0.0, start - a.submitted)
            if a.collected is not None:
                transfer += max(0.0, a.collected - end)
        idle = max(0.0, workers * elapsed - queue - target - transfer)
        return Breakdown(elapsed=elapsed, workers=workers, workers_known=known, target=target,
                         queue_wait=queue, transfer=transfer, idle=idle, reported=reported)


def derive_lanes(spans: list[tuple[float, float]]) -> list[int]:
    """Interval partitioning: each span (in start order) takes the lowest lane free at its start."""
    order = sorted(range(len(spans)), key=lambda i: spans[i])
    lanes = [0] * len(spans)
    busy: list[tuple[float, int]] = []  # (end, lane) of lanes in use
    free: list[int] = []
    n = 0
    for i in order:
        start, end = spans[i]
        while busy and busy[0][0] <= start:
            heapq.heappush(free, heapq.heappop(busy)[1])
        if free:
            lane = heapq.heappop(free)
        else:
            lane, n = n, n + 1
        lanes[i] = lane
        heapq.heappush(busy, (end, lane))
    return lanes


def _number(raw: Any, default: float = 0.0) -> float:
    value = from_jsonable(raw)
    return float(value) if isinstance(value, (int, float)) else default


def _cost(raw: Any) -> Cost:
    value = from_jsonable(raw)
    if isinstance(value, (list, tuple)):
        return tuple(float(c) for c in value)
    if isinstance(value, (int, float)):
        return float(value)
    raise ValueError(f"a result's cost must be a number or a list of numbers, got {raw!r}")


def _attempt(path: str, offset: int, record: dict[str, Any], trial: int, attempt: int,
             submitted: float | None) -> Attempt:
    """The brief of one ``result`` record (raises ``KeyError``/``TypeError``/``ValueError``)."""
    info, value = record["info"], record["value"]
    status = value["status"]
    if not isinstance(status, str):
        raise ValueError(f"a result's status must be a name, got {status!r}")
    budget = from_jsonable(info.get("budget"))
    worker = (value.get("additional_info") or {}).get("worker")
    collected = record.get("time")
    return Attempt(
        trial=trial, attempt=attempt, final=record.get("final") is True, status=status,
        cost=_cost(value["cost"]), budget=None if budget is None else float(budget),
        time=_number(value.get("time")), starttime=_number(value.get("starttime")),
        endtime=_number(value.get("endtime")), worker=None if worker is None else str(worker),
        submitted=submitted,
        collected=float(collected) if isinstance(collected, (int, float)) else None,
        path=path, offset=offset)


def load_study(path: str) -> Study:
    """Read the journal at ``path`` into a `Study` (raises ``trials.JournalError``, or
    ``ValueError``/``KeyError``/``TypeError`` for a result record it cannot read)."""
    header = read_header(path)
    submitted: dict[tuple[int, int], float] = {}
    attempts: list[Attempt] = []
    finished: set[int] = set()
    seen: set[int] = set()
    curves: dict[tuple[int, int], list[Report]] = {}
    cancelled = 0
    sessions: list[dict[str, Any]] = []
    interruptions: list[dict[str, Any]] = []
    for offset, record in iter_records(path):
        kind = record.get("type")
        trial, attempt = record.get("trial"), record.get("attempt")
        if kind == "session":
            sessions.append(record)
            continue
        if type(trial) is not int or type(attempt) is not int:
            continue
        if kind == "report":
            try:
                report = Report.from_dict({**record, "time": record.get("t", 0.0)})
            except (KeyError, TypeError, ValueError):
                continue  # a curve point is not worth refusing the report for
            curves.setdefault((trial, attempt), []).append(report)
        elif kind == "submit":
            submitted[(trial, attempt)] = float(record.get("time", math.nan))
            seen.add(trial)
        elif kind == "interrupted":
            interruptions.append(record)
        elif kind == "cancelled":
            cancelled += 1
        elif kind == "result":
            one = _attempt(path, offset, record, trial, attempt,
                           submitted.pop((trial, attempt), None))
            attempts.append(one)
            if one.final:
                finished.add(trial)
    return Study(path=path, header=header, attempts=attempts, unfinished=len(seen - finished),
                 curves=curves, cancelled=cancelled, sessions=sessions,
                 interruptions=interruptions)
