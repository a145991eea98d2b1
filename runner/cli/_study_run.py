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
from runner.errors import FailureRateError, RetriesExceededError

__all__ = ["execute", "origin"]

log = logging.getLogger(__name__)


def _want_progress(progress: bool | None) -> bool:
    has_rich = importlib.util.find_spec("rich") is not None
    if progress is None:
        return has_rich and sys.stdout.isatty()
    if progress and not has_rich:
        raise UsageError("--progress needs rich: pip install 'trialrunner[terminal]'")
    return progress


def origin() -> dict[str, Any]:
    """Who writes a new journal: the ``origin`` of its command (see ``resume``)."""
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid
        user = str(os.getuid())
    return {"user": user, "uid": os.getuid(), "host": socket.gethostname()}


def _create(journal: str, command: Mapping[str, Any]) -> None:
    """Write the new journal's header, with the command and its origin, before the loop
    opens it."""
    from trials import Journal

    folder = os.path.dirname(journal)
    os.makedirs(folder, exist_ok=True)
    with Journal.open(journal, command={**command, "origin": origin()}):
        pass


def _session(journal: str, command: Mapping[str, Any]) -> None:
    """Record where this resume runs trials (``report`` shows the latest backend)."""
    import time

    from trials import Journal, JournalError

    try:
        with Journal.open(journal) as j:
            j.append({"type": "session", "backend": dict(command["backend"]),
                      "time": time.time()})
    except JournalError as e:  # also: locked by a running study
        raise UsageError(str(e)) from None


def execute(command: Mapping[str, Any], journal: str, *, progress: bool | None,
            new: bool) -> int:
    """Run the study of ``command`` on ``journal`` until a goal or the optimizer ends it."""
    show = _want_progress(progress)
    optimizer = build_study_optimizer(command)
    runner = build_runner(command)
    with runner:
        if new:
            _create(journal, command)
        else:
            _session(journal, command)
        loop = build_loop(command, optimizer, runner, journal)
        print(f"journal: {journal}", flush=True)
        try:
            loop.run(progress=show)
        except KeyboardInterrupt:
            print(f"interrupted; continue with: trialrunner resume {journal}", file=sys.stderr)
            return 130
        except (FailureRateError, RetriesExceededError) as e:
            stopped: FailureRateError | RetriesExceededError | None = e
        else:
            stopped = None
    from runner.cli._journal_view import load_study
    from runner.cli._summary import summary

    print(summary(load_study(journal), show_path=False), end="", flush=True)
    stem = os.path.splitext(journal)[0]  # the files go beside the journal, not into the cwd
    print(f"report: trialrunner report {journal} --plot {stem}.png --html {stem}.html")
    if stopped is not None:
        print(_stopped_line(stopped), file=sys.stderr, flush=True)
        return 1
    return 0


def _stopped_line(e: FailureRateError | RetriesExceededError) -> str:
    """One line, in the command line's terms, for a study a failure ended."""
    if isinstance(e, RetriesExceededError):
        what = str(e).split(";")[0].replace("retries=", "--retries ")
        last = (e.traceback or "").strip().splitlines()[-1:] or ["?"]
        return (f"trialrunner: study stopped: {what}: {last[0][:200]} (--keep-going tells the "
                f"optimizer and goes on; --max-failure-rate then stops only a broken target)")
    trial, error = e.failures[-1] if e.failures else (None, "?")
    error = " ".join(error.split())
    return (f"trialrunner: study stopped: {len(e.failures)} of the last {e.finished} trials "
            f"failed (more than --max-failure-rate {e.max_failure_rate:g} of --failure-window "
            f"{e.failure_window}); the last, trial {trial}: {error[:200]}")
