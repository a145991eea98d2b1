"""The optional runner clock (runner/_loop/clock.py): a runner with ``clock()`` sets the loop's
time, winning over the loop's ``clock=``; one without keeps the loop's own."""

from __future__ import annotations

import time

from loophelpers import CountingOptimizer, FakeClock

from runner import OptimizationLoop, SerialRunner
from trials import read_records


class ClockedRunner(SerialRunner):
    """A serial runner on a clock of its own: each trial takes one tick of 100 s."""

    def __init__(self, target, **kwargs):
        super().__init__(target, **kwargs)
        self.now = 5000.0

    def clock(self) -> float:
        return self.now

    def submit_trial(self, info) -> None:
        self.now += 100.0
        super().submit_trial(info)


def one(config):
    return 1.0


def test_runner_clock_wins_over_the_loops_clock(tmp_path):
    """duration_goal, end_time_goal, elapsed, timings and the journal's record times are on the
    runner's clock; the loop's clock= is not read at all."""
    loop_clock = FakeClock(1.0)
    runner = ClockedRunner(one)
    loop = OptimizationLoop(CountingOptimizer(), runner, duration_goal=1000.0, clock=loop_clock,
                            journal=tmp_path / "j.jsonl")
    loop.run()
    assert len(loop.history) == 10 and loop.elapsed_time() == 1000.0
    assert loop.timings().elapsed == 1000.0
    times = [r["time"] for r in read_records(tmp_path / "j.jsonl") if r["type"] == "submit"]
    assert times == [5000.0 + 100.0 * k for k in range(10)]
    runner = ClockedRunner(one)
    loop = OptimizationLoop(CountingOptimizer(), runner, end_time_goal=5000.0 + 350.0,
                            clock=loop_clock)
    loop.run()
    assert len(loop.history) == 4


def test_a_runner_without_clock_keeps_the_loops_clock():
    """Without runner.clock the loop's clock= drives duration goals as before."""
    clock = FakeClock(1000.0)

    def tick(config):
        clock.advance(1.0)
        return 0.0

    loop = OptimizationLoop(CountingOptimizer(), SerialRunner(tick), duration_goal=3.0,
                            clock=clock)
    loop.run()
    assert len(loop.history) == 3
    assert loop.timings().elapsed == 3.0
    assert time.time() - 60 < min(v.starttime for _, v in loop.history)
