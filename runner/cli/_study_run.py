"""Run a study the CLI built (``run`` and ``resume`` share this): build the runner, write the
journal header for a new study, drive the loop, print where the journal is and its summary."""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from collections.abc import Mapping
from typing import Any

from runner.cli._command import build_loop, build_runner, build_study_optimizer
from runner.cli._common import UsageError
from runner.errors import FailureRateError

__all__ = ["execute"]

log = logging.getLogger(__name__)


def _want_progress(progress: bool | None) -> bool:
    has_rich = importlib.util.find_spec("rich") is not None
    if progress is None:
        return has_rich and sys.stdout.isatty()
    if progress and not has_rich:
        raise UsageError("--progress needs rich: pip install 'trialrunner[terminal]'")
    return progress


def _create(journal: str, command: Mapping[str, Any]) -> None:
    """Write the new journal's header, with the command, before the loop opens it."""
    from trials import Journal

    folder = os.path.dirname(journal)
    os.makedirs(folder, exist_ok=True)
    with Journal.open(journal, command=command):
        pass


def execute(command: Mapping[str, Any], journal: str, *, progress: bool | None,
            new: bool) -> int:
    """Run the study of ``command`` on ``journal`` until a goal or the optimizer ends it."""
    show = _want_progress(progress)
    optimizer = build_study_optimizer(command)
    runner = build_runner(command)
    with runner:
        if new:
            _create(journal, command)
        loop = build_loop(command, optimizer, runner, journal)
        print(f"journal: {journal}", flush=True)
        try:
            loop.run(progress=show)
        except KeyboardInterrupt:
            print(f"interrupted; continue with: trialrunner resume {journal}", file=sys.stderr)
            return 130
        except FailureRateError as e:
            stopped: FailureRateError | None = e
        else:
            stopped = None
    from runner.cli._journal_view import load_study
    from runner.cli._summary import summary

    print(summary(load_study(journal)), end="", flush=True)
    print(f"report: trialrunner report {journal} --plot study.png --html study.html")
    if stopped is not None:
        print(_failure_rate_line(stopped), file=sys.stderr, flush=True)
        return 1
    return 0


def _failure_rate_line(e: FailureRateError) -> str:
    """One line, in the command line's terms, for a study the failure-rate policy ended."""
    trial, error = e.failures[-1] if e.failures else (None, "?")
    error = " ".join(error.split())
    return (f"trialrunner: study stopped: {len(e.failures)} of the last {e.finished} trials "
            f"failed (more than --max-failure-rate {e.max_failure_rate:g} of --failure-window "
            f"{e.failure_window}); the last, trial {trial}: {error[:200]}")
