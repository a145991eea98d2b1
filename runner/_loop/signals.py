"""SIGTERM as Ctrl-C while a loop runs in the main thread, so a killed study marks its trials
in flight in the journal before it ends."""

from __future__ import annotations

import contextlib
import functools
import signal
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["sigterm_as_interrupt"]


def sigterm_as_interrupt() -> Callable[[], object]:
    """While the loop runs in the main thread, SIGTERM raises ``KeyboardInterrupt`` like Ctrl-C
    (unless the program set its own handler); returns what restores the handler."""
    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt("SIGTERM")

    with contextlib.suppress(ValueError, OSError):
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL):
            signal.signal(signal.SIGTERM, interrupt)
            return functools.partial(signal.signal, signal.SIGTERM, signal.SIG_DFL)
    return lambda: None
