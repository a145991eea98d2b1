"""``trialrunner report`` on a study whose trials reported learning curves: the summary counts
them and the stopped trials, the figure gets a learning-curve panel (issue 19, item 6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner import OptimizationLoop, SimulatedRunner
from runner.cli import main
from runner.cli._journal_view import load_study
from runner.optimizers import ASHA
from runner.problems import get


@pytest.fixture
def curved_journal(tmp_path: Path) -> Path:
    problem = get("branin-mf-lc")
    path = tmp_path / "asha.jsonl"
    with SimulatedRunner(problem.target, n_workers=4) as runner:
        OptimizationLoop(ASHA(problem.space, 1, 27, seed=1, n_configs=20), runner,
                         journal=str(path)).run()
    return path


def test_report_shows_learning_curves(curved_journal: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """The summary says how many trials reported and were stopped; the plot draws their
    curves in a third row; the history of the study holds the curves."""
    study = load_study(str(curved_journal))
    assert study.curves and all(study.history.curve(i) for i, _ in study.history)
    png = tmp_path / "p.png"
    assert main(["report", str(curved_journal), "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    stopped = study.status_counts()["STOPPED"]
    assert "learning curves: 20 trials reported" in out and f"; {stopped} stopped early" in out
    assert png.stat().st_size > 0

    from runner.cli._plots import figure

    fig = figure(study)
    assert any(ax.get_title().startswith("learning curves") for ax in fig.axes)
