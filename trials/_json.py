"""The JSON encoding of configs, costs and info dicts: lossless for floats, explicit for the rest.

Rules (documented in docs/json-encoding.md):

* ``nan``/``inf``/``-inf`` floats become ``{"$float": "nan" | "inf" | "-inf"}`` and come back as
  floats, so a journal stays strict JSON and nothing is lost. A mapping of the user's own whose only
  key is a reserved tag (``"$float"`` or ``"$dict"``) is wrapped as ``{"$dict": {...}}`` so it never
  decodes as a tag.
* numpy scalars become Python numbers, numpy arrays lists; subclasses of ``str``/``int``/``float``
  (``numpy.str_``, ``IntEnum``, ``numpy.float64``) their plain builtin; tuples and sets become lists
  (sets sorted when they can be); ``pathlib.Path`` becomes its string; ``datetime``/``date``/``time``
  their ISO string; an ``Enum`` its value.
* Mapping keys must be strings; ``int``/``float``/``bool`` keys become their ``str``.
* Anything else is a ``TypeError`` naming where it sits (``strict=True``, used for what a user
  submits, so the error comes before the target runs) or its ``repr`` (``strict=False``, used for
  what a target returned: a result is never lost to its encoding).
"""

from __future__ import annotations

import datetime as _dt
import enum
import math
import os
from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["TRUNCATED_TAG", "JsonCap", "from_jsonable", "to_jsonable", "truncated"]

_FLOAT_TAG = "$float"
_DICT_TAG = "$dict"
TRUNCATED_TAG = "$truncated"
_TAGS = frozenset((_FLOAT_TAG, _DICT_TAG, TRUNCATED_TAG))
_PLAIN = frozenset((str, int, float, bool, type(None)))
_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _encode_float(x: float) -> Any:
    if math.isfinite(x):
        return x
    if math.isnan(x):
        return {_FLOAT_TAG: "nan"}
    return {_FLOAT_TAG: "inf" if x > 0 else "-inf"}


def to_jsonable(
    obj: Any, *, strict: bool = True, where: str = "value", cap: JsonCap | None = None
) -> Any:
    """Return ``obj`` as JSON-safe builtins by the module's rules; ``where`` names it in errors.

    ``cap`` bounds what a mapping's entries may take (see `JsonCap`): an entry over it is
    replaced by a truncation marker (``strict=False``) or is a ``ValueError`` (``strict=True``).
    """
    try:
        if cap is not None and isinstance(obj, Mapping):
            return _encode_capped(obj, strict, where, cap)
        return _encode(obj, strict, where, 0, None)
    except (_TooDeep, RecursionError):
        # stopped at a fixed depth, far above any real config and far below Python's own
        # recursion limit: a RecursionError raised mid-way would also break whatever
        # (a finaliser, a logging handler) happened to run at that depth
        if strict:
            raise ValueError(
                f"{where} is nested more than {MAX_DEPTH} levels deep or contains itself"
            ) from None
        return repr(obj)


MAX_DEPTH = 100
"""How deep lists and mappings may nest inside one value before it counts as self-containing."""


class _TooDeep(Exception):
    pass


