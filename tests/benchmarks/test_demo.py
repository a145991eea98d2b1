"""``make run`` (``benchmarks/demo.py``): journals kept in a visible folder and said where,
timing shares each labelled with what they are a share of, Hyperband's best cost with its budget
(issue #14, items 3 and 11)."""

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
    journals = [folder / "random-search.jsonl", folder / "hyperband.jsonl"]
    assert len(History.load(journals[0])) == 10
    assert len(History.load(journals[1])) > 0
    assert " ".join(text.split()).endswith(f"journals kept in {journals[0]}, {journals[1]}")
    assert "at budget 27" in text  # Hyperband's incumbent, at the full budget
    for label, _, basis in demo.TIMING_ROWS:
        assert label in text
        assert ("[% of elapsed]" if basis == "elapsed" else "[% of worker time]") in label
