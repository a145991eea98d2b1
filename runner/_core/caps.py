"""Size caps on what a trial hands back, measured on the decoded value (a 60-byte pickle can
unpickle to 256 MB), and the caps on what reaches the journal (docs/bounds.md).

`measure_size` walks a value cheaply and boundedly: each distinct object is counted once
(``sys.getsizeof``; a numpy array's ``nbytes``; an object's ``__dict__``), at most ``max_nodes``
objects are visited, the size of what was left unvisited is extrapolated from what was, and the
walk stops as soon as the size passes ``stop_at``. `check_result_size` turns that into
an error text for the worker pipe.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from typing import Any

from trials._json import JsonCap

__all__ = [
    "JOURNAL_CAP",
    "JOURNAL_TOTAL_BYTES",
    "JOURNAL_VALUE_BYTES",
    "MAX_NODES",
    "check_result_size",
    "is_plain_data",
    "measure_size",
    "over_result_cap",
]

MAX_NODES = 10_000
"""Objects `measure_size` visits at most (a few milliseconds); the rest is extrapolated."""

JOURNAL_VALUE_BYTES = 1 << 20
"""Most bytes one entry of a trial's ``config`` or ``additional_info`` may take in a journal."""

JOURNAL_TOTAL_BYTES = 4 << 20
"""Most bytes all the entries of one ``config`` or ``additional_info`` may take in a journal."""

JOURNAL_CAP = JsonCap(value_bytes=JOURNAL_VALUE_BYTES, total_bytes=JOURNAL_TOTAL_BYTES)
"""The cap the loop journals with: returned info over it is truncated with a marker, a config
over it is refused at ``submit`` (docs/json-encoding.md, "Size caps")."""

_LEAVES = (str, bytes, bytearray, int, float, complex, bool, type(None), memoryview)
_FLAT = frozenset((str, bytes, int, float, bool, type(None)))


def _children(obj: Any) -> tuple[Iterator[Any], int] | None:
    """What ``obj`` holds beyond its own ``sys.getsizeof``, and how many, or ``None``."""
    if isinstance(obj, _LEAVES):
        return None
    if isinstance(obj, Mapping):
        return (x for item in obj.items() for x in item), 2 * len(obj)
    if isinstance(obj, (list, tuple, set, frozenset)):
        return iter(obj), len(obj)
    dtype = getattr(obj, "dtype", None)
    if dtype is not None:  # numpy: only an object array holds other objects
        flat = getattr(obj, "flat", None)
        if getattr(dtype, "hasobject", False) and flat is not None:
            return iter(flat), int(getattr(obj, "size", 0))
        return None
    attributes = getattr(obj, "__dict__", None)
    if isinstance(attributes, dict):
        return iter(attributes.values()), len(attributes)
    return None


def _own_size(obj: Any) -> int:
    nbytes = getattr(obj, "nbytes", None) if not isinstance(obj, _LEAVES) else None
    if type(nbytes) is int and nbytes >= 0 and hasattr(obj, "dtype"):
        return nbytes + 100  # a numpy array: its buffer (getsizeof misses a view's) plus header
    try:
        return sys.getsizeof(obj)
    except Exception:  # an odd object whose __sizeof__ fails
        return 64


def measure_size(value: Any, *, stop_at: int | None = None, max_nodes: int = MAX_NODES) -> int:
    """Approximate bytes ``value`` occupies in memory (shared objects counted once).

    Visits at most ``max_nodes`` objects; a container whose items were not all visited adds
    its unvisited items at the average size of its visited ones. Returns as soon as the size
    exceeds ``stop_at`` (then the result is only known to be larger).
    """
    if type(value) in _FLAT:  # the common result: a number, or a short string
        return _own_size(value)
    seen: set[int] = {id(value)}
    total = _own_size(value)
    nodes = 1
    stack: list[list[Any]] = []  # per open container: [items, how many, bytes below, visited]
    children = _children(value)
    if children is not None:
        stack.append([children[0], children[1], 0, 0])
    while stack:
        if stop_at is not None and total > stop_at:
            return total
        if nodes >= max_nodes:
            return total + _extrapolate(stack)
        frame = stack[-1]
        child = next(frame[0], _END)
        if child is _END:
            stack.pop()
            if stack:
                stack[-1][2] += frame[2]  # a finished container's contents count for its parent
            continue
        nodes += 1
        frame[3] += 1
        if id(child) in seen:
            continue
        seen.add(id(child))
        if type(child) in _FLAT:
            size = sys.getsizeof(child)
        else:
            size = _own_size(child)
            children = _children(child)
            if children is not None:
                stack.append([children[0], children[1], 0, 0])
        total += size
        frame[2] += size
    return total


def _extrapolate(stack: list[list[Any]]) -> int:
    """Bytes of the items not visited in the open containers, at the average of those visited
    (innermost first, so a parent's average includes its open child's estimate)."""
    extra_total = 0
    carried = 0  # the open child's bytes below it, estimate included, for its parent
    for frame in reversed(stack):
        _, count, below, visited = frame
        below += carried
        extra = (count - visited) * below // visited if visited and count > visited else 0
        extra_total += extra
        carried = below + extra
    return extra_total


_END = object()


def check_result_size(value: Any, limit_bytes: int, what: str = "the result") -> str | None:
    """An error text if the decoded ``value`` takes more than ``limit_bytes`` in memory, else
    ``None``; cheap (a bounded walk, see `measure_size`), for the worker pipe's reader."""
    if isinstance(limit_bytes, bool) or not isinstance(limit_bytes, int) or limit_bytes < 0:
        raise TypeError(f"limit_bytes must be an int >= 0, got {limit_bytes!r}")
    size = measure_size(value, stop_at=limit_bytes)
    if size <= limit_bytes:
        return None
    return (f"{what} takes at least {_mb(size)} in memory once decoded, over the "
            f"{_mb(limit_bytes)} cap on what a trial may return")


_PLAIN = (str, int, float, bool, type(None), bytes)


def is_plain_data(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` is builtins only (then its pickle's size is its size once decoded)."""
    if isinstance(value, _PLAIN):
        return True
    if depth > 20:
        return False
    if type(value) in (list, tuple):
        return all(is_plain_data(v, depth + 1) for v in value)
    if type(value) is dict:
        return all(is_plain_data(k, depth + 1) and is_plain_data(v, depth + 1)
                   for k, v in value.items())
    return False


def over_result_cap(data: bytes, start: int, limit_bytes: int, *, plain: bool,
                    what: str = "the result") -> str | None:
    """An error text if the pickle ``data[start:]`` (what a trial sends: its result, a report)
    is over ``limit_bytes``, pickled or, unless it is ``plain`` data, once decoded; measured
    where it was made (a worker is expendable, the driver is not). ``None`` if within."""
    size = len(data) - start
    if size > limit_bytes:
        return (f"{what} is {size / 2**20:.0f} MB pickled, over the "
                f"{limit_bytes // 2**20} MB cap on what a trial may return")
    if plain:
        return None
    import pickle

    try:
        decoded = pickle.loads(memoryview(data)[start:])
    except MemoryError:
        return f"{what} does not fit in memory once unpickled"
    except Exception:  # the driver will say that it cannot unpickle it
        return None
    return check_result_size(decoded, limit_bytes, what)


def _mb(n: int) -> str:
    return f"{n / 2**20:.0f} MB" if n >= 2**20 else f"{n} bytes"
