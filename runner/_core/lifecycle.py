"""Runners left open at interpreter exit: each is named in a ``ResourceWarning`` (as the
standard library does for a subprocess still running) and closed quietly, before dask's own
exit handlers tear the event loop down under it."""

from __future__ import annotations

import atexit
import threading
import warnings
import weakref
from typing import Any

__all__ = ["opened", "closed"]

_OPEN: weakref.WeakSet[Any] = weakref.WeakSet()
_LOCK = threading.Lock()


def opened(runner: Any) -> None:
    """Remember ``runner`` until it is closed. The exit handler is registered anew each time,
    so it runs before those of libraries imported since (dask's, when a DaskRunner connects)."""
    with _LOCK:
        _OPEN.add(runner)
    atexit.unregister(_close_open_runners)
    atexit.register(_close_open_runners)


def closed(runner: Any) -> None:
    """Forget ``runner``: it was closed."""
    with _LOCK:
        _OPEN.discard(runner)


def _close_open_runners() -> None:
    with _LOCK:
        left = list(_OPEN)
    for runner in left:
        warnings.warn(f"{type(runner).__name__} was never closed: closing it at exit (use it "
                      "as a context manager, or call close())", ResourceWarning, stacklevel=1)
        try:
            runner.close()
        except Exception:  # at exit nothing more can be done; stay quiet
            pass
