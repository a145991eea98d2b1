"""The command line: ``python -m runner`` and the ``trialrunner`` console script.

One module per verb (``run``, ``resume``, ``report``, ``suite``, ``demo``, ``watch``), each with
``add_parser(verbs)`` and ``main(args) -> int``. Errors in the arguments are one line on stderr
and exit code 2; an unexpected error is one line and exit code 1 (its traceback with ``-vv``); a
trial's failure is data in the journal, not an error here.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from runner.cli import demo, report, resume, run, suite, watch
from runner.cli._common import EXIT_USAGE, Parser, UsageError, fail, quiet_stdout, setup_logging
from runner.cli._warnings import cli_warnings

__all__ = ["build_parser", "main"]

PROG = "trialrunner"
VERBS = (run, resume, report, suite, demo, watch)

log = logging.getLogger(__name__)


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("trialrunner")
    except metadata.PackageNotFoundError:  # run from a checkout that is not installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    """The parser of every verb."""
    parser = Parser(prog=PROG, description="Run, resume and report optimization studies.")
    parser.add_argument("--version", action="version", version=f"{PROG} {_version()}")
    parser.add_argument("-v", "--verbose", action="count", default=0, dest="verbose_top",
                        help="log more: -v INFO, -vv DEBUG (default: warnings only)")
    verbs = parser.add_subparsers(title="verbs", metavar="VERB", dest="verb",
                                  parser_class=Parser)
    for module in VERBS:
        p = module.add_parser(verbs)
        if module not in (suite, demo):
            p.add_argument("-v", "--verbose", action="count", default=0,
                           help="log more: -v INFO, -vv DEBUG (default: warnings only)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``), run the verb, return its exit code."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    verb_at = next((i for i, a in enumerate(argv) if not a.startswith("-")), len(argv))
    if verb_at < len(argv) and argv[verb_at] in ("suite", "demo"):
        # everything after `suite`/`demo` is theirs (options first, --help included), so it
        # bypasses argparse, which would take a leading option for one of ours
        args = parser.parse_args(argv[:verb_at + 1])
        args.rest = argv[verb_at + 1:]
    else:
        args = parser.parse_args(argv)
    if args.verb is None:
        parser.print_help()
        return EXIT_USAGE
    verbosity = args.verbose_top + getattr(args, "verbose", 0)
    restore_logging = setup_logging(verbosity)
    try:
        with cli_warnings(f"{PROG} {args.verb}", args.verb):
            return _run_verb(args, f"{PROG} {args.verb}", verbosity)
    finally:
        restore_logging()


def _run_verb(args: argparse.Namespace, prog: str, verbosity: int) -> int:
    """Run the verb; turn what it raises into one line and an exit code."""
    try:
        code: int = args.func(args)
    except UsageError as e:
        fail(prog, str(e), EXIT_USAGE)
    except KeyboardInterrupt:
        fail(prog, "interrupted", 130)
    except BrokenPipeError:  # `trialrunner report ... | head`: the reader left; not an error
        quiet_stdout()
        return 0
    except Exception as e:  # one line for the user; the traceback with -vv
        log.debug("%s failed", prog, exc_info=True)
        fail(prog, f"{type(e).__name__}: {e}" + ("" if verbosity >= 2 else
                                                  " (run with -vv for the traceback)"), 1)
    return code
