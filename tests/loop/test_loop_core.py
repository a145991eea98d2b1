"""OptimizationLoop: validation, asking, exhaustion, goals, log, state, timings, progress."""

from __future__ import annotations

import math
import threading
import time

import pytest
from loophelpers import CountingOptimizer, FakeClock, ListOptimizer, wait_until

from runner import (
    LoopError,
    OptimizationLoop,
    RunnerBrokenError,
    SerialRunner,
    StudyFailedError,
    ThreadPoolRunner,
)
from runner.optimizers import RandomSearch
from trials import StatusType, TrialInfo


def square(config):
    return float(config.get("i", config.get("x", 0.0))) ** 2


def ident(config):
    return float(config["x"])


# -- construction ----------------------------------------------------------------------------


class NoTell:
    def ask(self):
        return None


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"retries": -1}, ValueError, "retries must be >= 0, got -1"),
        ({"retries": 1.5}, TypeError, "retries must be an int"),
        ({"retries": True}, TypeError, "retries must be an int"),
        ({"n_trials_goal": 0}, ValueError, "n_trials_goal must be >= 1, got 0"),
        ({"n_trials_goal": 2.0}, TypeError, "n_trials_goal must be an int"),
        ({"cost_goal": "low"}, TypeError, "cost_goal must be a number"),
        ({"cost_goal": math.nan}, ValueError, "cost_goal must not be NaN"),
        ({"duration_goal": 0}, ValueError, "duration_goal must be a number of seconds > 0"),
        ({"end_time_goal": 1.0}, ValueError, "end_time_goal must be a Unix time in the future"),
        ({"goal": 3}, TypeError, "goal must be a callable"),
        ({"log": "yes"}, TypeError, "log must be True or False"),
        ({"raise_if_retries_exceeded": 1}, TypeError, "raise_if_retries_exceeded must be"),
        ({"journal": 5}, TypeError, "journal must be a path or an open trials.Journal"),
    ],
)
def test_invalid_arguments_fail_at_construction(kwargs, error, match):
    """Each invalid keyword fails at construction with a message naming it and the value."""
    with pytest.raises(error, match=match):
        OptimizationLoop(ListOptimizer([]), SerialRunner(square), **kwargs)


def test_optimizer_without_tell_is_a_type_error_naming_it():
    """An optimizer missing tell() is refused, naming its class and the missing method."""
    with pytest.raises(TypeError, match=r"NoTell has no tell\(\)"):
        OptimizationLoop(NoTell(), SerialRunner(square))


def test_runner_without_the_contract_is_a_type_error():
    """A runner missing contract methods is refused, naming them."""
    with pytest.raises(TypeError, match="object has no submit_trial, iter_results"):
        OptimizationLoop(ListOptimizer([]), object())


# -- asking and exhaustion ---------------------------------------------------------------------


def test_exhausted_optimizer_ends_the_loop_with_every_trial_told():
    """ask() returning None with nothing in flight finishes the loop; every result is told once."""
    opt = ListOptimizer([{"x": float(i)} for i in range(6)])
    loop = OptimizationLoop(opt, SerialRunner(ident))
    loop.run()
    assert loop.status() == "finished"
    assert [v.cost for _, v in loop.history] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert [i.config["x"] for i, _ in opt.told] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert loop.incumbent is not None and loop.incumbent[1].cost == 0.0
    assert loop.pending_trials == [] and loop.failed == []


def test_every_free_worker_gets_a_trial():
    """With 3 workers, 3 trials run at once: each waits on a 3-party barrier that only opens then."""
    barrier = threading.Barrier(3, timeout=20)

    def meet(config):
        barrier.wait()
        return 1.0

    with ThreadPoolRunner(meet, n_workers=3) as runner:
        loop = OptimizationLoop(CountingOptimizer(), runner, n_trials_goal=9)
        loop.run()
    assert [v.status for _, v in loop.history] == [StatusType.SUCCESS] * 9
    assert loop.timings().workers == 3


class BatchOptimizer(CountingOptimizer):
    """Records the sizes ask_batch was called with."""

    def __init__(self):
        super().__init__()
        self.batches = []

    def ask_batch(self, n):
        self.batches.append(n)
        return [self.ask() for _ in range(n)]


def test_ask_batch_is_asked_for_all_free_workers_at_once():
    """An optimizer with ask_batch gets one call for all free workers."""
    barrier = threading.Barrier(3, timeout=20)

    def meet(config):
        barrier.wait()
        return 0.0

    opt = BatchOptimizer()
    with ThreadPoolRunner(meet, n_workers=3) as runner:
        OptimizationLoop(opt, runner, n_trials_goal=6).run()
    assert opt.batches[0] == 3


def test_n_trials_goal_is_exact_with_parallel_workers():
    """n_trials_goal=N with 4 workers gives exactly N trials: the loop never asks beyond N."""
    opt = CountingOptimizer()
    with ThreadPoolRunner(lambda c: time.sleep(0.002) or 1.0, n_workers=4) as runner:
        loop = OptimizationLoop(opt, runner, n_trials_goal=10)
        loop.run()
    assert len(loop.history) == 10 and opt.asked == 10 and len(opt.told) == 10


