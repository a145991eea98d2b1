"""`trialrunner report`: the summary (counts, best trials, time breakdown), the PNG, the
self-contained HTML and the CSV, on a journal written by an OptimizationLoop."""

from __future__ import annotations

import base64
import csv
import re
import time
from pathlib import Path

import pytest

from runner import OptimizationLoop, ThreadPoolRunner
from runner.cli import main
from runner.cli._journal_view import derive_lanes, load_study
from runner.optimizers import RandomSearch


def _target(config: dict) -> float:
    time.sleep(0.02)  # work that takes a while, so the two workers overlap
    if config["x"] > 4.0:
        raise ValueError("x is too far out")
    return (config["x"] - 2) ** 2


@pytest.fixture(scope="module")
def journal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 20-trial study on 2 threads with crashes retried once."""
    path = tmp_path_factory.mktemp("report") / "study.jsonl"
    with ThreadPoolRunner(_target, n_workers=2) as runner:
        OptimizationLoop(RandomSearch({"x": (-5.0, 5.0)}, seed=2), runner, n_trials_goal=20,
                         retries=1, raise_if_retries_exceeded=False, journal=path).run()
    return path


def test_summary_has_counts_best_trials_and_the_time_breakdown(
        journal: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The text report: status counts that add up, the best trial first, four time rows."""
    assert main(["report", str(journal), "--top", "3"]) == 0
    out = capsys.readouterr().out
    counts = re.search(r"trials: 20 finished \(SUCCESS (\d+)(?:, CRASHED (\d+))?\)", out)
    assert counts, out
    assert int(counts[1]) + int(counts[2] or 0) == 20
    study = load_study(str(journal))
    best_info, _ = study.history.incumbent
    rows = out.split("best trials:")[1].splitlines()
    assert f"x={best_info.config['x']:.6g}" in rows[2]
    assert len([r for r in rows if "x=" in r]) == 3
    for name in ("queue wait & start-up", "target", "transfer back", "workers idle"):
        assert name in out
    assert "on 2 workers (the most trials running at once)" in out


@pytest.mark.slow
def test_plot_html_and_csv_files(journal: Path, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    """--plot writes a PNG, --html one page with the PNG inside and no outside resource, --csv
    one row per finished trial with config columns."""
    png, page, table = tmp_path / "r.png", tmp_path / "r.html", tmp_path / "r.csv"
    assert main(["report", str(journal), "--plot", str(png), "--html", str(page),
                 "--csv", str(table)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = page.read_text()
    embedded = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert embedded and base64.b64decode(embedded[1])[:4] == b"\x89PNG"
    assert not re.search(r'(src|href)="(https?:)?//', text)  # opens offline
    rows = list(csv.DictReader(table.open()))
    assert len(rows) == 20 and {"status", "cost", "config.x", "starttime"} <= set(rows[0])
    assert {r["status"] for r in rows} <= {"SUCCESS", "CRASHED"}


def test_the_plot_shows_two_lanes_for_two_workers(journal: Path) -> None:
    """Derived lanes: two workers' attempts never need a third lane."""
    lanes, recorded = load_study(str(journal)).lanes()
    assert not recorded and set(lanes) == {0, 1}


def test_lanes_are_derived_by_interval_partitioning() -> None:
    """Each span takes the lowest lane free at its start: as many lanes as the most overlap."""
    spans = [(0.0, 2.0), (0.5, 1.0), (1.0, 3.0), (2.0, 2.5), (4.0, 5.0)]
    assert derive_lanes(spans) == [0, 1, 1, 0, 0]


def test_recorded_workers_win_over_derived_lanes(tmp_path: Path) -> None:
    """A trial whose info names its worker is drawn on that worker's lane."""
    from trials import Journal, TrialInfo, TrialValue

    path = tmp_path / "w.jsonl"
    with Journal.open(path) as j:
        for trial, worker in enumerate(["b", "a", "b"]):
            info = TrialInfo({"x": trial})
            value = TrialValue(1.0, starttime=10.0 + trial, endtime=10.5 + trial,
                               additional_info={"worker": worker})
            j.append({"type": "result", "trial": trial, "attempt": 0, "final": True,
                      "info": info.to_dict(), "value": value.to_dict(), "time": 11.0 + trial})
    assert load_study(str(path)).lanes() == ([1, 0, 1], True)


def test_report_on_a_corrupt_journal_is_one_line(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """A file that is not a journal: one line, exit 2."""
    path = tmp_path / "x.jsonl"
    path.write_text("hello\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["report", str(path)])
    assert exit_info.value.code == 2
    assert "cannot be read" in capsys.readouterr().err


def test_the_incumbent_trace_follows_the_highest_budget_reached() -> None:
    """Costs at a smaller budget do not compete: the trace restarts at each larger budget."""
    from runner.cli._journal_view import Attempt
    from runner.cli._plots import incumbent_trace
    from trials import StatusType

    def attempt(cost: float, budget: float, status: StatusType = StatusType.SUCCESS) -> Attempt:
        return Attempt(trial=0, attempt=0, final=True, status=status.name, cost=cost,
                       budget=budget, time=0.0, starttime=0.0, endtime=0.0, worker=None,
                       submitted=None, collected=None)

    finals = [attempt(5.0, 1), attempt(3.0, 1), attempt(0.0, 1, StatusType.CRASHED),
              attempt(4.0, 3), attempt(3.5, 3), attempt(2.0, 1)]
    assert incumbent_trace([0, 1, 2, 3, 4, 5], finals) == ([0, 1, 3, 4], [5.0, 3.0, 4.0, 3.5])
