"""What the loop logs for a reader of the log later, under the ``runner`` logger, quiet by
default (issue #14, item 8: the loop's side)."""

from __future__ import annotations

import logging
import subprocess
import sys
from typing import Any

import pytest

from runner import OptimizationLoop, SerialRunner
from runner.optimizers import RandomSearch

SPACE = {"x": (0.0, 1.0)}


class Flaky:
    """Crashes the first attempt of every third configuration, as a transient fault would."""

    def __init__(self) -> None:
        self.seen: set[float] = set()

    def __call__(self, config: Any) -> float:
        x = config["x"]
        if len(self.seen) % 3 == 0 and x not in self.seen:
            self.seen.add(x)
            raise ConnectionError(f"lost the database at x={x:.3f}")
        self.seen.add(x)
        return x


def run_study(**kwargs: Any) -> OptimizationLoop:
    with SerialRunner(Flaky()) as runner:
        loop = OptimizationLoop(RandomSearch(SPACE, seed=2), runner, n_trials_goal=30,
                                retries=1, study="demo", **kwargs)
        loop.run()
    return loop


def test_crashes_retries_incumbents_start_and_end_are_logged(
        caplog: pytest.LogCaptureFixture) -> None:
    """A 30-trial study with crashed-and-retried trials says so, line by line, at INFO."""
    with caplog.at_level(logging.INFO, logger="runner"):
        loop = run_study()
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("runner")]
    crashes = [m for m in messages if "crashed on attempt 0" in m]
    assert len(crashes) == loop.statistics().retried >= 3
    assert all("ConnectionError('lost the database at x=" in m and "retrying (retry 1 of 1)" in m
               for m in crashes)
    assert messages[0].startswith("study 'demo' started: RandomSearch on SerialRunner")
    assert messages[-1].startswith("study 'demo' finished after ")
    assert "30 trials in the history" in messages[-1]
    incumbents = [m for m in messages if m.startswith("new incumbent: trial ")]
    assert incumbents and f"cost {loop.incumbent[1].cost!r}" in incumbents[-1]  # type: ignore[index]


def test_a_trial_given_up_is_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    """Crashing on every attempt is logged at WARNING with the error."""
    def broken(config: Any) -> float:
        raise ValueError("bad config")

    with caplog.at_level(logging.INFO, logger="runner"), SerialRunner(broken) as runner:
        OptimizationLoop(RandomSearch(SPACE, seed=0), runner, n_trials_goal=1, retries=1,
                         raise_if_retries_exceeded=False).run()
    [given_up] = [r for r in caplog.records if "giving up" in r.getMessage()]
    assert given_up.levelno == logging.WARNING
    assert "crashed on all 2 attempt(s)" in given_up.getMessage()
    assert "ValueError('bad config')" in given_up.getMessage()


def test_nothing_is_printed_by_default() -> None:
    """Without logging configured, a study with crashes and retries prints nothing."""
    code = ("import sys; sys.path.insert(0, 'tests/loop'); import test_loop_logging as t; "
            "t.run_study()")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == ""
