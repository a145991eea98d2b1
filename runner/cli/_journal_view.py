"""A study as its journal tells it, for ``report``: every attempt with its four instants
(submitted, target start, target end, collected), the history of final outcomes, worker lanes
and the time breakdown. Reads without the journal's lock, so it works while a study runs.

Worker lanes: a trial's ``additional_info["worker"]`` when the target or runner recorded one;
otherwise lanes are derived from the start and end times by interval partitioning (each attempt
goes to the lowest-numbered lane free at its start), which uses as few lanes as the largest
number of attempts running at once; they show concurrency and idle gaps, not which process ran
what.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from typing import Any

import attrs

from trials import History, Report, TrialInfo, TrialValue, read_header, read_records

__all__ = ["Attempt", "Breakdown", "Study", "load_study"]


@attrs.frozen
class Attempt:
    """One run of a trial: its outcome and when it was submitted and collected (Unix times)."""

    trial: int
    attempt: int
    final: bool
    info: TrialInfo
    value: TrialValue
    submitted: float | None
    collected: float | None

    @property
    def span(self) -> tuple[float, float]:
        """When the target ran; the submit/collect times for a runner that set no timestamps."""
        start, end = self.value.starttime, self.value.endtime
        if start > 0 and end >= start:
            return start, end
        lo = self.submitted if self.submitted is not None else self.collected or 0.0
        hi = self.collected if self.collected is not None else lo
        return lo, max(lo, hi)


@attrs.frozen
class Breakdown:
    """Where the workers' time went, in seconds (see ``runner.Timings`` for the live version)."""

    elapsed: float
    workers: int
    workers_known: bool
    target: float
    queue_wait: float
    transfer: float
    idle: float

    def rows(self) -> list[tuple[str, float, float]]:
        """``(name, seconds, share of workers x elapsed)``."""
        cap = self.workers * self.elapsed
        parts = [("queue wait & start-up", self.queue_wait), ("target", self.target),
                 ("transfer back", self.transfer), ("workers idle", self.idle)]
        return [(name, x, x / cap if cap > 0 else 0.0) for name, x in parts]


@attrs.frozen
class Study:
    """What a journal holds, ready for summaries and plots."""

    path: str
    header: dict[str, Any]
    attempts: list[Attempt]
    history: History
    unfinished: int
    curves: dict[tuple[int, int], list[Report]] = attrs.field(factory=dict)
    """``(trial, attempt)`` -> its intermediate reports (learning curve), in order."""
    interruptions: list[dict[str, Any]] = attrs.field(factory=list)
    """The journal's ``interrupted`` records: runs lost outside the trial and run again."""

    @property
    def command(self) -> dict[str, Any] | None:
        """How ``trialrunner run`` started it, if it did."""
        command = self.header.get("command")
        return command if isinstance(command, dict) else None

    def status_counts(self) -> Counter[str]:
        """Final outcomes per status name."""
        return Counter(value.status.name for _, value in self.history)

    def lanes(self) -> tuple[list[int], bool]:
        """A lane per attempt, and whether they are recorded worker ids (else derived)."""
        recorded = [a.value.additional_info.get("worker") for a in self.attempts]
        if self.attempts and all(w is not None for w in recorded):
            names = {w: i for i, w in enumerate(sorted({str(w) for w in recorded}))}
            return [names[str(w)] for w in recorded], True
        return derive_lanes([a.span for a in self.attempts]), False

    def breakdown(self) -> Breakdown:
        """The time breakdown over all attempts (a resumed study's pause counts as idle)."""
        starts = [a.submitted if a.submitted is not None else a.span[0] for a in self.attempts]
        ends = [a.collected if a.collected is not None else a.span[1] for a in self.attempts]
        elapsed = max(ends) - min(starts) if self.attempts else 0.0
        backend = (self.command or {}).get("backend", {})
        known = isinstance(backend.get("workers"), int)
        lanes, _ = self.lanes()
        workers = backend["workers"] if known else (max(lanes) + 1 if lanes else 0)
        target = queue = transfer = 0.0
        for a in self.attempts:
            start, end = a.span
            target += a.value.time if a.value.time > 0 else end - start
            if a.submitted is not None:
                queue += max(0.0, start - a.submitted)
            if a.collected is not None:
                transfer += max(0.0, a.collected - end)
        idle = max(0.0, workers * elapsed - queue - target - transfer)
        return Breakdown(elapsed=elapsed, workers=workers, workers_known=known, target=target,
                         queue_wait=queue, transfer=transfer, idle=idle)


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


def load_study(path: str) -> Study:
    """Read the journal at ``path`` into a :class:`Study` (raises ``trials.JournalError``)."""
    header = read_header(path)
    submitted: dict[tuple[int, int], float] = {}
    attempts: list[Attempt] = []
    finished: set[int] = set()
    seen: set[int] = set()
    curves: dict[tuple[int, int], list[Report]] = {}
    interruptions: list[dict[str, Any]] = []
    for record in read_records(path):
        kind = record.get("type")
        key = (record.get("trial"), record.get("attempt"))
        if kind == "report" and isinstance(key[0], int) and isinstance(key[1], int):
            try:
                report = Report.from_dict({**record, "time": record.get("t", 0.0)})
            except (KeyError, TypeError, ValueError):
                continue  # a curve point is not worth refusing the report for
            curves.setdefault((key[0], key[1]), []).append(report)
        elif kind == "interrupted":
            interruptions.append(record)
        elif kind == "submit" and isinstance(key[0], int) and isinstance(key[1], int):
            submitted[(key[0], key[1])] = float(record.get("time", math.nan))
            seen.add(key[0])
        elif kind == "result" and isinstance(key[0], int) and isinstance(key[1], int):
            final = record.get("final") is True
            attempts.append(Attempt(
                trial=key[0], attempt=key[1], final=final,
                info=TrialInfo.from_dict(record["info"]),
                value=TrialValue.from_dict(record["value"]),
                submitted=submitted.get((key[0], key[1])), collected=record.get("time")))
            if final:
                finished.add(key[0])
    history = History((a.info, a.value) for a in attempts if a.final)
    for a in attempts:
        if a.final:
            for report in curves.get((a.trial, a.attempt), ()):
                history.add_report(a.info, report)
    return Study(path=path, header=header, attempts=attempts, history=history,
                 unfinished=len(seen - finished), curves=curves, interruptions=interruptions)
