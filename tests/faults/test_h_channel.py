"""FAULTS H (the result channel and the limits, against a hostile target): a result always
belongs to its trial, the driver never blocks on what a target writes, limits hold when the
target disarms them, and nothing a trial leaves behind reaches the next one."""

from __future__ import annotations

import re
import threading
import time

import hostile_targets as ht
import pytest
from contract.conftest import ISOLATING, Backend

from faults.conftest import FaultMaker, alive, configs, isolating, one
from runner import SerialRunner
from runner.testing import drain, wait_until
from trials import StatusType, TrialInfo


def isolating_not_dask(backend: Backend) -> bool:
    """Isolating, and not the shared dask cluster: its workers hold no memory budget (F2 covers
    dask's memory limit) and it has two workers, so the next trial may land on either."""
    return backend.isolates and not backend.dask


def _in_order(runner, target_configs):
    values = []
    for config in target_configs:
        values.append(one(runner, config, timeout=30))
    return values


@configs("any_config", isolating, worker_side=True)
def test_H1_forked_child_never_answers_for_the_worker(any_config: FaultMaker) -> None:
    """H1: a target that forks and whose child returns into the worker's loop: every trial
    gets its own cost, none its predecessor's."""
    with any_config(ht.fork_and_return, **any_config.one_worker()) as runner:
        values = _in_order(runner, [{"i": i} for i in range(4)])
    assert [(v.status, v.cost) for v in values] == [(StatusType.SUCCESS, float(i))
                                                    for i in range(4)]


@configs("any_config", isolating, worker_side=True)
def test_H2_writes_to_low_descriptors_change_nothing(any_config: FaultMaker) -> None:
    """H2: junk written to descriptors 3..20 misses the worker's pipes (they sit high): each
    trial still gets its own cost."""
    with any_config(ht.write_garbage_low_fds, **any_config.one_worker()) as runner:
        values = _in_order(runner, [{"i": i} for i in range(3)])
    assert [v.cost for v in values] == [0.0, 1.0, 2.0]


@configs("any_config", isolating, worker_side=True)
def test_H2_junk_in_the_result_pipe_costs_that_trial_only(any_config: FaultMaker) -> None:
    """H2: junk written straight into the result pipe (a length that claims 1.7 GB) neither
    blocks the driver nor shifts results: that trial is CRASHED "result channel corrupted", its
    worker replaced, the next trial gets its own cost."""
    kwargs = {"walltime_limit": 30.0, **any_config.one_worker()}
    with any_config(ht.write_garbage_to_pipes, **kwargs) as runner:
        bad = one(runner, {"i": 5}, timeout=20)
        assert bad.status == StatusType.CRASHED, bad
        assert "result channel corrupted by the target" in bad.additional_info["error"]
    with any_config(ht.identity, **kwargs) as runner:
        assert one(runner, {"i": 6}).cost == 6.0


@pytest.mark.parametrize("target", [ht.returns_on_sigterm, ht.exits_on_sigterm],
                         ids=["returns", "exits"])
@configs("any_config", isolating, worker_side=True)
def test_H3_a_wall_overrun_is_timeout_whatever_the_target_does(any_config: FaultMaker,
                                                              target) -> None:
    """H3: a target whose SIGTERM handler returns a result, or calls sys.exit, after its wall
    limit is TIMEOUT on every backend."""
    with any_config(target, walltime_limit=0.5, grace=1.0, **any_config.one_worker()) as runner:
        value = one(runner, {})
    assert value.status == StatusType.TIMEOUT, value
    assert "walltime_limit of 0.5 s exceeded" in value.additional_info["error"]


@pytest.mark.parametrize("any_config, then", [
    pytest.param(b, then, id=f"{b.name}-{then}") for b in ISOLATING
    for then in ("sleep", "exit", "close")
    # SerialRunner evaluates inside submit_trial: nothing runs at close()
    if not (then == "close" and b.module == "runner._backends.serial")], indirect=["any_config"])
def test_H4_escaped_children_die_with_their_trial(any_config: FaultMaker, tmp_path,
                                                 then: str) -> None:
    """H4: a child that left the trial's process group is killed when the trial ends by
    TIMEOUT, by the trial's process dying, and by close()."""
    pidfile = tmp_path / "child"
    config = {"pidfile": str(pidfile), "then": "exit" if then == "exit" else "sleep"}
    with any_config(ht.escaped_child, walltime_limit=3.0 if then != "close" else 60.0,
                    **any_config.one_worker()) as runner:
        if then == "close":
            runner.submit_trial(TrialInfo(config))
            wait_until(pidfile.exists, 20, "the child to start")
            time.sleep(0.5)  # let the outside watch see it (it reads every 0.2 s)
            runner.close()
        else:
            value = one(runner, config)
            assert value.status == (StatusType.TIMEOUT if then == "sleep"
                                    else StatusType.CRASHED), value
    child = int(pidfile.read_text())
    wait_until(lambda: not alive(child), 10, f"the escaped child {child} to be killed")


