"""Journals for the report tests, written with the real ``trials.Journal`` API as the loop
writes them, but with exactly the trials, times and order a test needs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from trials import Journal, StatusType, TrialInfo, TrialValue

COMMAND: dict[str, Any] = {
    "version": 1, "cwd": "/tmp", "target": {"function": "quad:objective"},
    "space": {"x": {"low": -5.0, "high": 5.0}},
    "optimizer": {"name": "random", "seed": 1, "options": {}},
    "backend": {"name": "process", "workers": 2, "scheduler": None},
    "limits": {}, "objectives": ["cost"], "crash_cost": None,
    "goals": {"n_trials": 10, "cost": None, "duration": None}, "retries": 0,
}


def trial(trial: int, cost: float | tuple[float, ...], *, status: StatusType = StatusType.SUCCESS,
          attempt: int = 0, final: bool = True, budget: float | None = None,
          config: Mapping[str, Any] | None = None, start: float = 0.0, end: float | None = None,
          time: float | None = None, error: str | None = None) -> list[dict[str, Any]]:
    """A ``submit`` and a ``result`` record of one attempt; ``start``/``end`` are seconds after
    1.7e9 (the target's start and end; collected 0.01 s after its end)."""
    end = start + 1.0 if end is None else end
    info = TrialInfo(dict(config or {"x": float(trial)}), budget=budget)
    extra = {} if error is None else {"error": error}
    value = TrialValue(cost=cost, status=status, time=end - start if time is None else time,
                       starttime=1.7e9 + start, endtime=1.7e9 + end, additional_info=extra)
    return [{"type": "submit", "trial": trial, "attempt": attempt, "info": info.to_dict(),
             "time": 1.7e9 + start - 0.01},
            {"type": "result", "trial": trial, "attempt": attempt, "final": final,
             "info": info.to_dict(), "value": value.to_dict(), "time": 1.7e9 + end + 0.01}]


def write(path: Path, records: Iterable[Mapping[str, Any]], *, command: Mapping[str, Any] | None
          = COMMAND, study: str | None = None) -> Path:
    """A journal at ``path`` holding ``records`` (lists from :func:`trial`, flattened)."""
    with Journal.open(path, fsync="never", command=command, study=study) as journal:
        for record in records:
            journal.append(record)
    return path


def flat(*groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records of several :func:`trial` calls, in order."""
    return [record for group in groups for record in group]
