"""``trialrunner suite FILE ...``: run a benchmark suite; the arguments and the work belong to
``runner.suites.main`` (installed with the suites), this verb only hands them over."""

from __future__ import annotations

import argparse
import importlib
from typing import Any

from runner.cli._common import UsageError, passthrough_parser

__all__ = ["add_parser", "main"]

HELP = "run a benchmark suite (problems x optimizers x seeds) on one shared runner"


def add_parser(verbs: Any) -> argparse.ArgumentParser:
    """The ``suite`` verb: every argument after it goes to ``runner.suites.main``."""
    return passthrough_parser(verbs, "suite", HELP,
                              HELP + "; `trialrunner suite --help` lists its options.", main)


def main(args: argparse.Namespace) -> int:
    """Call ``runner.suites.main(argv)``, or say that suites are not installed (exit 2)."""
    try:
        suites = importlib.import_module("runner.suites")
    except ImportError:
        raise UsageError("suites are not installed") from None
    entry = getattr(suites, "main", None)
    if not callable(entry):
        raise UsageError("suites are not installed (runner.suites has no main)")
    code: int = entry(list(args.rest))
    return code
