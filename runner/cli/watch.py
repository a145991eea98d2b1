"""``trialrunner watch JOURNAL [--interval S] [--html FILE]``: the live state of a study from its
journal alone, while another process (on this machine or another one sharing the file system)
runs it: trials finished and running, outcomes per status, the incumbent, overhead, worker use,
the last error. Each refresh reads only what was appended (runner/cli/_journal_tail.py); the
journal is never written. It exits when the study ends (0), or on Ctrl-C (130).
"""

from __future__ import annotations

import argparse
import html
import os
import sys
import tempfile
import time
from typing import Any

from runner.cli._common import UsageError

__all__ = ["add_parser", "main"]

HELP = "follow a study's journal while another process runs it"

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">{refresh}
<title>{title}</title>
<style>body {{ font-family: sans-serif; margin: 2em; color: #222; }}</style></head>
<body>
{table}
<p style="color:#777;font-size:12px">{note}</p>
</body></html>
"""


def add_parser(verbs: Any) -> argparse.ArgumentParser:
    """The ``watch`` verb's arguments."""
    p: argparse.ArgumentParser = verbs.add_parser(
        "watch", help=HELP, description=HELP + ": the same live information as "
        "OptimizationLoop.live_info(), read incrementally from the journal (never written). "
        "Exits when the study ends, or on Ctrl-C (exit 130).")
    p.add_argument("journal", metavar="JOURNAL", help="a study's journal (.jsonl)")
    p.add_argument("--interval", type=float, default=1.0, metavar="S",
                   help="seconds between refreshes (1)")
    p.add_argument("--html", metavar="FILE.html",
                   help="also keep FILE.html up to date, a page that reloads itself")
    p.set_defaults(func=main)
    return p


def write_page(path: str, table: str, title: str, interval: float | None) -> None:
    """Replace ``path`` atomically with a page showing ``table``; it reloads itself every
    ``interval`` seconds (``None``: the study ended, it stays)."""
    refresh = "" if interval is None else \
        f'\n<meta http-equiv="refresh" content="{max(1, round(interval))}">'
    note = (f"updated {time.strftime('%Y-%m-%d %H:%M:%S')}" +
            ("; the study ended" if interval is None else f", every {interval:g} s"))
    page = _PAGE.format(refresh=refresh, title=html.escape(title), table=table, note=note)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".watch-", suffix=".html")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(page)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _check(args: argparse.Namespace) -> None:
    if not os.path.isfile(args.journal):
        raise UsageError(f"no journal at {args.journal!r}")
    if not args.interval > 0:
        raise UsageError(f"--interval: expected seconds > 0, got {args.interval:g}")
    if args.html is not None:
        folder = os.path.dirname(os.path.abspath(args.html))
        if not os.path.isdir(folder):
            raise UsageError(f"--html: no such folder: {folder}")


def main(args: argparse.Namespace) -> int:
    """Refresh until the study ends."""
    from runner.cli._journal_tail import JournalTail
    from runner.lowlevel import render_html, render_text
    from trials import JournalError

    _check(args)
    tail = JournalTail(args.journal)
    terminal = sys.stdout.isatty()
    shown: tuple[Any, ...] | None = None
    drawn_lines = 0
    while True:
        alive = tail.writer_alive()  # before reading: what it wrote until it ended is read
        try:
            tail.refresh()
        except JournalError as e:
            raise UsageError(str(e)) from None
        info = tail.snapshot(running=alive)
        if args.html is not None:
            write_page(args.html, render_html(info), info.title, args.interval if alive else None)
        text = render_text(info)
        if terminal:  # redraw in place
            sys.stdout.write(f"\x1b[{drawn_lines}F\x1b[J" if drawn_lines else "")
            sys.stdout.write(text + "\n")
            drawn_lines = text.count("\n") + 1
        elif (key := (info.status, info.finished, info.running)) != shown:
            shown = key  # a log gets a frame only when something changed
            sys.stdout.write(text + "\n\n")
        sys.stdout.flush()
        if not alive:
            return 0
        time.sleep(args.interval)
