"""What ends a study with failing trials: by default nothing (a target that fails on part of
the space goes on), and with ``max_failure_rate`` a broken target stops early (issue 28 item 5)."""

from __future__ import annotations

from typing import Any

import pytest
from loophelpers import CountingOptimizer, ListOptimizer

from runner import FailureRateError, OptimizationLoop, RetriesExceededError, SerialRunner
from runner.optimizers import RandomSearch
from trials import StatusType, read_records


def fails_on_a_tenth(config: dict[str, Any]) -> float:
    if config["x"] > 0.9:
        raise ValueError(f"diverged at x={config['x']:.2f}")
    return float(config["x"])


def broken(config: dict[str, Any]) -> float:
    raise ImportError(f"No module named 'torch' (trial {config['i']})")


def by_status(config: dict[str, Any]) -> tuple[StatusType, float, float, dict[str, Any]]:
    return config["status"], 1.0, 0.0, {"error": f"{config['status'].name} on purpose"}


class StatusRunner(SerialRunner):
    """A serial runner whose trial ends with the status its config names."""

    def __init__(self) -> None:
        super().__init__(lambda config: 0.0)

    def run(self, config: Any, instance: Any = None, budget: Any = None, seed: Any = None
            ) -> tuple[StatusType, float, float, dict[str, Any]]:
        return by_status(config)


def test_by_default_a_target_that_fails_on_part_of_the_space_runs_to_its_goal() -> None:
    """raise_if_retries_exceeded=False (the CLI's --keep-going), no failure rate: 40 trials of a
    target that raises on a tenth of the space all finish; the crashes are told and kept."""
    loop = OptimizationLoop(RandomSearch({"x": (0.0, 1.0)}, seed=3),
                            SerialRunner(fails_on_a_tenth), n_trials_goal=40, retries=1,
                            raise_if_retries_exceeded=False)
    loop.run()
    crashed = [v for _, v in loop.history if v.status is StatusType.CRASHED]
    assert loop.status() == "finished" and len(loop.history) == 40
    assert crashed and len(loop.failed) == len(crashed)


def test_by_default_the_first_trial_that_exhausts_its_retries_ends_the_loop() -> None:
    """The default (DESIGN: raise_if_retries_exceeded=True, adaptive's default; the CLI's too):
    the first trial that crashed on all its attempts ends the loop with RetriesExceededError
    saying how to go on."""
    loop = OptimizationLoop(RandomSearch({"x": (0.0, 1.0)}, seed=3),
                            SerialRunner(fails_on_a_tenth), n_trials_goal=40, retries=1)
    with pytest.raises(RetriesExceededError, match="raise_if_retries_exceeded=False.*"
                       "max_failure_rate"):
        loop.run()
    assert loop.status() == "failed" and len(loop.history) < 40


def test_a_broken_target_stops_once_more_than_the_share_of_the_window_failed(tmp_path) -> None:
    """max_failure_rate=0.5, failure_window=20: a target that always raises stops at the 11th
    failure with FailureRateError naming the counts and the last errors; the loop is failed."""
    journal = tmp_path / "study.jsonl"
    opt = CountingOptimizer()
    loop = OptimizationLoop(opt, SerialRunner(broken), max_failure_rate=0.5, journal=journal)
    with pytest.raises(FailureRateError, match=r"11 of the last 11 finished trials failed, more "
                       r"than max_failure_rate=0.5 of failure_window=20.*trial 10: ImportError"
                       ) as info:
        loop.run()
    assert loop.status() == "failed" and len(loop.history) == 11 == len(opt.told)
    assert [t for t, _ in info.value.failures] == list(range(11))
    assert "No module named 'torch' (trial 10)" in str(info.value.traceback)
    assert (info.value.max_failure_rate, info.value.failure_window) == (0.5, 20)
    finals = [r for r in read_records(journal) if r["type"] == "result" and r["final"]]
    assert len(finals) == 11


def test_a_target_failing_on_part_of_the_space_goes_on_under_the_policy() -> None:
    """The same policy lets a target that fails on a tenth of the space run to its goal."""
    loop = OptimizationLoop(RandomSearch({"x": (0.0, 1.0)}, seed=3),
                            SerialRunner(fails_on_a_tenth), n_trials_goal=40,
                            max_failure_rate=0.5)
    loop.run()
    assert loop.status() == "finished" and len(loop.history) == 40


def test_only_the_last_window_counts_and_timeouts_and_memoryouts_are_failures() -> None:
    """Window 4, share 0.5: failures that left the window do not count; TIMEOUT and MEMORYOUT
    count as failures, STOPPED does not; the third failure within 4 trials ends the loop."""
    S, T, M, P = StatusType.SUCCESS, StatusType.TIMEOUT, StatusType.MEMORYOUT, StatusType.STOPPED
    statuses = [T, M, S, S, T, P, M, S, S, T, M, T, S, S]
    opt = ListOptimizer([{"status": s} for s in statuses])
    loop = OptimizationLoop(opt, StatusRunner(), max_failure_rate=0.5, failure_window=4)
    with pytest.raises(FailureRateError, match="3 of the last 4 finished trials failed"):
        loop.run()
    assert len(loop.history) == 12  # trials 9, 10, 11 fail within the window 8..11


def test_a_resumed_study_keeps_its_window(tmp_path) -> None:
    """Resuming a study that stopped for its failure rate: the replayed outcomes fill the
    window, so the broken target stops again at its first new failure."""
    journal = tmp_path / "study.jsonl"
    with pytest.raises(FailureRateError):
        OptimizationLoop(CountingOptimizer(), SerialRunner(broken), max_failure_rate=0.5,
                         failure_window=4, journal=journal).run()
    loop = OptimizationLoop(CountingOptimizer(), SerialRunner(broken), max_failure_rate=0.5,
                            failure_window=4, journal=journal)
    with pytest.raises(FailureRateError, match="4 of the last 4"):
        loop.run()
    assert len(loop.history) == 4  # 3 replayed + 1 new


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"max_failure_rate": 0}, ValueError, r"max_failure_rate must be a share in \(0, 1\]"),
    ({"max_failure_rate": 1.5}, ValueError, r"max_failure_rate must be a share in \(0, 1\].*1.5"),
    ({"max_failure_rate": "half"}, TypeError, "max_failure_rate must be None or a share.*str"),
    ({"max_failure_rate": True}, TypeError, "max_failure_rate must be None or a share.*bool"),
    ({"failure_window": 0}, ValueError, "failure_window must be an int >= 1.*got 0"),
    ({"failure_window": 2.5}, TypeError, "failure_window must be an int >= 1.*float"),
])
def test_the_policy_is_checked_at_construction(kwargs: dict[str, Any], error: type,
                                               match: str) -> None:
    """A share outside (0, 1] or a window that is not a positive int fails at construction,
    naming the parameter."""
    with pytest.raises(error, match=match):
        OptimizationLoop(CountingOptimizer(), SerialRunner(broken), **kwargs)
