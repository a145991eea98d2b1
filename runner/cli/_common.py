"""What every verb shares: an argument parser whose errors are one line and exit code 2, the
``UsageError`` a verb raises for bad input, and the ``-v`` logging set-up."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from typing import Any, NoReturn

__all__ = ["EXIT_USAGE", "Parser", "UsageError", "fail", "quiet_stdout", "setup_logging"]

EXIT_USAGE = 2
"""Exit code for errors in the arguments (argparse's convention)."""


class UsageError(Exception):
    """Bad input on the command line (a value, a file, a target): one line, exit code 2."""


class Parser(argparse.ArgumentParser):
    """``argparse`` with errors as one line (``prog: error: message``) on stderr, exit code 2."""

    def error(self, message: str) -> NoReturn:
        """Print one line, no usage block, and exit 2."""
        fail(self.prog, message, EXIT_USAGE)


def fail(prog: str, message: str, code: int) -> NoReturn:
    """Print ``prog: error: message`` as one line on stderr and exit with ``code``."""
    line = " ".join(str(message).split())  # one line, whatever the message held
    sys.stderr.write(f"{prog}: error: {line}\n")
    raise SystemExit(code)


def quiet_stdout() -> None:
    """Point stdout at /dev/null after its reader left, so nothing more (not even the flush at
    exit) raises ``BrokenPipeError``."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def setup_logging(verbosity: int) -> Callable[[], None]:
    """WARNING by default, INFO with ``-v``, DEBUG with ``-vv``; to stderr. Returns what undoes
    it (so ``main`` called in-process, by a test or a notebook, leaves logging as it was)."""
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(level)
    previous = root.level
    root.addHandler(handler)
    root.setLevel(min(previous, level))  # the handler filters; others keep what they had

    def undo() -> None:
        root.removeHandler(handler)
        root.setLevel(previous)

    return undo


def passthrough_parser(verbs: Any, name: str, help: str, description: str,
                       main: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
    """A verb whose every argument goes, unparsed, to another program's ``main(argv)``
    (``args.rest``): ``demo`` and ``suite``."""
    p: argparse.ArgumentParser = verbs.add_parser(name, help=help, add_help=False,
                                                  description=description)
    p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    p.set_defaults(func=main)
    return p
