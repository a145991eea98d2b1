"""run_suite(progress=True) in a notebook: a widget with a line per running study and the
suite's totals, ending with every study done."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.suites import parse_suite, run_suite

pytest.importorskip("ipywidgets")


def test_run_suite_in_a_notebook_shows_a_line_per_running_study(tmp_path: Path,
                                                                monkeypatch) -> None:
    """In a kernel the suite's display is an HTML widget: while studies run it has a line for
    each with its trials and best cost, at the end the totals say all are done."""
    import IPython.display

    from runner._loop import notebook
    from runner.suites import _notebook

    shown, frames = [], []
    monkeypatch.setattr(notebook, "in_notebook", lambda: True)
    monkeypatch.setattr(IPython.display, "display", shown.append)
    text = ('name = "nb"\nproblems = ["branin", "levy"]\noptimizers = ["random"]\n'
            'seeds = [0]\nn_trials = 6\n')
    run_suite(parse_suite(text), backend="thread", workers=2, out=str(tmp_path),
              plots=False, progress=True,
              on_pass=lambda s: frames.append(_notebook.render_suite("nb", s)))
    (widget,) = shown
    assert "2 done, 0 running, 0 waiting, 0 failed" in widget.value
    assert "12 / 12" in widget.value
    assert any("branin" in f and "levy" in f and " / 6 trials, best " in f for f in frames)