def test_ask_returning_a_non_trialinfo_fails_the_loop():
    """An optimizer whose ask() returns something else fails the loop with a TypeError."""

    class Bad(ListOptimizer):
        def ask(self):
            return {"x": 1.0}

    loop = OptimizationLoop(Bad([]), SerialRunner(ident))
    with pytest.raises(TypeError, match=r"Bad.ask\(\) must return a trials.TrialInfo or None"):
        loop.run()
    assert loop.status() == "failed"


# -- goals -------------------------------------------------------------------------------------


def test_cost_goal_stops_once_the_incumbent_reaches_it():
    """cost_goal stops asking as soon as the incumbent's cost is <= the goal."""
    costs = [5.0, 3.0, 0.5, 0.1, 7.0, 0.0]
    loop = OptimizationLoop(ListOptimizer([{"x": c} for c in costs]), SerialRunner(ident),
                            cost_goal=0.5)
    loop.run()
    assert [v.cost for _, v in loop.history] == [5.0, 3.0, 0.5]


def test_duration_goal_reads_the_injected_clock(clock: FakeClock):
    """duration_goal=10 with a target that advances the fake clock 1 s per trial: 10 trials."""

    def tick(config):
        clock.advance(1.0)
        return 1.0

    loop = OptimizationLoop(CountingOptimizer(), SerialRunner(tick), duration_goal=10,
                            clock=clock)
    loop.run()
    assert len(loop.history) == 10
    assert loop.elapsed_time() == 10.0


def test_end_time_goal_is_a_unix_time_driven_by_the_clock(clock: FakeClock):
    """end_time_goal=now+5 with a fake clock advancing 1 s per trial: 5 trials."""

    def tick(config):
        clock.advance(1.0)
        return 1.0

    loop = OptimizationLoop(CountingOptimizer(), SerialRunner(tick),
                            end_time_goal=time.time() + 5, clock=clock)
    loop.run()
    assert len(loop.history) == 5


def test_custom_goal_receives_the_loop():
    """goal(loop) is called with the loop; its result stops the loop."""
    seen = []

    def goal(loop):
        seen.append(loop)
        return len(loop.history) >= 7

    loop = OptimizationLoop(CountingOptimizer(), SerialRunner(square), goal=goal)
    loop.run()
    assert len(loop.history) == 7 and seen[0] is loop


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"goal": lambda loop: len(loop.history) >= 3, "n_trials_goal": 50}, 3),
        ({"goal": lambda loop: len(loop.history) >= 30, "n_trials_goal": 4}, 4),
        ({"cost_goal": 4.0, "n_trials_goal": 50}, 1),
        ({"cost_goal": -1.0, "n_trials_goal": 6}, 6),
    ],
)
def test_several_goals_stop_at_the_first_met(kwargs, expected):
    """With several goals the loop stops at whichever is met first; goal= overrides none."""
    loop = OptimizationLoop(CountingOptimizer(), SerialRunner(square), **kwargs)
    loop.run()
    assert len(loop.history) == expected


def test_a_raising_goal_fails_the_loop_with_its_error():
    """A goal that raises stops the loop with that very error (status failed)."""
    boom = RuntimeError("goal exploded")

    def goal(loop):
        if len(loop.history) == 2:
            raise boom
        return False

    loop = OptimizationLoop(CountingOptimizer(), SerialRunner(square), goal=goal)
    with pytest.raises(RuntimeError) as info:
        loop.run()
    assert info.value is boom and loop.status() == "failed"


# -- log, multi-objective, state ---------------------------------------------------------------


def test_log_records_asks_and_tells_in_order():
    """log=True keeps ("ask", info) and ("tell", info, value) in call order, ending with ask None."""
    loop = OptimizationLoop(ListOptimizer([{"x": 1.0}, {"x": 2.0}]), SerialRunner(ident),
                            log=True)
    loop.run()
    kinds = [entry[0] for entry in loop.log]
    assert kinds == ["ask", "tell", "ask", "tell", "ask"]
    assert loop.log[-1] == ("ask", None)
    assert loop.log[1][1] is loop.log[0][1] and loop.log[1][2].cost == 1.0
    assert OptimizationLoop(ListOptimizer([]), SerialRunner(ident)).log is None


def test_several_objectives_give_a_pareto_front_and_no_incumbent():
    """Two objectives: no single incumbent, and the Pareto front holds exactly the non-dominated."""

    def two(config):
        x = config["x"]
        return {"a": x, "b": (1 - x) ** 2}

    loop = OptimizationLoop(RandomSearch({"x": (0.0, 2.0)}, seed=4, n_trials=60),
                            SerialRunner(two, objectives=("a", "b")), cost_goal=-1.0)
    loop.run()
    assert loop.incumbent is None
    front = loop.history.pareto_front()
    costs = [v.cost for _, v in loop.history]
    for _, value in front:
        assert not any(c != value.cost and c[0] <= value.cost[0] and c[1] <= value.cost[1]
                       for c in costs)
    front_costs = [v.cost for _, v in front]
    assert min(costs) in front_costs  # the best first objective
    assert min(costs, key=lambda c: (c[1], c[0])) in front_costs  # the best second
    assert 1 < len(front) < 60


