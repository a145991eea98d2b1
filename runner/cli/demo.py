"""``trialrunner demo``: what ``make run`` runs (``benchmarks/demo.py`` of a source checkout):
optimizations of the Branin function with a live display and a result table."""

from __future__ import annotations

import argparse
import importlib
from typing import Any

from runner.cli._common import UsageError

__all__ = ["add_parser", "main"]

HELP = "the demo `make run` runs (from a source checkout)"


def add_parser(verbs: Any) -> argparse.ArgumentParser:
    """The ``demo`` verb (no arguments of its own)."""
    p: argparse.ArgumentParser = verbs.add_parser(
        "demo", help=HELP, description="Run the demo of `make run`: random search and Hyperband "
        "on the Branin function on 2 worker processes, a live display, a result table. It lives "
        "in benchmarks/demo.py of the source checkout; run it from the checkout's top folder.")
    p.set_defaults(func=main)
    return p


def main(args: argparse.Namespace) -> int:
    """Run ``benchmarks.demo.main()``."""
    try:
        demo = importlib.import_module("benchmarks.demo")
    except ImportError:
        raise UsageError("the demo ships with the source checkout (benchmarks/demo.py): run "
                         "`trialrunner demo` or `make run` from the checkout's top folder") from None
    code: int = demo.main()
    return code
