"""The JSON encoding of configs, costs and info dicts: lossless for floats, explicit for the rest.

Rules (documented in docs/json-encoding.md):

* ``nan``/``inf``/``-inf`` floats become ``{"$float": "nan" | "inf" | "-inf"}`` and come back as
  floats, so a journal stays strict JSON and nothing is lost.
* numpy scalars become Python numbers, numpy arrays lists; tuples and sets become lists (sets
  sorted when they can be); ``pathlib.Path`` becomes its string; ``datetime``/``date`` their ISO
  string; an ``Enum`` its value.
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
_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _encode_float(x: float) -> Any:
    if math.isfinite(x):
        return x
    if math.isnan(x):
        return {_FLOAT_TAG: "nan"}
    return {_FLOAT_TAG: "inf" if x > 0 else "-inf"}


def to_jsonable(obj: Any, *, strict: bool = True, where: str = "value") -> Any:
    """Return ``obj`` as JSON-safe builtins by the module's rules; ``where`` names it in errors."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return _encode_float(float(obj))
    if isinstance(obj, Mapping):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, str):
                if strict and not isinstance(k, (int, float, bool)):
                    raise TypeError(
                        f"{where} has key {k!r} of type {type(k).__name__}; JSON keys must be str"
                    )
                k = str(k)
            out[k] = to_jsonable(v, strict=strict, where=f"{where}[{k!r}]")
        return out
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v, strict=strict, where=f"{where}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, (set, frozenset)):
        try:
            items = sorted(obj)
        except TypeError:
            items = list(obj)
        return [to_jsonable(v, strict=strict, where=f"{where}[...]") for v in items]
    if isinstance(obj, enum.Enum):
        return to_jsonable(obj.value, strict=strict, where=where)
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, (_dt.datetime, _dt.date, _dt.time)):
        return obj.isoformat()
    # numpy without importing numpy: scalars have .item(), arrays .tolist()
    tolist = getattr(obj, "tolist", None)
    if callable(tolist) and hasattr(obj, "dtype"):
        return to_jsonable(tolist(), strict=strict, where=where)
    if strict:
        raise TypeError(
            f"{where} holds {obj!r} of type {type(obj).__name__}, which has no JSON encoding "
            "(numbers, strings, bools, None, lists, tuples, dicts, numpy values, Path, "
            "datetime and Enum do)"
        )
    return repr(obj)


def from_jsonable(obj: Any) -> Any:
    """Undo the float tagging of :func:`to_jsonable` (everything else is already plain)."""
    if isinstance(obj, dict):
        if len(obj) == 1 and _FLOAT_TAG in obj:
            return _NONFINITE[obj[_FLOAT_TAG]]
        return {k: from_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [from_jsonable(v) for v in obj]
    return obj
