"""Warnings on the command line: one line each, ``trialrunner VERB: warning: ...``, in the
command line's terms, never Python's ``file:line: Category: message`` plus a source line (which
pointed at ``sys.exit(main())`` or inside this package, and gave Python-API advice)."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

__all__ = ["cli_warnings", "warning_line"]

_MEMORY_TERMS = {
    # verb: (how the limit was given, how to give 2 GiB)
    "suite": ("memory_limit = {limit} (MB) in the suite file", "write memory_limit = 2048"),
    "resume": ("the study's --memory-limit {limit} (MB, from its journal)",
               "start a new study with --memory-limit 2048"),
}
_DEFAULT_TERMS = ("--memory-limit {limit} (MB)", "give --memory-limit 2048")


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def warning_line(verb: str, message: Warning | str) -> str:
    """The text of one warning in the terms of ``verb`` (one line)."""
    from runner import MemoryLimitWarning

    if isinstance(message, MemoryLimitWarning) and message.limit_mb is not None:
        given, example = _MEMORY_TERMS.get(verb, _DEFAULT_TERMS)
        have = "" if message.have_mb is None else \
            f" ({message.have_mb:,.0f} MB of memory and swap)"
        text = (f"{given.format(limit=_number(message.limit_mb))} is more than this machine "
                f"has{have}, so it will never act; it is in megabytes: for 2 GiB {example}")
    else:
        text = str(message)
    return " ".join(text.split())


@contextmanager
def cli_warnings(prog: str, verb: str, stream: Callable[[], TextIO] = lambda: sys.stderr
                 ) -> Iterator[None]:
    """While the verb runs, print each warning as ``prog: warning: text`` on stderr, each
    text once (the same limit checked twice, a lock taken over by several studies' opening)."""
    shown: set[str] = set()

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: TextIO | None = None, line: str | None = None) -> None:
        text = warning_line(verb, message)
        if text in shown:
            return
        shown.add(text)
        out = file if file is not None else stream()
        try:
            out.write(f"{prog}: warning: {text}\n")
            out.flush()
        except (OSError, ValueError):  # stderr closed: a warning is not worth failing over
            pass

    with warnings.catch_warnings():
        warnings.showwarning = show  # restored by catch_warnings
        yield
