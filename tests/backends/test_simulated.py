"""``SimulatedRunner``: the schedule against an independent list-scheduling computation, the
status and limit rules in simulated seconds, determinism, and studies of simulated hours under the
loop in real seconds."""

from __future__ import annotations

import heapq
import math
import random
import time

import pytest

from runner import LimitError, OptimizationLoop, RandomSearch, RunnerClosedError, SimulatedRunner
from trials import StatusType, TrialInfo


def table(config, seed=None):
    """A table look-up: cost from ``x``, the runtime it would take from ``r``."""
    return config["x"] ** 2, {"runtime": config["r"]}


def maybe_raises(config):
    if config.get("boom"):
        raise ValueError("boom")
    return 1.0, {"runtime": config["r"]}


def drain(runner):
    """Every result, in the order ``iter_results`` yields them."""
    out = []
    while True:
        out.extend(runner.iter_results())
        if not runner.is_running():
            out.extend(runner.iter_results())
            return out
        runner.wait()


def list_schedule(runtimes, n_workers):
    """(start, end) of each job, taken in order by the earliest free of ``n_workers``."""
    free = [0.0] * n_workers
    out = []
    for r in runtimes:
        start = heapq.heappop(free)
        out.append((start, start + r))
        heapq.heappush(free, start + r)
    return out


@pytest.mark.parametrize("n_workers", [1, 3, 8])
def test_schedule_is_list_scheduling(n_workers):
    """500 trials with random runtimes (ties included) start and end as list scheduling in
    submission order says, and come back in (end, submission) order."""
    rng = random.Random(n_workers)
    runtimes = [rng.choice([0.0, 1.0, 2.5, rng.uniform(0, 100)]) for _ in range(500)]
    with SimulatedRunner(table, n_workers) as runner:
        infos = [TrialInfo({"x": float(i), "r": r}) for i, r in enumerate(runtimes)]
        for info in infos:
            runner.submit_trial(info)
        results = drain(runner)
    expected = list_schedule(runtimes, n_workers)
    order = {id(info): i for i, info in enumerate(infos)}
    assert len(results) == 500
    for info, value in results:
        i = order[id(info)]
        assert (value.starttime, value.endtime) == expected[i], (i, value)
        assert value.time == runtimes[i] and value.cost == float(i) ** 2
    keys = [(v.endtime, order[id(i)]) for i, v in results]
    assert keys == sorted(keys), "not in (end time, submission) order"


def test_loop_schedule_is_list_scheduling_in_ask_order():
    """Under the loop, each asked trial starts on the earliest free virtual worker."""
    rng = random.Random(7)
    runtimes = [rng.uniform(0, 50) for _ in range(300)]
    configs = iter([{"x": float(i), "r": r} for i, r in enumerate(runtimes)])

    class Ordered:
        def ask(self):
            config = next(configs, None)
            return None if config is None else TrialInfo(config)

        def tell(self, info, value):
            pass

    with SimulatedRunner(table, 4) as runner:
        loop = OptimizationLoop(Ordered(), runner)
        loop.run()
    expected = list_schedule(runtimes, 4)
    got = sorted((int(i.config["x"]), (v.starttime, v.endtime)) for i, v in loop.history)
    assert [g[1] for g in got] == expected
    assert loop.elapsed_time() == max(e for _, e in expected)


def _study(seed: int):
    space = {"x": (-5.0, 5.0), "r": (60.0, 3600.0)}
    with SimulatedRunner(table, 4, start_time=1.7e9) as runner:
        loop = OptimizationLoop(RandomSearch(space, seed=seed), runner, duration_goal=10 * 3600)
        loop.run()
    return loop


def test_two_runs_give_identical_histories():
    """Same inputs, same history: configurations, costs, statuses and timestamps."""
    a, b = _study(3), _study(3)
    rows = [[(i.to_dict(), v.to_dict()) for i, v in loop.history] for loop in (a, b)]
    assert rows[0] == rows[1] and len(rows[0]) > 10


