"""The report's text and CSV (issue 28 items 3, 11; issue 27 item 17): trials named by their
journal id, cancelled attempts counted, the backend a resume changed, measured and reported
target time, no terminal control sequences, no formula cells."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from runner.cli import main
from tests.cli.reportjournals import COMMAND, flat, trial, write
from trials import StatusType


def _report(journal: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    assert main(["report", str(journal), *extra]) == 0
    return capsys.readouterr().out


@pytest.fixture
def out_of_order(tmp_path: Path) -> Path:
    """Trial 0 crashed; trials 2 and 1 finished later, in that order."""
    return write(tmp_path / "j.jsonl", flat(
        trial(2, 5.0, start=0, end=1), trial(0, 0.0, status=StatusType.CRASHED, start=0, end=2,
                                               error="ValueError: x"),
        trial(1, 3.0, start=1, end=3)))


def test_best_trials_and_csv_name_trials_by_their_journal_id(
        out_of_order: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The `trial` column of the best trials and of the CSV is the journal's trial id (the one
    log lines name), not the position in finishing order."""
    out = _report(out_of_order, capsys, "--csv", str(tmp_path / "t.csv"))
    rows = out.split("best trials:\n")[1].splitlines()
    assert rows[0].split()[0] == "trial"
    assert [r.split()[0] for r in rows[1:3]] == ["1", "2"]  # trial 1 (cost 3) is the best
    with open(tmp_path / "t.csv", newline="") as f:
        by_id = {row["trial"]: row for row in csv.DictReader(f)}
    assert by_id["0"]["status"] == "CRASHED" and by_id["0"]["error"] == "ValueError: x"
    assert by_id["1"]["cost"] == "3.0" and by_id["2"]["cost"] == "5.0"


def test_cancelled_attempts_are_counted(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """Cancelled attempts (records without a result) are counted apart from retried ones."""
    records = flat(trial(0, 1.0), trial(1, 2.0, status=StatusType.CRASHED, final=False),
                   trial(1, 2.0, attempt=1))
    records += [{"type": "cancelled", "trial": t, "attempt": 0, "reason": "interrupted",
                 "time": 1.7e9 + 5} for t in (2, 3)]
    out = _report(write(tmp_path / "j.jsonl", records), capsys)
    assert "1 attempts retried, 2 cancelled" in out


def test_the_header_shows_the_backend_the_last_resume_used(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A `session` record (written by `resume`) names the backend trials ran on since."""
    records = flat(trial(0, 1.0)) + [{"type": "session", "time": 1.7e9 + 9, "backend": {
        "name": "thread", "workers": 3, "scheduler": None}}]
    out = _report(write(tmp_path / "j.jsonl", records), capsys)
    assert "backend: thread x 3 (started on process x 2)" in out
    assert "on 3 workers;" in out


def test_measured_target_time_is_shown_beside_what_the_target_reported(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A script reporting runtime=0.01 for a second of work does not make the study look idle:
    the rows use the measured time; the reported total is shown beside it."""
    records = flat(*(trial(i, 1.0, start=float(i), end=i + 1.0, time=0.01) for i in range(4)))
    command = {**COMMAND, "backend": {"name": "serial", "workers": 1}}
    out = _report(write(tmp_path / "j.jsonl", records, command=command), capsys)
    target = next(line for line in out.splitlines() if line.strip().startswith("target "))
    assert float(target.split()[-2]) > 90.0, out  # per cent of workers x elapsed
    assert "targets reported 0.04 s of runtime themselves" in out


def test_the_html_page_escapes_what_the_journal_holds(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Markup in the journal's path, study name and config values is text on the page: the only
    tags are the page's own, and no script or outside resource appears."""
    pytest.importorskip("matplotlib")
    hostile = '</pre><script>alert(1)</script><img src="http://x/y.png">'
    folder = tmp_path / "a<b>&c"
    folder.mkdir()
    journal = write(folder / "j.jsonl", flat(trial(0, 1.0, config={"kind": hostile})),
                    study=hostile)
    _report(journal, capsys, "--html", str(tmp_path / "r.html"))
    page = (tmp_path / "r.html").read_text()
    assert "<script" not in page and '<img src="http' not in page
    assert page.count("&lt;/pre&gt;&lt;script&gt;") == 2  # the study line and the config
    assert "a&lt;b&gt;&amp;c" in page
    assert page.count("<pre>") == page.count("</pre>") == 1


def test_the_pareto_front_names_trials_by_their_journal_id(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Several objectives: the front (trials 3 and 1; trial 2 is dominated), by journal id."""
    records = flat(trial(3, (1.0, 4.0)), trial(2, (3.0, 5.0)), trial(1, (2.0, 1.0)))
    out = _report(write(tmp_path / "j.jsonl", records), capsys)
    rows = out.split("Pareto front:\n")[1].splitlines()
    assert [r.split()[0] for r in rows[1:3]] == ["3", "1"] and "(3, 5)" not in out
