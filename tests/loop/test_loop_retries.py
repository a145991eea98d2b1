"""Retries of crashed trials (FAULTS D7), failed/tracebacks, and a raising tell (D8)."""

from __future__ import annotations

import collections

import pytest
from loophelpers import CountingOptimizer, ListOptimizer

from runner import OptimizationLoop, RetriesExceededError, SerialRunner, ThreadPoolRunner
from trials import History, StatusType, read_records


class FlakyTarget:
    """Raises on the first ``failures`` calls for each configuration, then returns its cost."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: collections.Counter[int] = collections.Counter()

    def __call__(self, config):
        self.calls[config["i"]] += 1
        if self.calls[config["i"]] <= self.failures:
            raise ConnectionError(f"transient failure {self.calls[config['i']]} of {config['i']}")
        return float(config["i"])


def always_fails(config):
    raise ValueError(f"deterministic failure for {config['i']}")


def attempts(path, trial):
    """(type, attempt, final) of trial ``trial``'s records, in file order."""
    return [(r["type"], r["attempt"], r.get("final")) for r in read_records(path)
            if r.get("trial") == trial]


def test_transient_failures_succeed_with_two_retries(tmp_path):
    """Failing the first two attempts per config, all succeed with retries=2; all journaled."""
    target = FlakyTarget(failures=2)
    opt = CountingOptimizer()
    journal = tmp_path / "study.jsonl"
    with ThreadPoolRunner(target, n_workers=2) as runner:
        loop = OptimizationLoop(opt, runner, n_trials_goal=5, retries=2, journal=journal)
        loop.run()
    assert [v.status for _, v in loop.history] == [StatusType.SUCCESS] * 5
    assert len(opt.told) == 5 and loop.failed == [] and dict(loop.tracebacks) == {}
    assert all(n == 3 for n in target.calls.values())
    assert attempts(journal, 0) == [
        ("submit", 0, None), ("result", 0, False),
        ("submit", 1, None), ("result", 1, False),
        ("submit", 2, None), ("result", 2, True),
    ]
    assert len(History.load(journal)) == 5


def test_deterministic_failure_raises_after_three_attempts_with_its_traceback(tmp_path):
    """Always raising, retries=2: 3 attempts, then RetriesExceededError with the traceback."""
    journal = tmp_path / "study.jsonl"
    opt = CountingOptimizer()
    loop = OptimizationLoop(opt, SerialRunner(always_fails), retries=2, journal=journal,
                            raise_if_retries_exceeded=True)
    with pytest.raises(RetriesExceededError, match="crashed on all 3 attempt") as info:
        loop.run()
    assert "ValueError: deterministic failure for 0" in info.value.traceback
    assert "deterministic failure for 0" in str(info.value)
    assert info.value.info is loop.failed[0]
    assert loop.status() == "failed" and opt.told == [] and len(loop.history) == 0
    assert "Traceback" in loop.tracebacks[loop.failed[0]]
    assert attempts(journal, 0) == [
        ("submit", 0, None), ("result", 0, False),
        ("submit", 1, None), ("result", 1, False),
        ("submit", 2, None), ("result", 2, False), ("failed", 2, None),
    ]


def test_without_raising_the_optimizer_is_told_the_crash_and_the_loop_goes_on():
    """raise_if_retries_exceeded=False: the CRASHED value is told, kept in history, loop goes on."""
    opt = CountingOptimizer()
    loop = OptimizationLoop(opt, SerialRunner(always_fails), retries=1, n_trials_goal=4,
                            raise_if_retries_exceeded=False)
    loop.run()
    assert loop.status() == "finished"
    assert [v.status for _, v in loop.history] == [StatusType.CRASHED] * 4
    assert len(opt.told) == 4 and len(loop.failed) == 4 and opt.asked == 4
    assert all("deterministic failure" in tb for tb in loop.tracebacks.values())


def test_retries_zero_fails_on_the_first_crash():
    """The default retries=0 with raise_if_retries_exceeded=True fails at the first crash."""
    loop = OptimizationLoop(CountingOptimizer(), SerialRunner(always_fails),
                            raise_if_retries_exceeded=True)
    with pytest.raises(RetriesExceededError, match=r"crashed on all 1 attempt\(s\) \(retries=0\)"):
        loop.run()


def test_timeouts_are_not_retried():
    """Only CRASHED is retried: another failure status is final at once."""
    class TimeoutRunner(SerialRunner):
        def run(self, config, instance=None, budget=None, seed=None):
            return (StatusType.TIMEOUT, 1.0, 0.0, {})

    loop = OptimizationLoop(CountingOptimizer(), TimeoutRunner(), retries=3, n_trials_goal=2)
    loop.run()
    assert [v.status for _, v in loop.history] == [StatusType.TIMEOUT] * 2


class TellRaises(ListOptimizer):
    """tell() raises on its third call."""

    def tell(self, info, value):
        super().tell(info, value)
        if len(self.told) == 3:
            raise ZeroDivisionError("tell exploded")


def test_a_raising_tell_stops_the_loop_after_the_result_was_journaled(tmp_path):
    """D8: a raising tell stops the loop with that error; its result is journaled, replayed."""
    journal = tmp_path / "study.jsonl"
    opt = TellRaises([{"x": float(i)} for i in range(10)])
    loop = OptimizationLoop(opt, SerialRunner(lambda c: c["x"]), journal=journal)
    with pytest.raises(ZeroDivisionError, match="tell exploded"):
        loop.run()
    assert loop.status() == "failed" and opt.asked == 3
    finals = [r for r in read_records(journal) if r["type"] == "result" and r["final"]]
    assert [r["info"]["config"]["x"] for r in finals] == [0.0, 1.0, 2.0]
    resumed_opt = ListOptimizer([{"x": float(i)} for i in range(3, 5)])
    resumed = OptimizationLoop(resumed_opt, SerialRunner(lambda c: c["x"]), journal=journal,
                               resume="force")  # another optimizer class, on purpose
    assert [i.config["x"] for i, _ in resumed_opt.told] == [0.0, 1.0, 2.0]
    resumed.run()
    assert [i.config["x"] for i, _ in resumed.history] == [0.0, 1.0, 2.0, 3.0, 4.0]