def test_ten_simulated_hours_on_four_workers_in_seconds():
    """A 4-worker study worth >= 10 simulated hours ends in real seconds; the loop's elapsed time,
    duration goal and timings are simulated seconds."""
    t0 = time.perf_counter()
    loop = _study(5)
    took = time.perf_counter() - t0
    assert took < 5.0, f"{took:.2f} s of real time"
    assert loop.elapsed_time() >= 10 * 3600
    last_start = max(v.starttime for _, v in loop.history) - 1.7e9
    assert last_start < 10 * 3600 <= loop.elapsed_time()
    timings = loop.timings()
    assert timings.workers == 4 and timings.elapsed == loop.elapsed_time()
    busy = sum(v.time for _, v in loop.history)
    assert math.isclose(timings.target, busy)
    assert timings.optimizer == 0.0  # not charged: the optimizer's time is free
    assert 0.0 <= loop.overhead() < 20.0  # workers idle only at the end


def test_end_time_goal_is_on_the_runner_clock():
    """end_time_goal is a time on the runner's clock (start_time + simulated seconds)."""
    with SimulatedRunner(table, 2, start_time=100.0) as runner:
        loop = OptimizationLoop(RandomSearch({"x": (0.0, 1.0), "r": (10.0, 20.0)}, seed=1),
                                runner, end_time_goal=100.0 + 1000.0)
        loop.run()
    starts = [v.starttime for _, v in loop.history]
    assert max(starts) < 1100.0 <= max(v.endtime for _, v in loop.history)


def test_wait_and_workers():
    """wait() moves the clock to the next completion; free workers are counted at the clock."""
    with SimulatedRunner(table, 2, start_time=10.0) as runner:
        assert runner.count_available_workers() == 2 and runner.clock() == 10.0
        for r in (5.0, 3.0, 4.0):
            runner.submit_trial(TrialInfo({"x": 0.0, "r": r}))
        assert runner.count_available_workers() == 0 and runner.is_running()
        assert list(runner.iter_results()) == []
        runner.wait(timeout=0.001)
        [(info, value)] = list(runner.iter_results())
        assert runner.clock() == 13.0 and value.endtime == 13.0 and info.config["r"] == 3.0
        runner.wait()
        runner.wait()  # a result is waiting: the clock stays
        assert runner.clock() == 15.0 and len(list(runner.iter_results())) == 1
        assert runner.count_available_workers() == 1
        runner.wait()
        assert runner.clock() == 17.0 and not runner.is_running()


def test_status_rules_and_crash_time():
    """A raise is CRASHED with a traceback taking default_runtime; an invalid runtime is
    CRASHED naming runtime_key; a trial without runtime takes default_runtime."""
    with SimulatedRunner(maybe_raises, 1, crash_cost=9.0, default_runtime=2.0) as runner:
        infos = [TrialInfo({"boom": True}), TrialInfo({"r": -1.0}), TrialInfo({"r": "slow"}),
                 TrialInfo({"r": 1.5})]
        for info in infos:
            runner.submit_trial(info)
        got = [v for _, v in drain(runner)]
    assert got[0].status == StatusType.CRASHED and got[0].cost == 9.0
    assert "ValueError: boom" in got[0].additional_info["traceback"]
    assert (got[0].starttime, got[0].endtime) == (0.0, 2.0)
    for value in got[1:3]:
        assert value.status == StatusType.CRASHED and value.cost == 9.0
        assert "additional_info['runtime']" in value.additional_info["error"]
    assert got[3].status == StatusType.SUCCESS and got[3].endtime == 2.0 + 2.0 + 2.0 + 1.5


