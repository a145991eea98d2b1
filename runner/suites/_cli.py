"""The ``suite`` verb: ``python -m runner suite FILE --backend B --workers N [--scheduler ADDRESS]
--out DIR``. Argument errors (the suite file's included) are one line on stderr, exit code 2;
a suite with failed studies exits 1 after writing its results."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any, NoReturn

from runner.cli._common import UsageError
from runner.cli._slurm import add_slurm_options, slurm_spec
from runner.suites._resources import runner_resources
from runner.suites._run import BACKENDS, check_backend, make_runner, run_suite
from runner.suites._spec import SuiteFileError, load_suite

__all__ = ["build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line (no usage block) and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def build_parser(prog: str = "python -m runner suite") -> argparse.ArgumentParser:
    """The parser of the ``suite`` verb (what ``--help`` shows)."""
    parser = _Parser(prog=prog, description="Run every study of a benchmark suite (problems x "
                     "optimizers x seeds) on one shared pool of workers; run it again on the "
                     "same --out to resume.")
    parser.add_argument("file", metavar="FILE", help="the suite file (TOML)")
    parser.add_argument("--backend", choices=BACKENDS, default="process",
                        help="where trials run (default: process)")
    parser.add_argument("--workers", type=_workers, default=2, metavar="N",
                        help="workers of the shared runner (default: 2)")
    parser.add_argument("--scheduler", metavar="ADDRESS", default=None,
                        help="a dask scheduler address (dask backend only)")
    add_slurm_options(parser)
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="output folder (default: runs/<suite name>)")
    return parser


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM stops the suite like Ctrl-C (journals marked, runner closed)."""
    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt("SIGTERM")

    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers
        return
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError:
        return None


def main(argv: list[str] | None = None) -> int:
    """Run the ``suite`` verb on ``argv`` (without the verb); the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.scheduler is not None and args.backend != "dask":
        parser.error("argument --scheduler: only with --backend dask")
    try:
        slurm = slurm_spec(args, args.backend).get("slurm")
    except UsageError as exc:
        parser.error(str(exc))
    try:
        spec = load_suite(args.file)
    except SuiteFileError as exc:
        parser.error(" ".join(str(exc).split()))
    from rich.console import Console

    from runner.errors import RunnerError

    problems = {name: spec.problem(name) for name in spec.problems}
    try:
        check_backend(spec, problems, args.backend == "simulated")
    except ValueError as exc:
        parser.error(f"argument --backend: {' '.join(str(exc).split())}")
    try:
        shared = make_runner(args.backend, args.workers, problems, scheduler=args.scheduler,
                             limits=spec.limits, slurm=slurm,
                             resources=runner_resources(spec.resources, spec.trial_resources,
                                                        args.backend))
    except (ValueError, TypeError, OSError, RunnerError) as exc:
        parser.error(f"argument --backend: cannot start {args.backend!r}: "
                     f"{' '.join(str(exc).split())}")
    console = Console()
    try:
        with _sigterm_as_interrupt(), shared:
            result = run_suite(spec, out=args.out, runner=shared, progress=sys.stderr.isatty(),
                               source=_text(args.file))
    except KeyboardInterrupt:
        print("interrupted: run the same command again to resume", file=sys.stderr)
        return 130
    from runner.suites._suite_data import load
    from runner.suites._suite_report import print_report

    print_report(load(result.out), console)
    console.print(f"{len(result.rows)} studies, {result.wall_s:.1f} s, worker utilization "
                  f"{result.utilization:.1%}; results in {result.out}/results.csv, plots in "
                  f"{result.out}/plots/")
    for row in result.failed:
        print(f"study {row['problem']}/{row['optimizer']}/seed-{row['seed']} failed: "
              f"{row['error']}", file=sys.stderr)
    return 1 if result.failed else 0
