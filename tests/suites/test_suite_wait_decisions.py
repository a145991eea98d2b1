"""The suite key ``wait_for_decisions``: validated in the suite file, and with it a suite of
ASHA on the process pool, one trial at a time, stops the same trials at the same steps on
every run (issue 26)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.suites import SuiteFileError, parse_suite, run_suite
from trials import History, StatusType

SUITE = """\
name = "waited"
problems = ["waithelpers:instant_branin"]
optimizers = ["asha"]
seeds = [0]
n_trials = 30
wait_for_decisions = true
"""


def _stops(out: Path) -> list[tuple[dict[str, float], str, int | None]]:
    history = History.load(out / "waithelpers:instant_branin" / "asha" / "seed-0.jsonl")
    return [(dict(info.config), value.status.name, value.additional_info.get("stopped_at_step"))
            for info, value in history]


def test_the_key_is_read_and_validated() -> None:
    """``wait_for_decisions`` is false unless set; anything but a boolean names the key."""
    assert parse_suite(SUITE).wait_for_decisions is True
    assert parse_suite(SUITE.replace("wait_for_decisions = true\n", "")).wait_for_decisions \
        is False
    with pytest.raises(SuiteFileError, match=r"line 6: wait_for_decisions: expected true or "
                                             r"false, got 'yes'"):
        parse_suite(SUITE.replace("= true", '= "yes"'))


def test_asha_suite_on_the_process_pool_stops_the_same_trials_every_run(tmp_path: Path) -> None:
    """Two runs of an ASHA suite whose steps take no time, one worker: the same trials end
    STOPPED at the same rung steps, and most are stopped."""
    runs = []
    for k in range(2):
        result = run_suite(parse_suite(SUITE), backend="process", workers=1,
                           out=str(tmp_path / f"run{k}"), plots=False)
        assert not result.failed
        runs.append(_stops(tmp_path / f"run{k}"))
    assert runs[0] == runs[1]
    stopped = [s for s in runs[0] if s[1] == StatusType.STOPPED.name]
    assert len(runs[0]) == 30 and len(stopped) >= 10, runs[0]
    assert {s[2] for s in stopped} <= {1, 3, 9}
