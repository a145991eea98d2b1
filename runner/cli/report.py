"""``trialrunner report JOURNAL``: status counts, the best trials and the time breakdown of a
study; ``--plot`` a PNG, ``--html`` one self-contained page, ``--csv`` one row per trial."""

from __future__ import annotations

import argparse
import csv
import math
import os
import re
import sys
from typing import TYPE_CHECKING, Any

from runner.cli._common import UsageError, quiet_stdout

if TYPE_CHECKING:
    from runner.cli._journal_view import Study

__all__ = ["add_parser", "csv_cell", "main", "write_csv"]

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


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(inf|nan)")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A CSV cell that no spreadsheet runs as a formula (OWASP's rule: a text starting with
    ``= + - @``, tab or carriage return gets a leading ``'``). Numbers stay numbers: a float or
    int is written as is (``-1.5``, ``-inf``), and so is a text that is a plain number."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(
            value):
        return "'" + value
    return value


def write_csv(study: Study, path: str) -> None:
    """One row per finished trial (the columns of ``History.to_records``; ``trial`` is the
    journal's trial id), every cell through `csv_cell`."""
    from trials._export import columns, record

    rows = [record(a.trial, info, value) for a, info, value in study.iter_finals()]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns(rows), restval="")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: csv_cell(v) for k, v in row.items()})


def _check_output(option: str, path: str | None, suffix: str) -> None:
    if path is None:
        return
    if not path.lower().endswith(suffix):
        raise UsageError(f"{option}: expected a {suffix} file name, got {path!r}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(f"{option}: no such folder: {folder}")


def main(args: argparse.Namespace) -> int:
    """Write the files asked for, then print the summary (a reader that leaves early, as
    ``| head`` does, costs no file and is no error)."""
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
    from runner.cli._devices import device_text, device_uses

    devices = device_uses(study)
    text = summary(study, args.top) + device_text(study, devices)
    written = []
    if args.plot or args.html:
        try:
            from runner.cli._plots import _pyplot, png_bytes

            _pyplot()
        except ImportError as e:
            raise UsageError(str(e)) from None
        png = png_bytes(study, devices)
        if args.plot:
            with open(args.plot, "wb") as f:
                f.write(png)
            written.append(f"plot: {args.plot}")
        if args.html:
            from runner.cli._html import write_html

            write_html(study, args.html, text=text, png=png)
            written.append(f"html: {args.html}")
    if args.csv:
        write_csv(study, args.csv)
        written.append(f"csv: {args.csv}")
    try:
        sys.stdout.write(text + "".join(line + "\n" for line in written))
        sys.stdout.flush()
    except BrokenPipeError:  # the reader left (`| head`): what it wanted it has
        quiet_stdout()
    return 0
