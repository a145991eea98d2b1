"""FAULTS A: the target misbehaves (raises, exits, overruns its limits, leaves processes, or is
a script that hangs or fails), on every backend the fault can exist on."""

from __future__ import annotations

import os

import faults_targets as ft
import targets

from faults.conftest import (
    Deadline,
    FaultMaker,
    alive,
    configs,
    isolating,
    one,
    real_limits,
    real_time,
    real_time_scripts,
    runs,
    runs_scripts,
    started,
    worker_pids,
)
from runner.testing import drain, wait_until
from trials import StatusType, TrialInfo


def test_A1_raises(any_config: FaultMaker, tmp_path) -> None:
    """A1: a target raising ValueError is CRASHED with type, message and traceback text in
    additional_info, and the process that ran it serves the next trial."""
    pidfile = tmp_path / "pid"
    with any_config(ft.raise_with_pid, crash_cost=7.0, **any_config.one_worker()) as runner:
        value = one(runner, {"x": 42, "pidfile": str(pidfile)})
        assert value.status == StatusType.CRASHED and value.cost == 7.0, value
        info = value.additional_info
        assert info["error_type"] == "ValueError"
        assert info["error"] == "ValueError('bad value 42')"
        assert "Traceback (most recent call last)" in info["traceback"]
        assert "raise_with_pid" in info["traceback"]
        assert "ValueError: bad value 42" in info["traceback"]
        raiser = int(pidfile.read_text())
        if not any_config.isolates:  # evaluated in the driver: the driver is the worker
            if not any_config.name.startswith("executor"):  # there: the executor's worker
                assert raiser == os.getpid()
            return
        assert alive(raiser) and raiser in worker_pids(runner), "the worker was replaced"
        if any_config.is_dask:  # two dask workers: the next trial may land on the other one
            return
        again = tmp_path / "again"
        assert one(runner, {"x": 1, "pidfile": str(again)}).status == StatusType.CRASHED
        assert int(again.read_text()) == raiser and worker_pids(runner) == {raiser}


@configs("any_config", isolating)
def test_A2_os_exit(any_config: FaultMaker, tmp_path) -> None:
    """A2: os._exit(3) while other trials are in flight: that trial is CRASHED saying exit code 3;
    every other trial is SUCCESS and ran exactly once; the backend then runs a new batch."""
    d = str(tmp_path)
    n = any_config.n_workers + 2  # all workers busy, two more queued behind them
    with any_config(ft.gated) as runner:
        infos = [TrialInfo({"id": i, "dir": d, "action": "exit" if i == 0 else "ok", "s": 0.2})
                 for i in range(n)]
        if any_config.is_serial:  # submit_trial evaluates in place: nothing else can be in flight
            (tmp_path / "go").touch()
        for info in infos:
            runner.submit_trial(info)
        wait_until(lambda: all(started(d, i) for i in range(any_config.n_workers)), 60,
                   "every worker to have a trial in flight")
        (tmp_path / "go").touch()
        results = {info.config["id"]: value for info, value in drain(runner, n, timeout=60)}
        assert sorted(results) == list(range(n))
        assert results[0].status == StatusType.CRASHED, results[0]
        assert "exited with code 3" in results[0].additional_info["error"]
        for i in range(1, n):
            assert results[i].status == StatusType.SUCCESS and results[i].cost == i, results[i]
            assert "requeues" not in results[i].additional_info
        assert [runs(d, i) for i in range(n)] == [1] * n, "a trial ran twice"
        more = [TrialInfo({"id": 10 + i, "dir": d}) for i in range(n)]
        for info in more:
            runner.submit_trial(info)
        assert all(v.status == StatusType.SUCCESS for _, v in drain(runner, n, timeout=60))


def _warm(maker: FaultMaker, runner, tmp_path) -> None:
    """Start every worker process the runner will use (all slots run a gated trial at once),
    so a timing measured next does not include starting a worker."""
    d = tmp_path / "warm"
    d.mkdir()
    n = maker.n_workers
    if maker.is_serial:
        (d / "go").touch()
    for i in range(n):
        runner.submit_trial(TrialInfo({"id": i, "dir": str(d)}))
    wait_until(lambda: all(started(d, i) for i in range(n)), 60, "every slot to start")
    (d / "go").touch()
    drain(runner, n)


@configs("every_backend", real_time)
def test_A5_walltime(every_backend: FaultMaker, tmp_path) -> None:
    """A5: a sleeper past walltime_limit=1 is TIMEOUT within limit + 1 s, and the trial's whole
    process tree (its process and the child it started) is gone."""
    maker = every_backend
    if maker.is_async:
        with maker(targets.act, walltime_limit=1) as runner:
            clock = Deadline()
            value = one(runner, {"id": 0, "action": "sleep", "s": 30.0})
            assert value.status == StatusType.TIMEOUT, value
            assert clock.elapsed < 2.0, f"TIMEOUT after {clock.elapsed:.2f} s"
            return  # a coroutine has no process tree: the task was cancelled
    with maker(ft.sleep_with_child, walltime_limit=1) as runner:
        _warm(maker, runner, tmp_path)
        pidfile = tmp_path / "pids"
        clock = Deadline()
        value = one(runner, {"s": 30.0, "pidfile": str(pidfile)})
        took = clock.elapsed
        assert value.status == StatusType.TIMEOUT, value
        assert value.additional_info["error"] == "walltime_limit of 1 s exceeded"
        assert 1.0 <= took < 2.0, f"TIMEOUT after {took:.2f} s"
        pids = [int(p) for p in pidfile.read_text().split()]
        assert len(pids) == 2
        wait_until(lambda: not any(alive(p) for p in pids), 1.0, f"processes {pids} to be gone")
        again = one(runner, {"id": 9, "dir": str(tmp_path / "warm")})  # a new worker serves
        assert again.status == StatusType.SUCCESS and again.cost == 9.0


