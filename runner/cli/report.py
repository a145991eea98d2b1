"""``trialrunner report JOURNAL``: status counts, the best trials and the time breakdown of a
study; ``--plot`` a PNG, ``--html`` one self-contained page, ``--csv`` one row per trial."""

from __future__ import annotations

import argparse
import csv
import math
import os
from typing import Any

from runner.cli._common import UsageError

__all__ = ["add_parser", "main", "write_csv"]

HELP = "summarise a journal; plot it, write it as HTML or CSV"


def add_parser(verbs: Any) -> argparse.ArgumentParser:
    """The ``report`` verb's arguments."""
    p: argparse.ArgumentParser = verbs.add_parser(
        "report", help=HELP, description=HELP + ". Works on any journal (also one being "
        "written), whether `trialrunner run` or OptimizationLoop wrote it.")
    p.add_argument("journal", metavar="JOURNAL", help="a study's journal (.jsonl), or a suite's "
                   "output folder (its statistics across problems; --html only)")
    p.add_argument("--plot", metavar="FILE.png", help="incumbent traces and worker timeline")
    p.add_argument("--html", metavar="FILE.html", help="the summary and plots in one file")
    p.add_argument("--csv", metavar="FILE.csv", help="one row per finished trial")
    p.add_argument("--top", type=int, default=5, metavar="N", help="best trials shown (5)")
    p.set_defaults(func=main)
    return p


def write_csv(rows: list[dict[str, Any]], path: str) -> None:
    """``rows`` (History.to_records) as CSV; columns are the union in first-seen order."""
    from trials._export import columns

    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns(rows), restval="")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (repr(v) if isinstance(v, float) and not math.isfinite(v)
                                 else v) for k, v in row.items()})


def _check_output(option: str, path: str | None, suffix: str) -> None:
    if path is None:
        return
    if not path.lower().endswith(suffix):
        raise UsageError(f"{option}: expected a {suffix} file name, got {path!r}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(f"{option}: no such folder: {folder}")


def main(args: argparse.Namespace) -> int:
    """Print the summary; write what was asked for."""
    from runner.cli._journal_view import load_study
    from runner.cli._summary import summary
    from trials import JournalError

    if args.top < 1:
        raise UsageError(f"--top must be >= 1, got {args.top}")
    _check_output("--plot", args.plot, ".png")
    _check_output("--html", args.html, ".html")
    _check_output("--csv", args.csv, ".csv")
    if os.path.isdir(args.journal):  # a suite's output folder: runner.suites reports it
        from runner.suites._suite_report import report_folder

        if args.plot or args.csv:
            raise UsageError("--plot and --csv take a journal; a suite folder takes --html")
        return report_folder(args.journal, args.html)
    if not os.path.isfile(args.journal):
        raise UsageError(f"JOURNAL: no such file: {args.journal}")
    try:
        study = load_study(args.journal)
    except (JournalError, ValueError, KeyError, TypeError) as e:
        raise UsageError(f"JOURNAL: {args.journal} cannot be read: {e}") from None
    print(summary(study, args.top), end="")
    if args.plot or args.html:
        try:
            from runner.cli._plots import _pyplot

            _pyplot()
        except ImportError as e:
            raise UsageError(str(e)) from None
    if args.plot:
        from runner.cli._plots import save_png

        save_png(study, args.plot)
        print(f"plot: {args.plot}")
    if args.html:
        from runner.cli._html import write_html

        write_html(study, args.html)
        print(f"html: {args.html}")
    if args.csv:
        write_csv(study.history.to_records(), args.csv)
        print(f"csv: {args.csv}")
    return 0
