"""``History``: the ordered record of finished trials, with the incumbent kept up to date."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from trials._journal_errors import JournalCorruptError
from trials._journal_read import _gc_paused, read_records
from trials._report import Report
from trials._status import StatusType
from trials._trial import TrialInfo, TrialValue

if TYPE_CHECKING:
    import pandas

__all__ = ["History"]

Pair = tuple[TrialInfo, TrialValue]


def _single_cost(value: TrialValue) -> float | None:
    """The cost a successful single-objective trial competes with, else ``None``."""
    if value.status is not StatusType.SUCCESS:
        return None
    cost = value.cost
    if isinstance(cost, tuple):
        if len(cost) != 1:
            return None
        cost = cost[0]
    return None if math.isnan(cost) else cost


class History:
    """Finished trials in the order they finished; ``incumbent`` is maintained in O(1) per append."""

    __slots__ = ("_pairs", "_incumbent", "_incumbent_cost", "_incumbent_budget", "_curves")

    def __init__(self, pairs: Iterable[tuple[TrialInfo, TrialValue]] = ()) -> None:
        """A history holding ``pairs`` (``(info, value)`` tuples), in order."""
        self._pairs: list[Pair] = []
        self._incumbent: Pair | None = None
        self._incumbent_cost = math.inf
        self._incumbent_budget = -math.inf
        self._curves: dict[int, tuple[TrialInfo, list[Report]]] = {}  # id(info) -> its reports
        for info, value in pairs:
            self.append(info, value)

    def append(self, info: TrialInfo, value: TrialValue) -> None:
        """Record that trial ``info`` finished with ``value``."""
        if not isinstance(info, TrialInfo):
            raise TypeError(f"info must be a TrialInfo, got {type(info).__name__}")
        if not isinstance(value, TrialValue):
            raise TypeError(f"value must be a TrialValue, got {type(value).__name__}")
        pair = (info, value)
        self._pairs.append(pair)
        cost = _single_cost(value)
        if cost is None:
            return
        # Multi-fidelity: only the highest budget reached competes (a trial without a budget
        # counts as the full one); a first success at a higher budget takes over.
        budget = math.inf if info.budget is None else info.budget
        if budget > self._incumbent_budget or (
            budget == self._incumbent_budget and cost < self._incumbent_cost
        ):
            self._incumbent = pair
            self._incumbent_cost = cost
            self._incumbent_budget = budget

    def add_report(self, info: TrialInfo, report: Report) -> None:
        """Record an intermediate result of trial ``info`` (running, or in the history)."""
        if not isinstance(report, Report):
            raise TypeError(f"report must be a trials.Report, got {type(report).__name__}")
        entry = self._curves.get(id(info))
        if entry is None or entry[0] is not info:
            entry = self._curves[id(info)] = (info, [])
        entry[1].append(report)

    def curve(self, info: TrialInfo) -> list[Report]:
        """The learning curve of trial ``info``: its reports in the order they came (the same
        ``TrialInfo`` object, as the history or the loop holds it; empty if it reported none)."""
        entry = self._curves.get(id(info))
        return list(entry[1]) if entry is not None and entry[0] is info else []

    def __len__(self) -> int:
        return len(self._pairs)

    def __iter__(self) -> Iterator[tuple[TrialInfo, TrialValue]]:
        return iter(self._pairs)

    def __getitem__(self, index: int) -> tuple[TrialInfo, TrialValue]:
        return self._pairs[index]

    def __repr__(self) -> str:
        return f"<History of {len(self._pairs)} trials>"

    @property
    def incumbent(self) -> tuple[TrialInfo, TrialValue] | None:
        """The successful single-objective trial of lowest cost (the first on ties), or ``None``.

        Multi-fidelity histories compare only the trials at the highest budget any successful
        trial reached (as SMAC3 and BOHB do), since costs at lower budgets are approximations;
        a trial without a budget counts as evaluated in full. A cost given as a one-element
        tuple counts as single-objective; NaN costs never win.
        """
        return self._incumbent

    def pareto_front(self) -> list[tuple[TrialInfo, TrialValue]]:
        """The successful multi-objective trials no other one dominates (minimisation), in order.

        Trials with equal costs are all kept; costs holding NaN are left out. Raises ``ValueError``
        if the trials' costs have different numbers of objectives.
        """
        candidates: list[tuple[tuple[float, ...], int]] = []
        lengths: set[int] = set()
        for index, (_, value) in enumerate(self._pairs):
            cost = value.cost
            if value.status is StatusType.SUCCESS and isinstance(cost, tuple):
                if any(math.isnan(c) for c in cost):
                    continue
                candidates.append((cost, index))
                lengths.add(len(cost))
        if len(lengths) > 1:
            raise ValueError(
                f"the history's costs have different numbers of objectives: {sorted(lengths)}"
            )
        # In lexicographic order a point can only be dominated by one before it, so one pass
        # against the front found so far suffices.
        candidates.sort()
        front: list[tuple[tuple[float, ...], int]] = []
        for cost, index in candidates:
            if not any(_dominates(other, cost) for other, _ in front):
                front.append((cost, index))
        return [self._pairs[index] for _, index in sorted(front, key=lambda item: item[1])]

    def to_records(self) -> list[dict[str, Any]]:
        """One flat dict per trial: status name, cost, budget, times, ``config.<name>`` columns
        (see ``trials._export`` for the columns)."""
        from trials._export import to_records

        return to_records(self._pairs)

    def to_dataframe(self) -> pandas.DataFrame:
        """`to_records` as a ``pandas.DataFrame``; raises ``ImportError`` without pandas."""
        from trials._export import to_dataframe

        return to_dataframe(self._pairs)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> History:
        """The final outcomes (``result`` records with ``final: true``) of the journal at ``path``.

        Reads without taking the journal's lock, so it works while a study is writing it.
        """
        history = cls()
        with _gc_paused():
            history._replay(read_records(path), os.fspath(path))
        return history

    def _replay(self, records: list[dict[str, Any]], path: str) -> None:
        reports: dict[tuple[Any, Any], list[Report]] = {}
        for number, record in enumerate(records):
            kind = record.get("type")
            if kind == "report":
                try:
                    report = Report.from_dict({**record, "time": record.get("t", 0.0)})
                except (KeyError, TypeError, ValueError):
                    continue  # a curve point is not worth refusing the journal for
                reports.setdefault((record.get("trial"), record.get("attempt")), []).append(report)
                continue
            if kind != "result" or record.get("final") is not True:
                continue
            try:
                info = TrialInfo.from_dict(record["info"])
                value = TrialValue.from_dict(record["value"])
            except (KeyError, TypeError, ValueError) as e:
                raise JournalCorruptError(
                    f"{path}: line {number + 2} is a result record that cannot be read back: "
                    f"{_explain(e)}"
                ) from e
            self.append(info, value)
            for report in reports.pop((record.get("trial"), record.get("attempt")), ()):
                self.add_report(info, report)


def _dominates(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a != b and all(x <= y for x, y in zip(a, b, strict=True))


def _explain(error: Exception) -> str:
    return f"missing field {error}" if isinstance(error, KeyError) else str(error)
