"""``trialrunner resume JOURNAL``: continue a study started by ``trialrunner run`` from its
journal alone (finished trials are not run again; unfinished ones run first)."""

from __future__ import annotations

import argparse
import os
import sys
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


def not_written_here(journal: str, command: dict[str, Any]) -> str | None:
    """Why the journal may not be this user's (``None`` when it is): its file belongs to another
    user, or its command's ``origin`` (user and host that ran `trialrunner run`) is missing or
    names another user or host. See docs/decisions.md."""
    from runner.cli._study_run import origin

    owner = os.stat(journal).st_uid
    if owner != os.getuid():
        return f"the file belongs to uid {owner}, not to you (uid {os.getuid()})"
    recorded = command.get("origin")
    if not isinstance(recorded, dict):
        return "its header does not say who wrote it"
    me = origin()
    if recorded.get("uid") != me["uid"] or recorded.get("host") != me["host"]:
        return (f"it was written by {recorded.get('user')} (uid {recorded.get('uid')}) on "
                f"{recorded.get('host')}")
    return None


def describe_command(command: dict[str, Any]) -> str:
    """What resuming ``command`` runs, in one line."""
    import shlex

    from runner.cli._summary import printable

    target = command.get("target") or {}
    if "script" in target:
        what = "runs the command " + shlex.join(str(a) for a in target["script"])
    else:
        what = f"imports and calls {target.get('function')}"
    return printable(f"{what} in the folder {command.get('cwd')}")


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
    why = not_written_here(journal, command)
    if why is not None:
        print(f"trialrunner resume: this journal may not be yours ({why}); resuming it "
              f"{describe_command(command)}", file=sys.stderr, flush=True)
    enter_cwd(command)
    return execute(command, journal, progress=args.progress, new=False)