def test_limits_are_simulated_seconds():
    """A trial longer than walltime_limit is TIMEOUT at start + limit with crash_cost; the CPU
    limit counts its runtime; memory_limit is refused at construction."""
    with SimulatedRunner(table, 1, walltime_limit=100.0, crash_cost=5.0) as runner:
        for r in (250.0, 100.0):
            runner.submit_trial(TrialInfo({"x": 1.0, "r": r}))
        long, exact = [v for _, v in drain(runner)]
    assert long.status == StatusType.TIMEOUT and long.cost == 5.0
    assert (long.starttime, long.endtime, long.time) == (0.0, 100.0, 100.0)
    assert "walltime_limit of 100 s" in long.additional_info["error"]
    assert exact.status == StatusType.SUCCESS and exact.starttime == 100.0
    with SimulatedRunner(table, 1, cpu_time_limit=10.0) as runner:
        runner.submit_trial(TrialInfo({"x": 1.0, "r": 11.0}))
        [(_, value)] = drain(runner)
    assert value.status == StatusType.TIMEOUT and "cpu_time_limit of 10 s" in \
        value.additional_info["error"]
    with pytest.raises(LimitError, match="memory_limit cannot be honoured by SimulatedRunner"):
        SimulatedRunner(table, 1, memory_limit=512)


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"n_workers": 0}, ValueError, "n_workers must be >= 1"),
    ({"n_workers": 2.5}, TypeError, "n_workers must be a positive int"),
    ({"runtime_key": ""}, TypeError, "runtime_key must be a non-empty str"),
    ({"start_time": "now"}, TypeError, "start_time must be a finite number"),
    ({"default_runtime": -1}, ValueError, "default_runtime must be a finite number"),
    ({"charge_optimizer_time": 1}, TypeError, "charge_optimizer_time must be True or False"),
])
def test_bad_arguments(kwargs, error, match):
    """Bad constructor arguments fail at once, naming the argument."""
    with pytest.raises(error, match=match):
        SimulatedRunner(table, **{"n_workers": 1, **kwargs})


def test_close_cancels_at_the_virtual_time():
    """close() returns trials on virtual workers and queued ones as CANCELLED at the clock."""
    runner = SimulatedRunner(table, 1)
    for r in (10.0, 10.0):
        runner.submit_trial(TrialInfo({"x": 1.0, "r": r}))
    runner.close()
    got = [v for _, v in drain(runner)]
    assert [v.status for v in got] == [StatusType.CANCELLED] * 2
    assert all(v.endtime == 0.0 for v in got)
    with pytest.raises(RunnerClosedError):
        runner.submit_trial(TrialInfo({"x": 1.0, "r": 1.0}))


def test_charge_optimizer_time_adds_the_callers_real_time():
    """With charge_optimizer_time, real time the caller spends between calls moves the clock
    (and finishes trials), and the loop measures its optimizer time on that clock."""
    with SimulatedRunner(table, 1, charge_optimizer_time=True) as runner:
        runner.submit_trial(TrialInfo({"x": 1.0, "r": 0.02}))
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < 0.05:  # the "optimizer" thinks, busily
            pass
        assert runner.clock() >= 0.05
        [(_, value)] = list(runner.iter_results())  # done while the caller was busy
        assert value.endtime == 0.02 and runner.charged_time >= 0.05

    class Slow(RandomSearch):
        def tell(self, info, value):
            t = time.perf_counter()
            while time.perf_counter() - t < 0.002:
                pass
            super().tell(info, value)

    with SimulatedRunner(table, 2, charge_optimizer_time=True) as runner:
        loop = OptimizationLoop(Slow({"x": (0.0, 1.0), "r": (0.0, 0.001)}, seed=0), runner,
                                n_trials_goal=40)
        loop.run()
    assert loop.timings().optimizer >= 40 * 0.002
    assert loop.elapsed_time() >= 40 * 0.002


def test_run_override_runtime_is_used():
    """A subclass's run returning SMAC3's 4-tuple: its runtime is the simulated runtime."""
    class Runner(SimulatedRunner):
        def run(self, config, instance=None, budget=None, seed=None):
            return StatusType.SUCCESS, config["x"], config["r"], {}

    with Runner(n_workers=1) as runner:
        runner.submit_trial(TrialInfo({"x": 2.0, "r": 7.0}))
        [(_, value)] = drain(runner)
    assert value.cost == 2.0 and value.endtime == 7.0