@configs("every_backend", real_limits)
def test_A7_cpu_time(every_backend: FaultMaker) -> None:
    """A7: a busy loop past cpu_time_limit=0.5 is TIMEOUT whose error names the CPU-time limit."""
    with every_backend(ft.busy, cpu_time_limit=0.5) as runner:
        clock = Deadline()
        value = one(runner, {"s": 30.0})
        assert value.status == StatusType.TIMEOUT, value
        assert "cpu_time_limit of 0.5 s exceeded" in value.additional_info["error"]
        assert clock.elapsed < 10.0
        assert one(runner, {"s": 0.0}).status == StatusType.SUCCESS


@configs("any_config", isolating, worker_side=True)
def test_A8_orphan_child(any_config: FaultMaker, tmp_path) -> None:
    """A8: a child process the trial starts and leaves running is killed when the trial ends."""
    pidfile = tmp_path / "child"
    with any_config(targets.spawn_orphan) as runner:
        value = one(runner, {"pidfile": str(pidfile)})
        assert value.status == StatusType.SUCCESS, value
        child = int(pidfile.read_text())
        wait_until(lambda: not alive(child), 2.0, f"the trial's child {child} to be killed")


def _hanging_script(folder) -> str:
    return ft.script(folder, "hang.py", """
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
with open(os.path.join(os.path.dirname(sys.argv[0]), "pids"), "w") as f:
    f.write(f"{os.getpid()} {child.pid}")
time.sleep(60)
""")


def _grandchild_script(folder) -> str:
    return ft.script(folder, "leave.py", """
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
with open(os.path.join(os.path.dirname(sys.argv[0]), "pids"), "w") as f:
    f.write(str(child.pid))
print("cost=2.5", flush=True)
""")


@configs("every_backend", real_time_scripts)
def test_A10_script_hangs(every_backend: FaultMaker, tmp_path) -> None:
    """A10: a script that hangs under walltime_limit=1 is TIMEOUT within limit + 1 s, the runner
    returns, and the script and its child are gone (the process group was killed)."""
    with every_backend(_hanging_script(tmp_path), walltime_limit=1) as runner:
        clock = Deadline()
        value = one(runner, {"x": 1})
        assert value.status == StatusType.TIMEOUT, value
        assert "walltime_limit of 1 s" in value.additional_info["error"]
        assert clock.elapsed < 3.0, f"TIMEOUT after {clock.elapsed:.2f} s"
        pids = [int(p) for p in (tmp_path / "pids").read_text().split()]
        wait_until(lambda: not any(alive(p) for p in pids), 1.0, f"processes {pids} to be gone")


@configs("every_backend", real_time_scripts)
def test_A10_script_grandchild_holds_stdout(every_backend: FaultMaker, tmp_path) -> None:
    """A10: a script that prints its cost and exits, leaving a grandchild that holds its stdout,
    is read at once (the runner does not wait for the grandchild: SUCCESS long before the
    30 s wall limit), and the grandchild is killed."""
    with every_backend(_grandchild_script(tmp_path), walltime_limit=30) as runner:
        clock = Deadline()
        value = one(runner, {"x": 1})
        assert value.status == StatusType.SUCCESS and value.cost == 2.5, value
        assert clock.elapsed < 5.0, f"returned after {clock.elapsed:.2f} s"
        child = int((tmp_path / "pids").read_text())
        wait_until(lambda: not alive(child), 2.0, f"grandchild {child} to be killed")


@configs("every_backend", runs_scripts)
def test_A10_script_grandchild_without_limits(every_backend: FaultMaker, tmp_path) -> None:
    """A10 without any limit (serial and thread runners run the script from the driver): the
    runner still returns at once and the grandchild is killed."""
    with every_backend(_grandchild_script(tmp_path)) as runner:
        clock = Deadline()
        value = one(runner, {"x": 1})
        assert value.status == StatusType.SUCCESS and value.cost == 2.5, value
        assert clock.elapsed < 5.0
        child = int((tmp_path / "pids").read_text())
        wait_until(lambda: not alive(child), 2.0, f"grandchild {child} to be killed")


@configs("any_config", runs_scripts)
def test_A11_script_exit_status(any_config: FaultMaker, tmp_path) -> None:
    """A11: a script printing cost=1.0 then exiting with status 1 is CRASHED (crash cost, not
    1.0) with the exit status and its stderr tail in the error."""
    path = ft.script(tmp_path, "fail.py", """
print("cost=1.0")
print("lots of noise\\n" * 500 + "the real reason: disk quota", file=sys.stderr)
sys.exit(1)
""")
    with any_config(path, crash_cost=9.0) as runner:
        value = one(runner, {"x": 1})
    assert value.status == StatusType.CRASHED and value.cost == 9.0, value
    error = value.additional_info["error"]
    assert "exited with status 1" in error
    assert error.rstrip().endswith("the real reason: disk quota")
    assert len(error) < 2500, "the stderr tail is a tail, not the whole stream"