@configs("any_config", isolating, worker_side=True)
def test_H5_a_disarmed_cpu_limit_still_holds(any_config: FaultMaker) -> None:
    """H5: a target that ignores SIGPROF/SIGXCPU and raises its own RLIMIT_CPU is TIMEOUT
    within the limit plus about a CPU second, and the next trial is held to the limit again.
    The bound is on CPU seconds (what the limit counts; the wall time of 0.5 CPU seconds
    depends on what else the machine runs), and the trial ends before its 8 s of spinning."""
    with any_config(ht.disarms_cpu_limit, cpu_time_limit=0.5,
                    **any_config.one_worker()) as runner:
        value = one(runner, {"s": 8.0})
        assert value.status == StatusType.TIMEOUT, value
        found = re.search(r"\(([\d.]+) s measured from outside\)", value.additional_info["error"])
        assert found and float(found.group(1)) < 0.5 + 1.0, value
        assert value.time < 8.0, value
    with any_config(ht.spin, cpu_time_limit=0.5, **any_config.one_worker()) as runner:
        assert one(runner, {"s": 4.0}).status == StatusType.TIMEOUT


@configs("any_config", isolating_not_dask, worker_side=True)
def test_H5_a_disarmed_memory_limit_still_holds(any_config: FaultMaker) -> None:
    """H5: a target that lifts its own RLIMIT_AS and fills 1.2 GB under memory_limit=150 is
    MEMORYOUT, measured from outside."""
    with any_config(ht.disarms_memory_limit, memory_limit=150,
                    **any_config.one_worker()) as runner:
        value = one(runner, {"mb": 1200, "hold": 5.0})
    assert value.status == StatusType.MEMORYOUT, value
    assert "measured from outside" in value.additional_info["error"]


@pytest.mark.parametrize("first,second", [
    (ht.leaves_a_spinning_thread, ht.spin), (ht.lowers_nofile, ht.opens_many_files)],
    ids=["thread", "rlimit"])
@configs("any_config", isolating_not_dask)
def test_H6_what_a_trial_leaves_does_not_reach_the_next(any_config: FaultMaker, first,
                                                        second) -> None:
    """H6: a spinning thread or a lowered RLIMIT_NOFILE left by one trial: the worker says so
    after its answer and is replaced, and the next trial runs clean on a new worker."""
    with any_config(ht.first_then_second, cpu_time_limit=2.0,
                    **any_config.one_worker()) as runner:
        one_value = one(runner, {"which": first.__name__})
        assert one_value.status == StatusType.SUCCESS, one_value
        two_value = one(runner, {"which": second.__name__, "s": 0.5})
    assert two_value.status == StatusType.SUCCESS, two_value
    assert two_value.additional_info["pid"] != one_value.additional_info["pid"]


@configs("any_config", isolating, worker_side=True)
def test_H7_values_that_break_the_worker_keep_the_cost(any_config: FaultMaker) -> None:
    """H7: info values whose __reduce__ and __repr__ raise, and a key that will not pickle:
    SUCCESS with the cost, the values degraded to text."""
    with any_config(ht.info_that_will_not_travel, **any_config.one_worker()) as runner:
        value = one(runner, {})
    assert value.status == StatusType.SUCCESS and value.cost == 0.25, value
    assert value.additional_info["ok"] == "kept"
    assert "pickle_error" in value.additional_info


def test_H9_serial_runner_with_a_limit_from_two_threads() -> None:
    """H9: a limited SerialRunner used from two threads gives each trial its own cost."""
    results = []
    with SerialRunner(ht.identity, walltime_limit=30) as runner:
        def submit(base: int) -> None:
            for i in range(base, base + 20):
                runner.submit_trial(TrialInfo({"i": i}))

        threads = [threading.Thread(target=submit, args=(b,)) for b in (0, 100)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        results = drain(runner, 40)
    assert all(value.cost == float(info.config["i"]) for info, value in results)


@configs("any_config", isolating, worker_side=True)
def test_H10_a_result_is_measured_once_decoded(any_config: FaultMaker) -> None:
    """H10: an info value whose pickle is 60 bytes but decodes to 300 MB is refused (measured
    in the worker, decoded), CRASHED saying so; the driver never holds it."""
    with any_config(ht.returns_a_pickle_bomb, **any_config.one_worker()) as runner:
        value = one(runner, {"mb": 300})
    assert value.status == StatusType.CRASHED, value
    assert "once decoded" in value.additional_info["error"]


@configs("any_config", isolating)
def test_H6_a_recycled_worker_is_never_sent_the_next_trial(any_config: FaultMaker) -> None:
    """H6: a worker that ends itself after a dirty trial is replaced before the next trial, so
    trials queued behind it run normally (none CRASHED "exited with code 0")."""
    with any_config(ht.leaves_a_spinning_thread, **any_config.one_worker()) as runner:
        infos = [TrialInfo({"i": i}) for i in range(4)]
        for info in infos:
            runner.submit_trial(info)
        results = drain(runner, 4)
    assert [v.status for _, v in results] == [StatusType.SUCCESS] * 4, results


def test_H6_fresh_process_per_trial() -> None:
    """H6: fresh_process_per_trial=True runs every trial in a new worker process."""
    import targets

    from runner import ProcessPoolRunner

    with ProcessPoolRunner(targets.whoami, n_workers=1, fresh_process_per_trial=True) as runner:
        for _ in range(3):
            runner.submit_trial(TrialInfo({}))
        pids = [v.additional_info["pid"] for _, v in drain(runner, 3)]
    assert len(set(pids)) == 3, pids
