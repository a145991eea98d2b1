"""OptimizationLoop.step(): one non-waiting pass, what the suite scheduler drives loops with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runner import OptimizationLoop, SerialRunner
from runner.optimizers import RandomSearch
from trials import read_records


def _cost(config: Any) -> float:
    return float(config["x"])


def test_stepping_runs_a_loop_to_the_end(tmp_path: Path) -> None:
    """Repeated steps finish the study exactly like run(): n trials, status finished."""
    with SerialRunner(_cost) as runner:
        loop = OptimizationLoop(RandomSearch({"x": (0.0, 1.0)}, seed=1), runner,
                                n_trials_goal=5, journal=tmp_path / "j.jsonl")
        steps = 0
        while loop.step():
            steps += 1
            assert steps < 100
        assert loop.status() == "finished" and len(loop.history) == 5
        assert not loop.step()  # over: further steps do nothing


class _Raises(RandomSearch):
    def tell(self, info: Any, value: Any) -> None:
        raise RuntimeError("tell broke")


def test_a_failure_is_kept_not_raised_by_step() -> None:
    """An optimizer error ends the loop as failed; block_until_done(0) raises it."""
    with SerialRunner(_cost) as runner:
        loop = OptimizationLoop(_Raises({"x": (0.0, 1.0)}, seed=1), runner, n_trials_goal=3)
        while loop.step():
            pass
        assert loop.status() == "failed"
        with pytest.raises(RuntimeError, match="tell broke"):
            loop.block_until_done(0)


class _Slow:
    """A runner that never finishes anything: trials stay in flight."""

    def __init__(self) -> None:
        self.n = 0

    def submit_trial(self, info: Any) -> None:
        self.n += 1

    def iter_results(self) -> Any:
        return iter(())

    def wait(self, timeout: Any = None) -> None:
        pass

    def is_running(self) -> bool:
        return True

    def count_available_workers(self) -> int:
        return 2 - self.n

    def run(self, *a: Any) -> Any:
        raise NotImplementedError

    def run_wrapper(self, info: Any) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        pass


def test_cancel_then_step_marks_trials_in_flight(tmp_path: Path) -> None:
    """cancel() ends a stepped loop at its next step, its trials in flight marked cancelled."""
    loop = OptimizationLoop(RandomSearch({"x": (0.0, 1.0)}, seed=1), _Slow(),
                            n_trials_goal=5, journal=tmp_path / "j.jsonl")
    assert loop.step() and len(loop.pending_trials) == 2
    loop.cancel()
    assert not loop.step() and loop.status() == "cancelled"
    kinds = [r["type"] for r in read_records(tmp_path / "j.jsonl")]
    assert kinds.count("submit") == 2 and kinds.count("cancelled") == 2
