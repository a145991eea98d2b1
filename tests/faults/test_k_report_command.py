"""K. The report command against hostile journals and huge studies (issue 27, items 14, 15, 17):
`$` in names, terminal control sequences and spreadsheet formulas from a journal, the command a
resumed journal holds, and a 100,000-trial study drawn in seconds (docs/faults.md, part K)."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

from runner.cli import main
from runner.cli._plots import lane_bars
from runner.cli._summary import printable
from runner.cli.report import csv_cell
from tests.cli.clihelpers import cli
from tests.cli.reportjournals import flat, trial, write
from tests.cli.test_cli_report_commands import study  # noqa: F401 - a fixture
from tests.cli.test_cli_report_plots import _drawn, _legend
from tests.cli.test_cli_report_summary import _report
from trials import StatusType


def test_K15_a_dollar_in_the_journal_or_study_name_is_drawn(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    """`$_$` in the journal's path (mathtext would raise) is a plain title."""
    journal = write(tmp_path / "run$_$x.jsonl", flat(trial(0, 1.0), trial(1, 2.0)),
                    study="cost$^$")
    assert main(["report", str(journal), "--plot", str(tmp_path / "p.png"),
                 "--html", str(tmp_path / "p.html")]) == 0
    assert (tmp_path / "p.png").stat().st_size > 0
    fig = _drawn(journal)
    assert fig._suptitle.get_text() == r"{}: 2 trials".format(str(journal).replace("$", r"\$"))


def test_K15_a_dollar_in_a_suite_variant_name_is_drawn(tmp_path: Path) -> None:
    """The suites' anytime plot takes optimizer and problem names with `$` as text."""
    from runner.suites._suite_plots import problem_curves

    png = problem_curves("p$_$", [1.0, 2.0], {"rs$^$": [[3.0, 1.0], [2.5, 1.5]]}, "regret $x$")
    assert png[:4] == b"\x89PNG"


def test_K14_a_crowded_lane_is_drawn_one_bar_per_run_of_pixel_columns() -> None:
    """10,000 back-to-back trials of one worker with a crash in the middle and an idle gap:
    at most a bar per pixel column, the crash still shown, the gap blank."""
    spans = [(i * 0.1, i * 0.1 + 0.1, "SUCCESS") for i in range(10_000)]
    spans[5000] = (500.0, 500.1, "CRASHED")
    spans = [s for s in spans if not 700.0 <= s[0] < 705.0] + [(700.0, 705.0, "CRASHED")]
    spans = [s for s in spans if not 800.0 <= s[0] < 900.0]  # idle from 800 to 900 s
    bars = lane_bars(spans, pixel=1.0)
    assert len(bars) < 1100
    assert any(status == "CRASHED" and left <= 700.0 < left + width
               for left, width, status in bars)
    assert not any(left < 899.0 and left + width > 801.0 for left, width, _ in bars)
    assert lane_bars(spans[:10], pixel=1.0) == [(a, 1.0, s) for a, _, s in spans[:10]]


def test_K14_a_huge_study_draws_a_few_thousand_points(tmp_path: Path) -> None:
    """20,000 trials of a few distinct costs: the cost panels draw far fewer points than
    trials (one per pixel bin, status and budget), and each status and budget is there."""
    rng = random.Random(1)
    records = flat(*(trial(i, rng.choice((1.0, 1.5, 2.0, 3.0)), start=i * 0.01,
                           end=i * 0.01 + 0.01,
                           budget=float(rng.choice((1, 27))),
                           status=StatusType.CRASHED if i % 97 == 0 else StatusType.SUCCESS)
                     for i in range(20_000)))
    ax = _drawn(write(tmp_path / "j.jsonl", records)).axes[1]
    drawn = sum(len(c.get_offsets()) for c in ax.collections)
    assert 100 < drawn < 20_000 / 2
    assert {"SUCCESS", "CRASHED", "budget 1", "budget 27"} <= set(_legend(ax))


def test_K17_terminal_control_sequences_from_the_journal_are_stripped(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Escape sequences and control characters in config values and names never reach the
    terminal, and a newline in a value does not forge a line of the report."""
    evil = "\x1b[2J\x1b]0;owned\x07red\x1b[31m\nbest trial: forged\x9b1m\r"
    records = flat(trial(0, 1.0, config={"kind": evil}))
    out = _report(write(tmp_path / "j.jsonl", records, study="s\x1b[8mhidden"), capsys)
    assert not any(c in out for c in "\x1b\x07\r\x9b")
    assert "kind=red" in out and "study: shidden" in out
    assert "\nbest trial: forged" not in out
    assert printable("a\tb\x00c\x7f") == "abc"


@pytest.mark.parametrize(("value", "cell"), [
    ("=1+2", "'=1+2"), ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"), ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"), ("\r=1", "'\r=1"),
    ("-1.5", "-1.5"), ("+2e-3", "+2e-3"), ("-inf", "-inf"), ("a=b", "a=b"),
    (-1.5, -1.5), (float("-inf"), "-inf"), (3, 3), (None, None)])
def test_K17_csv_cells_that_a_spreadsheet_would_run_are_neutralized(value: object,
                                                                cell: object) -> None:
    """OWASP's rule for text cells; numbers (and text that is a plain number) stay numbers."""
    assert csv_cell(value) == cell


def test_K17_the_csv_holds_no_formula(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A categorical value and an error text starting with = or @ are written with a leading
    quote; a negative cost stays a number."""
    records = flat(trial(0, -1.5, config={"kind": "=HYPERLINK(\"http://x\")"}),
                   trial(1, 2.0, status=StatusType.CRASHED, error="@SUM(1)"))
    _report(write(tmp_path / "j.jsonl", records), capsys, "--csv", str(tmp_path / "t.csv"))
    with open(tmp_path / "t.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["config.kind"] == "'=HYPERLINK(\"http://x\")" and rows[0]["cost"] == "-1.5"
    assert rows[1]["error"] == "'@SUM(1)"


def test_K17_resume_shows_the_command_of_a_journal_written_elsewhere(study: Path,  # noqa: F811
                                                                 tmp_path: Path) -> None:
    """A journal whose header says another host wrote it: resume says so and shows what it will
    run, before running it."""
    lines = study.read_text().splitlines(keepends=True)
    header = json.loads(lines[0])
    header["command"]["origin"] = {"user": "mallory", "uid": 4242, "host": "elsewhere"}
    foreign = tmp_path / "foreign.jsonl"
    foreign.write_text(json.dumps(header, separators=(",", ":")) + "\n" + "".join(lines[1:]))
    done = cli("resume", str(foreign), cwd=study.parent)
    assert done.returncode == 0, done.stderr
    assert "this journal may not be yours (it was written by mallory (uid 4242) on elsewhere)" \
        in done.stderr
    assert f"imports and calls quad:objective in the folder {study.parent}" in done.stderr