def test_status_and_lifecycle_errors():
    """status() goes running -> finished; a loop runs once; block_until_done needs start()."""
    loop = OptimizationLoop(ListOptimizer([{"x": 1.0}]), SerialRunner(ident))
    assert loop.status() == "running" and loop.elapsed_time() == 0.0
    with pytest.raises(LoopError, match="not started"):
        loop.block_until_done()
    loop.run()
    assert loop.status() == "finished"
    with pytest.raises(LoopError, match="a loop runs once"):
        loop.run()


def test_background_loop_runs_and_block_until_done_returns():
    """start() runs the loop in a thread; block_until_done waits for it."""
    loop = OptimizationLoop(CountingOptimizer(), SerialRunner(square), n_trials_goal=20)
    assert loop.start() is loop
    loop.block_until_done(timeout=30)
    assert loop.status() == "finished" and len(loop.history) == 20


def test_results_not_submitted_by_the_loop_are_ignored():
    """A result the loop did not submit (e.g. left over in a shared runner) is skipped."""
    runner = SerialRunner(square)
    runner.submit_trial(TrialInfo({"i": 99}))
    loop = OptimizationLoop(CountingOptimizer(), runner, n_trials_goal=3)
    loop.run()
    assert [i.config["i"] for i, _ in loop.history] == [0, 1, 2]


class LosingRunner(SerialRunner):
    """Takes trials and never reports them, while saying nothing runs (a broken backend)."""

    def submit_trial(self, info):
        pass


def test_a_runner_that_loses_trials_fails_the_loop():
    """Trials missing from a runner that says nothing runs fail the loop with
    RunnerBrokenError (the runner broke, not the user's misuse), naming them."""
    loop = OptimizationLoop(CountingOptimizer(), LosingRunner(square), n_trials_goal=3)
    with pytest.raises(RunnerBrokenError, match=r"never returned trials \[0, 1, 2\]") as err:
        loop.run()
    assert err.value.lost == [0, 1, 2] and isinstance(err.value, StudyFailedError)
    assert not isinstance(err.value, LoopError)  # not misuse (issue 29 item 6)


# -- time accounting and progress --------------------------------------------------------------


def test_timings_account_for_all_worker_time_and_overhead_matches_its_formula():
    """Queue wait + target + transfer + idle = workers * elapsed; overhead() follows its formula."""
    with ThreadPoolRunner(lambda c: time.sleep(0.01) or 1.0, n_workers=2) as runner:
        loop = OptimizationLoop(CountingOptimizer(), runner, n_trials_goal=20)
        loop.run()
    t = loop.timings()
    assert t.workers == 2 and t.n_results == 20
    total = t.queue_wait + t.target + t.transfer + t.idle
    assert total == pytest.approx(t.capacity, rel=1e-6)
    assert t.target == pytest.approx(sum(v.time for _, v in loop.history))
    assert loop.overhead() == pytest.approx(100 * (1 - t.target / (2 * loop.elapsed_time())))
    assert 0 <= t.optimizer < t.elapsed
    names = [row[0] for row in t.rows()]
    assert names[0] == "optimizer (ask/tell)" and "target" in names


def test_progress_on_a_non_terminal_prints_the_final_state_once(capsys):
    """run(progress=True) off a terminal prints one final panel, no flood of frames."""
    loop = OptimizationLoop(CountingOptimizer(), SerialRunner(square), n_trials_goal=50)
    loop.run(progress=True)
    out = capsys.readouterr().out
    assert out.count("optimization loop") == 1
    assert "finished" in out and "50/50 trials" in out


def test_live_info_terminal_non_blocking_stops_when_the_loop_ends(capsys):
    """live_info_terminal(block=False) returns a display that stops itself once the loop ends."""
    gate = threading.Event()

    def slow(config):
        gate.wait(10)
        return 1.0

    with ThreadPoolRunner(slow, n_workers=1) as runner:
        loop = OptimizationLoop(CountingOptimizer(), runner, n_trials_goal=2).start()
        display = loop.live_info_terminal(block=False)
        gate.set()
        loop.block_until_done(timeout=30)
        wait_until(lambda: not display.running, what="the display to stop")
    assert capsys.readouterr().out.count("optimization loop") == 1


def test_live_info_terminal_blocks_until_the_loop_is_done(capsys):
    """live_info_terminal() on a started loop returns once the loop has finished."""
    loop = OptimizationLoop(CountingOptimizer(), SerialRunner(square), n_trials_goal=200).start()
    loop.live_info_terminal()
    assert loop.status() == "finished" and len(loop.history) == 200
    assert "200/200 trials" in capsys.readouterr().out
