"""``trialrunner resume JOURNAL``: continue a study started by ``trialrunner run`` from its
journal alone (finished trials are not run again; unfinished ones run first)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from runner.cli._command import BACKENDS, COMMAND_VERSION, enter_cwd
from runner.cli._common import UsageError
from runner.cli._study_run import execute

__all__ = ["add_parser", "main"]

HELP = "continue a study from its journal"


def add_parser(verbs: Any) -> argparse.ArgumentParser:
    """The ``resume`` verb's arguments."""
    p: argparse.ArgumentParser = verbs.add_parser(
        "resume", help=HELP, description=HELP + ": the target, space, optimizer (and its seed), "
        "backend, limits and goals are read from the journal header. Where trials run may be "
        "changed; what the study is may not.")
    p.add_argument("journal", metavar="JOURNAL", help="a journal written by `trialrunner run`")
    p.add_argument("--backend", choices=BACKENDS, help="run on another backend this time")
    p.add_argument("--workers", type=int, metavar="N", help="another worker count this time")
    p.add_argument("--scheduler", metavar="ADDRESS", help="another dask scheduler this time")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="live progress display (default: when the output is a terminal)")
    p.set_defaults(func=main)
    return p


def read_command(journal: str) -> dict[str, Any]:
    """The ``command`` of the journal's header; a `UsageError` if it has none."""
    from trials import JournalError, read_header

    if not os.path.isfile(journal):
        raise UsageError(f"JOURNAL: no such file: {journal}")
    try:
        header = read_header(journal)
    except (JournalError, OSError, ValueError) as e:
        raise UsageError(f"JOURNAL: {e}") from None
    command = header.get("command")
    if not isinstance(command, dict):
        raise UsageError(f"{journal} was not written by `trialrunner run` (its header has no "
                         "command); resume it from Python with OptimizationLoop(..., journal=)")
    if command.get("version", 0) > COMMAND_VERSION:
        raise UsageError(f"{journal} was written by a newer trialrunner (command version "
                         f"{command.get('version')}); upgrade trialrunner")
    return command


def main(args: argparse.Namespace) -> int:
    """Rebuild the study from the header and run it on."""
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be an int > 0, got {args.workers}")
    journal = os.path.abspath(args.journal)
    command = read_command(journal)
    backend = dict(command["backend"])
    if args.backend:
        backend["name"] = args.backend
    if args.workers:
        backend["workers"] = args.workers
    if args.scheduler:
        backend.update(name="dask", scheduler=args.scheduler)
    command = {**command, "backend": backend}
    enter_cwd(command)
    return execute(command, journal, progress=args.progress, new=False)
