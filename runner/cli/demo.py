"""``trialrunner demo [--folder DIR] [--trials N] [--iterations N]``: what ``make run`` runs
(``benchmarks/demo.py`` of a source checkout): Branin by random search and by Hyperband, a live
display, a result table, journals kept in ``runs/demo/`` for ``trialrunner report``."""

from __future__ import annotations

import argparse
import importlib
from typing import Any

from runner.cli._common import UsageError

__all__ = ["add_parser", "main"]

HELP = "the demo `make run` runs (from a source checkout); `demo --help` for its options"


def add_parser(verbs: Any) -> argparse.ArgumentParser:
    """The ``demo`` verb: every argument after it goes to ``benchmarks.demo.main``."""
    p: argparse.ArgumentParser = verbs.add_parser(
        "demo", help=HELP, add_help=False, description=HELP)
    p.add_argument("demo_args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    p.set_defaults(func=main)
    return p


def main(args: argparse.Namespace) -> int:
    """Run ``benchmarks.demo.main(argv)``."""
    try:
        demo = importlib.import_module("benchmarks.demo")
    except ImportError:
        raise UsageError("the demo ships with the source checkout (benchmarks/demo.py): run "
                         "`trialrunner demo` or `make run` from the checkout's top folder") from None
    code: int = demo.main(list(args.demo_args))
    return code
