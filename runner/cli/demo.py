"""``trialrunner demo [--folder DIR] [--trials N] [--iterations N]``: what ``make run`` runs
(``benchmarks/demo.py`` of a source checkout): Branin by random search and by Hyperband, a live
display, a result table, journals kept in ``runs/demo/`` for ``trialrunner report``."""

from __future__ import annotations

import argparse
import importlib
from typing import Any

from runner.cli._common import UsageError, passthrough_parser

__all__ = ["add_parser", "main"]

HELP = "the demo `make run` runs (from a source checkout); `demo --help` for its options"


def add_parser(verbs: Any) -> argparse.ArgumentParser:
    """The ``demo`` verb: every argument after it goes to ``benchmarks.demo.main``."""
    return passthrough_parser(verbs, "demo", HELP, HELP, main)


def main(args: argparse.Namespace) -> int:
    """Run ``benchmarks.demo.main(argv)``."""
    try:
        demo = importlib.import_module("benchmarks.demo")
    except ImportError:
        raise UsageError("the demo ships with the source checkout (benchmarks/demo.py): run "
                         "`trialrunner demo` or `make run` from the checkout's top folder") from None
    code: int = demo.main(list(args.rest))
    return code
