"""Number conversion shared by the data model and the runner's argument checks: a real number to
``float`` with a clear error (naming the field) instead of a bare ``OverflowError``."""

from __future__ import annotations

import numbers
import sys
from typing import Any

__all__ = ["describe", "real_to_float"]

_SHOWN = 80  # characters of a value's repr shown in an error message


def describe(value: Any) -> str:
    """``repr(value) (type T)`` for error messages, bounded in length and safe for huge ints."""
    if type(value) is int and value.bit_length() > 200:
        shown = f"an int of about {int(value.bit_length() * 0.30103) + 1} digits"
    else:
        try:
            shown = repr(value)
        except Exception:  # a repr that raises, or an int over Python's digit limit
            shown = f"<{type(value).__name__} object>"
        if len(shown) > _SHOWN:
            shown = shown[: _SHOWN - 3] + "..."
    return f"{shown} (type {type(value).__name__})"


def real_to_float(value: Any, name: str, expected: str) -> float:
    """``value`` as a float: ``TypeError`` for a non-number or a bool, ``ValueError`` for a
    number no float can hold (``10**400``); both say ``name must be <expected>``."""
    if type(value) is float:
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {expected}, got {describe(value)}")
    try:
        return float(value)
    except OverflowError:
        raise ValueError(
            f"{name} must be {expected}, got {describe(value)}, too large for a float "
            f"(at most {sys.float_info.max:.4g})"
        ) from None
