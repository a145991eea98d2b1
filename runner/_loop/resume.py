"""Resuming a study from its journal, in one place: the journal read once into a plan
(`read_plan`, which also checks every record it uses), then the plan applied to a new loop's
driver (`apply`). Finished trials enter the history (with their learning curves) and are told
to the optimizer in the order they finished, or given to its ``restore`` all at once;
unfinished ones are known to the checkpoint books, shown to ``restore_pending`` and queued to
run first. The records are described in ``runner/_loop/journal.py``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import attrs

from runner._loop.driver import Driver, Trial
from runner._loop.journal import LoopJournal
from trials import History, JournalCorruptError, Report, TrialInfo, TrialValue

__all__ = ["MAX_TRIAL_ID", "ResumePlan", "apply", "plan_records", "read_plan"]

T = TypeVar("T")


@attrs.frozen
class ResumePlan:
    """What a journal says about a study, read once: its finished trials in the order they
    finished, its unfinished ones in the order they were submitted, and the next free trial
    id."""

    finished: list[tuple[int, TrialInfo, TrialValue]]
    unfinished: list[tuple[int, int, TrialInfo]]
    """``(trial id, last attempt number, info)``."""
    next_id: int
    curves: dict[int, list[Report]] = attrs.field(factory=dict)
    """A finished trial id -> the reports of its final attempt (its learning curve)."""


MAX_TRIAL_ID = 2**63 - 1
"""Largest trial id or attempt number a journal may hold (what a signed 64-bit integer holds)."""


def _corrupt(path: str, line: int, record: Mapping[str, Any], what: str) -> JournalCorruptError:
    return JournalCorruptError(
        f"{path}: line {line} ({record.get('type')!r} record) {what}; a journal is never "
        "read past a bad record: repair or remove that line by hand, then resume"
    )


def _field(record: Mapping[str, Any], key: str, line: int, path: str) -> Any:
    try:
        return record[key]
    except KeyError:
        raise _corrupt(path, line, record, f"has no {key!r} field") from None


def _count(record: Mapping[str, Any], key: str, line: int, path: str) -> int:
    value = _field(record, key, line, path)
    if type(value) is not int or not 0 <= value <= MAX_TRIAL_ID:
        raise _corrupt(path, line, record, f"has {key}={str(value)[:40]!r}, not an integer "
                                           f"from 0 to 2**63-1")
    return value


def _read_back(path: str, line: int, record: Mapping[str, Any],
               build: Callable[[Mapping[str, Any]], T], data: Any) -> T:
    try:
        return build(data)
    except (KeyError, TypeError, ValueError) as e:
        raise _corrupt(path, line, record, f"cannot be read back: {e!r}") from e


def plan_records(records: Iterable[Mapping[str, Any]], path: str = "journal") -> ResumePlan:
    """Read the loop's records (others are skipped, for forward compatibility). ``records`` are
    a journal's records after its header, so record ``n`` (from 0) is on line ``n + 2``."""
    submitted: dict[int, tuple[int, Mapping[str, Any], int]] = {}  # trial -> (attempt, info, line)
    finished: list[tuple[int, TrialInfo, TrialValue]] = []
    done: set[int] = set()
    reports: dict[tuple[int, int], list[Report]] = {}
    curves: dict[int, list[Report]] = {}
    for line, record in enumerate(records, start=2):
        kind = record.get("type")
        if kind == "report":
            key = (_count(record, "trial", line, path), _count(record, "attempt", line, path))
            reports.setdefault(key, []).append(_read_back(
                path, line, record, Report.from_dict, {**record, "time": record.get("t", 0.0)}))
        elif kind == "submit":
            trial = _count(record, "trial", line, path)
            attempt = _count(record, "attempt", line, path)
            info = _field(record, "info", line, path)
            last = submitted.get(trial)
            if last is None or attempt >= last[0]:
                submitted[trial] = (attempt, info, line)
        elif kind == "result" and record.get("final") is True:
            trial = _count(record, "trial", line, path)
            if trial not in done:  # a second final for one trial would be a bug: keep the first
                done.add(trial)
                info = _read_back(path, line, record, TrialInfo.from_dict,
                                  _field(record, "info", line, path))
                value = _read_back(path, line, record, TrialValue.from_dict,
                                   _field(record, "value", line, path))
                finished.append((trial, info, value))
                curve = reports.pop((trial, record.get("attempt", -1)), None)
                if curve:
                    curves[trial] = curve
    unfinished = [(t, a, _read_back(path, line, {"type": "submit"}, TrialInfo.from_dict, i))
                  for t, (a, i, line) in sorted(submitted.items()) if t not in done]
    ids = submitted.keys() | done
    return ResumePlan(finished=finished, unfinished=unfinished,
                      next_id=max(ids, default=-1) + 1, curves=curves)


def read_plan(journal: LoopJournal) -> ResumePlan:
    """What ``journal`` held when it was opened (its records after the header)."""
    return plan_records(journal.journal.records, journal.path)


def apply(plan: ResumePlan, driver: Driver) -> tuple[int, int]:
    """Put ``driver`` where the journal left the study; ``(finished trials replayed,
    unfinished ones to run again)``."""
    can, checkpoints, history = driver.can, driver.checkpoints, driver.history
    replayed = History()  # for restore(): what the optimizer never asked in this process
    for trial_id, info, value in plan.finished:
        if checkpoints is not None:
            checkpoints.known(trial_id, info)
        history.append(info, value)
        driver.failure_rate.add(trial_id, value)  # judged again from the next new result
        for report in plan.curves.get(trial_id, ()):
            history.add_report(info, report)
            replayed.add_report(info, report)
        if can.restore is not None:
            replayed.append(info, value)
        else:
            driver.tell(info, value)
    if can.restore is not None and len(replayed):
        t = driver.clock()
        try:
            can.restore(replayed)
        finally:
            driver.account.optimizer += driver.clock() - t
        if driver.log is not None:
            driver.log.append(("restore", replayed))
    driver.n_told, driver.next_id = 0, plan.next_id
    for trial_id, attempt, info in plan.unfinished:
        if checkpoints is not None:
            checkpoints.known(trial_id, info, unfinished=True)
        if can.restore_pending is not None:
            can.restore_pending(info)  # lets it skip what it proposed before
        driver.requeue.append(Trial(trial_id, info, attempt))
    return len(plan.finished), len(plan.unfinished)
