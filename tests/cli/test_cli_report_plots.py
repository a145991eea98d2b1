"""The report's figure (issue 28 items 6, 12; issue 27 items 14, 15): an axis that shows
negative and wide-ranging costs, outliers clipped, budgets told apart, plain tick labels, a `$`
in a name drawn as a dollar sign, and huge studies downsampled to what a pixel shows."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("matplotlib")

from runner.cli._journal_view import load_study  # noqa: E402
from runner.cli._plot_costs import choose_scale  # noqa: E402
from runner.cli._plots import figure  # noqa: E402
from tests.cli.reportjournals import flat, trial, write  # noqa: E402


def _drawn(journal: Path) -> Any:
    import matplotlib.pyplot as plt

    fig = figure(load_study(str(journal)))
    fig.canvas.draw()
    plt.close(fig)
    return fig


def _legend(ax: Any) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_negative_wide_ranging_costs_get_a_symlog_axis() -> None:
    """ASHA's -0.22...30.9 (most costs near zero): symmetric-log, linear around zero; positive
    costs over more than two decades: log; a narrow range: linear."""
    rng = random.Random(0)
    asha = [-0.22, 30.9] + [rng.uniform(-0.2, 0.5) for _ in range(50)]
    scale, linthresh = choose_scale(asha)
    assert scale == "symlog" and 0 < linthresh < 0.5
    assert choose_scale([0.01, 0.5, 20.0]) == ("log", 0.0)
    assert choose_scale([-1.0, 0.0, 2.0]) == ("linear", 0.0)


def test_an_outlier_is_clipped_and_counted(tmp_path: Path) -> None:
    """One cost of 1e6 among costs of 1 to 2 does not flatten them: the axis stops near the
    others and the legend counts the outlier drawn at the top edge."""
    records = flat(*(trial(i, 1.0 + i / 40) for i in range(40)), trial(40, 1e6))
    ax = _drawn(write(tmp_path / "j.jsonl", records)).axes[1]
    assert ax.get_ylim()[1] < 10
    assert "1 outlier (at the top edge)" in _legend(ax)


def test_budgets_have_sizes_and_a_legend(tmp_path: Path) -> None:
    """Hyperband budgets 1 and 27 are drawn at different sizes, each named in the legend, and
    the incumbent line says it follows the highest budget."""
    records = flat(*(trial(i, 5.0 - i / 10, budget=float(3 ** (i % 4))) for i in range(20)))
    ax = _drawn(write(tmp_path / "j.jsonl", records)).axes[1]
    labels = _legend(ax)
    assert {"budget 1", "budget 3", "budget 9", "budget 27"} <= set(labels)
    assert "incumbent (best at the highest budget so far)" in labels
    sizes = {float(c.get_sizes()[0]) for c in ax.collections if len(c.get_offsets())}
    assert len(sizes) == 4


def test_log_axis_ticks_are_plain_numbers(tmp_path: Path) -> None:
    """No `3×10^0`/mathtext labels on a logarithmic cost axis."""
    records = flat(*(trial(i, 10.0 ** (i / 5 - 2)) for i in range(20)))
    ax = _drawn(write(tmp_path / "j.jsonl", records)).axes[1]
    assert ax.get_yscale() == "log"
    labels = [t.get_text() for t in ax.get_yticklabels() + ax.get_yticklabels(minor=True)]
    assert labels and not any("$" in t or "10^" in t or "×" in t for t in labels), labels
    assert "1" in labels and "0.1" in labels
