"""The report's figure (issue 28 items 6, 12; issue 27 items 14, 15): an axis that shows
negative and wide-ranging costs, outliers clipped, budgets told apart, plain tick labels, a `$`
in a name drawn as a dollar sign, and huge studies downsampled to what a pixel shows."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("matplotlib")

from runner.cli import main  # noqa: E402
from runner.cli._journal_view import load_study  # noqa: E402
from runner.cli._plot_costs import choose_scale  # noqa: E402
from runner.cli._plots import figure, lane_bars  # noqa: E402
from tests.cli.reportjournals import flat, trial, write  # noqa: E402
from trials import StatusType  # noqa: E402


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


def test_a_dollar_in_the_journal_or_study_name_is_drawn(tmp_path: Path,
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


def test_a_dollar_in_a_suite_variant_name_is_drawn(tmp_path: Path) -> None:
    """The suites' anytime plot takes optimizer and problem names with `$` as text."""
    from runner.suites._suite_plots import problem_curves

    png = problem_curves("p$_$", [1.0, 2.0], {"rs$^$": [[3.0, 1.0], [2.5, 1.5]]}, "regret $x$")
    assert png[:4] == b"\x89PNG"


def test_a_crowded_lane_is_drawn_one_bar_per_run_of_pixel_columns() -> None:
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


def test_a_huge_study_draws_a_few_thousand_points(tmp_path: Path) -> None:
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
