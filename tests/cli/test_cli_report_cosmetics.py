"""Cosmetics of issue 28 item 12: the suite table's title does not wrap at 80 columns and its
cells show mean and std to the same decimal place; the README's report command writes under
runs/, not into the repository root."""

from __future__ import annotations

import re

import pytest

from runner.suites._suite_report import Cell, final_table, mean_ci
from tests.cli.clihelpers import ROOT


def _rendered(width: int, name: str, optimizers: list[str]) -> list[str]:
    from rich.console import Console

    cells = {"branin": {opt: Cell(0.1234, 0.0512, 0.2011, 3, 3) for opt in optimizers}}
    console = Console(width=width, record=True, color_system=None)
    console.print(final_table(name, optimizers, cells, {"branin": True}))
    return console.export_text().splitlines()


def test_the_suite_table_title_stays_on_one_line_in_80_columns() -> None:
    """A narrow table (one optimizer) is widened to its title rather than wrapping it; no line
    is wider than the terminal."""
    pytest.importorskip("rich")
    lines = _rendered(80, "early-stopping", ["rs"])
    assert lines[0].strip() == "early-stopping: final regret, mean [95 % CI] (* best)"
    assert all(len(line) <= 80 for line in lines)


def test_the_suite_table_shows_names_as_written() -> None:
    """Rich markup in a variant name is text, not style."""
    pytest.importorskip("rich")
    lines = _rendered(100, "s", ["[bold]x"])
    assert any("[bold]x" in line for line in lines)


@pytest.mark.parametrize(("mean", "low", "high", "text"), [
    (0.12345, 0.0512, 0.2011, "0.12 [0.05, 0.20]"), (12.3456, 11.1, 13.4, "12.3 [11.1, 13.4]"),
    (1234.5, 1000.0, 1432.1, "1234 [1000, 1432]"), (0.5, 0.5, 0.5, "0.5 [0.5, 0.5]"),
    (1e-9, 7e-10, 1.3e-9, "(1.00 [0.70, 1.30])e-09")])
def test_mean_and_interval_have_the_same_precision(mean: float, low: float, high: float,
                                                   text: str) -> None:
    """The interval's width to two significant digits; mean and ends to that decimal place."""
    assert mean_ci(mean, low, high) == text


def test_the_readme_report_command_writes_under_runs() -> None:
    """The README's command for the demo's report keeps its PNG and HTML out of the root."""
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"trialrunner report runs/demo/\S+[^`\n]*", readme)
    assert commands
    for command in commands:
        outputs = re.findall(r"--(?:plot|html|csv) (\S+)", command)
        assert outputs and all(o.startswith("runs/") for o in outputs), command
