"""Cosmetics of issue 28 item 12: the suite table's title does not wrap at 80 columns and its
cells show mean and std to the same decimal place; the README's report command writes under
runs/, not into the repository root."""

from __future__ import annotations

import re

import pytest

from runner.suites._report import mean_pm_std, summary_table
from tests.cli.clihelpers import ROOT


def _rendered(width: int, name: str, optimizers: list[str]) -> list[str]:
    from rich.console import Console

    rows = [{"problem": "branin", "optimizer": opt, "seed": s, "regret": 0.1234 + s / 17,
             "best_cost": 1.0} for opt in optimizers for s in range(3)]
    console = Console(width=width, record=True, color_system=None)
    console.print(summary_table(rows, name))
    return console.export_text().splitlines()


def test_the_suite_table_title_stays_on_one_line_in_80_columns() -> None:
    """A narrow table (one optimizer) is widened to its title rather than wrapping it."""
    pytest.importorskip("rich")
    lines = _rendered(80, "early-stopping", ["rs"])
    assert lines[0].strip() == "early-stopping: regret, mean ± std over seeds (* best)"


def test_the_suite_table_shows_names_as_written() -> None:
    """Rich markup in a variant name is text, not style."""
    pytest.importorskip("rich")
    lines = _rendered(100, "s", ["[bold]x"])
    assert any("[bold]x" in line for line in lines)


@pytest.mark.parametrize(("mean", "std", "text"), [
    (0.12345, 0.0512, "0.123 ± 0.051"), (12.3456, 1.234, "12.3 ± 1.2"),
    (1234.5, 321.0, "1234 ± 321"), (0.5, 0.0, "0.5 ± 0"), (1e-9, 3e-10, "(1.00 ± 0.30)e-09")])
def test_mean_and_std_have_the_same_precision(mean: float, std: float, text: str) -> None:
    """The std to two significant digits, the mean to the same decimal place."""
    assert mean_pm_std(mean, std) == text


def test_the_readme_report_command_writes_under_runs() -> None:
    """The README's command for the demo's report keeps its PNG and HTML out of the root."""
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"trialrunner report runs/demo/\S+[^`\n]*", readme)
    assert commands
    for command in commands:
        outputs = re.findall(r"--(?:plot|html|csv) (\S+)", command)
        assert outputs and all(o.startswith("runs/") for o in outputs), command
