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

__all__ = ["to_jsonable", "from_jsonable"]

_FLOAT_TAG = "$float"
_DICT_TAG = "$dict"
_TAGS = frozenset((_FLOAT_TAG, _DICT_TAG))
_PLAIN = frozenset((str, int, float, bool, type(None)))
_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _encode_float(x: float) -> Any:
    if math.isfinite(x):
        return x
    if math.isnan(x):
        return {_FLOAT_TAG: "nan"}
    return {_FLOAT_TAG: "inf" if x > 0 else "-inf"}


def to_jsonable(obj: Any, *, strict: bool = True, where: str = "value") -> Any:
    """Return ``obj`` as JSON-safe builtins by the module's rules; ``where`` names it in errors."""
    try:
        return _encode(obj, strict, where, 0)
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


def _encode(obj: Any, strict: bool, where: str, depth: int) -> Any:
    if obj is None or isinstance(obj, bool):
        return obj
    if isinstance(obj, str):
        return obj if type(obj) is str else str.__str__(obj)
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return _encode_float(float(obj))
    if isinstance(obj, (Mapping, list, tuple, set, frozenset)):
        depth += 1
        if depth > MAX_DEPTH:
            raise _TooDeep
    if isinstance(obj, Mapping):
        return _encode_mapping(obj, strict, where, depth)
    if isinstance(obj, (list, tuple)):
        return [_encode(v, strict, f"{where}[{i}]", depth) for i, v in enumerate(obj)]
    if isinstance(obj, (set, frozenset)):
        try:
            items = sorted(obj)
        except TypeError:
            items = list(obj)
        return [_encode(v, strict, f"{where}[...]", depth) for v in items]
    if isinstance(obj, enum.Enum):
        return _encode(obj.value, strict, where, depth)
    if isinstance(obj, os.PathLike):
        return _encode(os.fspath(obj), strict, where, depth)
    if isinstance(obj, (_dt.datetime, _dt.date, _dt.time)):
        return obj.isoformat()
    # numpy without importing numpy: scalars and arrays have .dtype and .tolist()
    if not isinstance(obj, type) and hasattr(obj, "dtype"):
        tolist = getattr(obj, "tolist", None)
        if callable(tolist):
            try:
                plain = tolist()
            except Exception:  # an odd object with a dtype: fall through to the error/repr
                pass
            else:
                return _encode(plain, strict, where, depth)
    if strict:
        raise TypeError(
            f"{where} holds {obj!r} of type {type(obj).__name__}, which has no JSON encoding "
            "(numbers, strings, bools, None, lists, tuples, dicts, numpy values, Path, "
            "datetime and Enum do)"
        )
    return repr(obj)


def _encode_mapping(
    obj: Mapping[Any, Any], strict: bool, where: str, depth: int
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in obj.items():
        if type(k) is not str:
            if isinstance(k, str):
                k = str.__str__(k)
            else:
                if strict and not isinstance(k, (int, float)):
                    raise TypeError(
                        f"{where} has key {k!r} of type {type(k).__name__}; JSON keys must be str"
                    )
                k = str(k)
        out[k] = _encode(v, strict, f"{where}[{k!r}]", depth)
    if strict and len(out) != len(obj):
        raise TypeError(f"{where} has keys that are equal as strings (such as 1 and '1')")
    if len(out) == 1 and next(iter(out)) in _TAGS:
        return {_DICT_TAG: out}  # the user's own {"$float": ...}: escape it
    return out


def from_jsonable(obj: Any) -> Any:
    """Undo the tagging of :func:`to_jsonable` (everything else is already plain)."""
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
