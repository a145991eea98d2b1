"""``make run`` (``benchmarks/demo.py``): journals kept in a visible folder and said where,
timing shares each labelled with what they are a share of, Hyperband's best cost with its budget
(issue #14, items 3 and 11); the two optimizers compared at equal compute, with a word on what
each is good at (issue #28 item 12: Hyperband looked 5x worse than random search, unexplained)."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from benchmarks import demo
from trials import History


def test_demo_keeps_its_journals_and_labels_its_figures(tmp_path: Path) -> None:
    """A small demo run: fresh journals in the folder (a previous one is replaced, not
    resumed), the last line says where they are, every share says its basis."""
    folder = tmp_path / "runs" / "demo"
    folder.mkdir(parents=True)
    (folder / "random-search.jsonl").write_text("left over from an earlier run\n")
    out = io.StringIO()
    assert demo.main(["--folder", str(folder), "--trials", "10", "--iterations", "1"],
                     console=Console(file=out, width=120)) == 0
    text = out.getvalue()
    journals = [folder / "hyperband.jsonl", folder / "random-search.jsonl"]
    assert len(History.load(journals[0])) > 0
    assert len(History.load(journals[1])) == 10
    assert " ".join(text.split()).endswith(f"journals kept in {journals[0]}, {journals[1]}")
    assert "at budget 27" in text  # Hyperband's incumbent, at the full budget
    for label, _, basis in demo.TIMING_ROWS:
        assert label in text
        assert ("[% of elapsed]" if basis == "elapsed" else "[% of worker time]") in label


def test_demo_compares_at_equal_compute_and_says_what_each_is_good_at(tmp_path: Path) -> None:
    """Random search gets as many full-budget trials as Hyperband's budgets add up to, the
    table shows both computes, and the lines under it say who won and why; on the demo's
    seed Hyperband wins, as it should on a problem whose small budgets rank well."""
    out = io.StringIO()
    assert demo.main(["--folder", str(tmp_path), "--iterations", "1"],
                     console=Console(file=out, width=80)) == 0
    text = out.getvalue()
    hyperband = History.load(tmp_path / "hyperband.jsonl")
    random = History.load(tmp_path / "random-search.jsonl")
    spent = sum(info.budget or 0.0 for info, _ in hyperband) / demo.MAX_BUDGET
    assert len(random) == round(spent)
    assert {info.budget for info, _ in random} == {demo.MAX_BUDGET}
    (row,) = [line for line in text.splitlines() if "compute (full-budget trials)" in line]
    assert f"{spent:.1f}" in row and f"{len(random):.1f}" in row
    best_hyperband = min(float(v.cost) for i, v in hyperband  # type: ignore[arg-type]
                         if i.budget == demo.MAX_BUDGET)
    best_random = min(float(v.cost) for _, v in random)  # type: ignore[arg-type]
    assert best_hyperband < best_random
    assert f"The lower best cost: hyperband's, {best_hyperband:.3f}" in text
    assert "At equal compute" in text and "small budgets" in text
    assert "Random search pays the full budget" in text
    assert all(len(line) <= 80 for line in text.splitlines())
