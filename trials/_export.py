"""Export a history as plain rows: one flat dict per trial (for CSV, spreadsheets, pandas).

Columns, in this order: ``trial`` (position in the history), ``status`` (the name), ``cost``
(one objective) or ``cost.0``, ``cost.1``, ... (several), ``budget``, ``instance``, ``seed``,
``time``, ``cpu_time``, ``starttime``, ``endtime``, ``error`` (from ``additional_info``, or
``None``), then one ``config.<name>`` column per parameter (nested mappings flattened with dots).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from trials._trial import TrialInfo, TrialValue

if TYPE_CHECKING:
    import pandas

__all__ = ["to_dataframe", "to_records"]

Record = dict[str, Any]


def _flatten(prefix: str, mapping: Mapping[str, Any], out: Record) -> None:
    for key, value in mapping.items():
        name = f"{prefix}.{key}"
        if isinstance(value, Mapping):
            _flatten(name, value, out)
        else:
            out[name] = value


def record(index: int, info: TrialInfo, value: TrialValue) -> Record:
    """One trial as a flat dict of plain values (see the module doc for the columns)."""
    row: Record = {"trial": index, "status": value.status.name}
    cost = value.cost
    if isinstance(cost, tuple):
        for i, c in enumerate(cost):
            row[f"cost.{i}"] = c
    else:
        row["cost"] = cost
    error = value.additional_info.get("error")
    row.update(budget=info.budget, instance=info.instance, seed=info.seed, time=value.time,
               cpu_time=value.cpu_time, starttime=value.starttime, endtime=value.endtime,
               error=None if error is None else str(error))
    _flatten("config", dict(info.config), row)
    return row


def to_records(pairs: Iterable[tuple[TrialInfo, TrialValue]]) -> list[Record]:
    """One flat dict per ``(info, value)`` pair, in order."""
    return [record(i, info, value) for i, (info, value) in enumerate(pairs)]


def columns(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every column of ``rows`` in first-seen order (configs may differ between trials)."""
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            seen.setdefault(key, None)
    return list(seen)


def to_dataframe(pairs: Iterable[tuple[TrialInfo, TrialValue]]) -> pandas.DataFrame:
    """The records as a ``pandas.DataFrame`` (one row per trial); needs pandas."""
    try:
        import pandas
    except ImportError as e:
        raise ImportError(
            "History.to_dataframe needs pandas, which is not installed: pip install "
            "'trialrunner[pandas]' (or use History.to_records for plain dicts)"
        ) from e
    rows = to_records(pairs)
    return pandas.DataFrame.from_records(rows, columns=columns(rows))