def _encode(obj: Any, strict: bool, where: str, depth: int, budget: _Budget | None) -> Any:
    # ``budget``: JSON characters left for this value (capped encoding), charged before any
    # large copy is made, so an over-cap value costs at most about the cap to find out.
    if obj is None or isinstance(obj, bool):
        if budget is not None:
            budget.spend(5)
        return obj
    if isinstance(obj, str):
        if budget is not None:
            budget.spend(len(obj) + 2)
        return obj if type(obj) is str else str.__str__(obj)
    if isinstance(obj, int):
        if budget is not None:
            budget.spend(obj.bit_length() // 3 + 2)
        return int(obj)
    if isinstance(obj, float):
        if budget is not None:
            budget.spend(24)
        return _encode_float(float(obj))
    if isinstance(obj, (Mapping, list, tuple, set, frozenset)):
        depth += 1
        if depth > MAX_DEPTH:
            raise _TooDeep
        if budget is not None:
            budget.spend(2 + len(obj))
    if isinstance(obj, Mapping):
        return _encode_mapping(obj, strict, where, depth, budget)
    if isinstance(obj, (list, tuple)):
        return [_encode(v, strict, f"{where}[{i}]", depth, budget) for i, v in enumerate(obj)]
    if isinstance(obj, (set, frozenset)):
        try:
            items = sorted(obj)
        except TypeError:
            items = list(obj)
        return [_encode(v, strict, f"{where}[...]", depth, budget) for v in items]
    if isinstance(obj, enum.Enum):
        return _encode(obj.value, strict, where, depth, budget)
    if isinstance(obj, os.PathLike):
        return _encode(os.fspath(obj), strict, where, depth, budget)
    if isinstance(obj, (_dt.datetime, _dt.date, _dt.time)):
        return obj.isoformat()
    # numpy without importing numpy: scalars and arrays have .dtype and .tolist()
    if not isinstance(obj, type) and hasattr(obj, "dtype"):
        tolist = getattr(obj, "tolist", None)
        if callable(tolist):
            if budget is not None:  # at least two characters an element, before the copy
                size = getattr(obj, "size", 1)
                budget.spend(2 * size if isinstance(size, int) else 2)
            try:
                plain = tolist()
            except Exception:  # an odd object with a dtype: fall through to the error/repr
                pass
            else:
                return _encode(plain, strict, where, depth, budget)
    if strict:
        raise TypeError(
            f"{where} holds {obj!r} of type {type(obj).__name__}, which has no JSON encoding "
            "(numbers, strings, bools, None, lists, tuples, dicts, numpy values, Path, "
            "datetime and Enum do)"
        )
    if budget is not None and isinstance(obj, (bytes, bytearray, memoryview)):
        budget.spend(len(obj))  # before its repr, up to four times as long, is made
    text = repr(obj)
    if budget is not None:
        budget.spend(len(text) + 2)
    return text


def _key(k: Any, strict: bool, where: str) -> str:
    if type(k) is str:
        return k
    if isinstance(k, str):
        return str.__str__(k)
    if strict and not isinstance(k, (int, float)):
        raise TypeError(f"{where} has key {k!r} of type {type(k).__name__}; JSON keys must be str")
    return str(k)


def _encode_mapping(
    obj: Mapping[Any, Any], strict: bool, where: str, depth: int, budget: _Budget | None
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in obj.items():
        k = _key(k, strict, where)
        if budget is not None:
            budget.spend(len(k) + 4)
        out[k] = _encode(v, strict, f"{where}[{k!r}]", depth, budget)
    return _finish_mapping(out, obj, strict, where)


def _finish_mapping(out: dict[str, Any], obj: Mapping[Any, Any], strict: bool,
                    where: str) -> dict[str, Any]:
    if strict and len(out) != len(obj):
        raise TypeError(f"{where} has keys that are equal as strings (such as 1 and '1')")
    if len(out) == 1 and next(iter(out)) in _TAGS:
        return {_DICT_TAG: out}  # the user's own {"$float": ...}: escape it
    return out


@attrs.frozen
class JsonCap:
    """How much JSON a mapping's entries may take (characters, counted before escaping): each
    entry at most ``value_bytes``, all of them together at most ``total_bytes``."""

    value_bytes: int
    total_bytes: int


class _OverBudget(Exception):
    pass


class _Budget:
    __slots__ = ("left",)

    def __init__(self, left: int) -> None:
        self.left = left

    def spend(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise _OverBudget


_HEAD = 100  # characters (or bytes) of a truncated string (or bytes) kept in its marker
_DROPPED_SHOWN = 10  # names of dropped entries listed in the marker


def _encode_capped(obj: Mapping[Any, Any], strict: bool, where: str, cap: JsonCap
                   ) -> dict[str, Any]:
    """``obj``'s entries, each within ``cap.value_bytes`` and all within ``cap.total_bytes``:
    an entry over it becomes a `truncated` marker; entries past the total are dropped and
    listed in one marker under the key ``"$truncated"``."""
    out: dict[str, Any] = {}
    left = cap.total_bytes
    dropped: list[str] = []
    for k, v in obj.items():
        k = _key(k, strict, where)
        if left <= 0 or len(k) > cap.value_bytes:
            if strict:
                raise _over_cap(where, k, cap, left <= 0)
            dropped.append(k)
            continue
        budget = _Budget(min(cap.value_bytes, left) - len(k) - 4)
        start = budget.left
        try:
            out[k] = _encode(v, strict, f"{where}[{k!r}]", 1, budget)
        except _OverBudget:
            if strict:
                raise _over_cap(where, k, cap, left < cap.value_bytes) from None
            out[k] = truncated(v)
            left -= len(k) + 4 + 300  # a marker's size, at most
        else:
            left -= len(k) + 4 + start - budget.left
    if dropped:
        out[TRUNCATED_TAG if TRUNCATED_TAG not in out else f"{TRUNCATED_TAG}-entries"] = {
            "type": "entries", "dropped": len(dropped),
            "names": [name[:_HEAD] for name in dropped[:_DROPPED_SHOWN]]}
    return _finish_mapping(out, obj, strict, where)


def _over_cap(where: str, key: str, cap: JsonCap, total: bool) -> ValueError:
    what = (f"{where} takes more than {cap.total_bytes} bytes as JSON" if total else
            f"{where}[{key[:_HEAD]!r}] takes more than {cap.value_bytes} bytes as JSON")
    return ValueError(
        f"{what}, over the journal's cap; a submitted trial is journaled whole so a resumed "
        "study can run it again: pass large read-only data through the runner's shared_data"
    )


def truncated(value: Any) -> dict[str, Any]:
    """The marker that stands for ``value`` where it was too large to keep:
    ``{"$truncated": {"type": ..., "length": ..., "head": ...}}`` (docs/json-encoding.md)."""
    info: dict[str, Any] = {"type": type(value).__name__}
    shape = getattr(value, "shape", None)
    if isinstance(shape, tuple) and hasattr(value, "dtype"):
        info["shape"] = [int(n) for n in shape if isinstance(n, int)]
        info["dtype"] = str(value.dtype)[:_HEAD]
    else:
        try:
            info["length"] = len(value)
        except Exception:  # no len(), or one that fails
            pass
    if isinstance(value, str):
        info["head"] = value[:_HEAD]
    elif isinstance(value, (bytes, bytearray)):
        info["head"] = repr(bytes(value[:_HEAD]))
    return {TRUNCATED_TAG: info}


def from_jsonable(obj: Any) -> Any:
    """Undo the tagging of `to_jsonable` (everything else is already plain)."""
    if type(obj) in _PLAIN:
        return obj
    if isinstance(obj, dict):
        if len(obj) == 1:
            if _FLOAT_TAG in obj and obj[_FLOAT_TAG] in _NONFINITE:
                return _NONFINITE[obj[_FLOAT_TAG]]
            inner = obj.get(_DICT_TAG)
            if isinstance(inner, dict):
                return {k: from_jsonable(v) for k, v in inner.items()}
        return {k: from_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [from_jsonable(v) for v in obj]
    return obj
