"""What isolating backends do when a trial's process dies, leaves processes behind, or is
closed: the death costs exactly that trial, with the evidence in ``error``."""

from __future__ import annotations

import os
import time

import psutil
import pytest
import targets

from contract.conftest import ISOLATING
from runner.testing import drain, wait_until
from trials import StatusType, TrialInfo


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


@pytest.mark.parametrize(("action", "needle", "exitcode"), [
    ("exit", "exited with code 3", 3),
    ("kill", "killed by SIGKILL", -9),
    ("segv", "killed by SIGSEGV", -11),
])
def test_process_death_is_crashed_with_evidence(make_isolated, action, needle, exitcode):
    """os._exit(3), SIGKILL of itself and a segfault are CRASHED with the exit code or signal."""
    with make_isolated(targets.act, crash_cost=4.0) as runner:
        runner.submit_trial(TrialInfo({"action": action, "id": 0}))
        [(_, value)] = drain(runner, 1)
        assert value.status == StatusType.CRASHED, value
        assert value.cost == 4.0
        assert needle in value.additional_info["error"], value.additional_info
        assert value.additional_info["exitcode"] == exitcode
        runner.submit_trial(TrialInfo({"action": "ok", "id": 1}))
        [(_, value)] = drain(runner, 1)
        assert value.status == StatusType.SUCCESS and value.cost == 1.0, value


def test_worker_death_costs_only_its_trial(make_isolated, tmp_path):
    """Among 8 trials, one os._exit(3)s and one SIGKILLs itself: those two are CRASHED, the six
    others SUCCESS, none runs twice, and the next batch runs normally."""
    actions = {2: "exit", 5: "kill"}
    with make_isolated(targets.act) as runner:
        infos = [TrialInfo({"id": i, "dir": str(tmp_path), "action": actions.get(i, "sleep"),
                            "s": 0.2}) for i in range(8)]
        for info in infos:
            runner.submit_trial(info)
        results = {info.config["id"]: value for info, value in drain(runner, 8)}
        assert sorted(results) == list(range(8))
        assert "exited with code 3" in results[2].additional_info["error"]
        assert "SIGKILL" in results[5].additional_info["error"]
        for i, value in results.items():
            expected = StatusType.CRASHED if i in actions else StatusType.SUCCESS
            assert value.status == expected, (i, value)
            assert len((tmp_path / str(i)).read_text().split()) == 1, f"trial {i} ran twice"
        batch = [TrialInfo({"id": 10 + i, "dir": str(tmp_path)}) for i in range(8)]
        for info in batch:
            runner.submit_trial(info)
        for info, value in drain(runner, 8):
            assert value.status == StatusType.SUCCESS, value
            assert value.cost == info.config["id"]


def test_worker_is_reused_after_an_exception(make_isolated, tmp_path):
    """A trial that raises is CRASHED with its traceback, and its worker process serves on."""
    with make_isolated(targets.act) as runner:
        runner.submit_trial(TrialInfo({"id": 0, "action": "raise", "dir": str(tmp_path)}))
        [(_, value)] = drain(runner, 1)
        assert value.status == StatusType.CRASHED
        assert "RuntimeError: trial 0 raised" in value.additional_info["traceback"]
        pid = int((tmp_path / "0").read_text())
        assert pid != os.getpid()
        pids = set()
        for i in range(1, 5):
            runner.submit_trial(TrialInfo({"id": i, "dir": str(tmp_path)}))
        drain(runner, 4)
        for i in range(1, 5):
            pids.add(int((tmp_path / str(i)).read_text()))
        assert pid in pids, "the worker that ran the raising trial was not reused"


def test_children_left_by_a_trial_are_killed(make_isolated, tmp_path):
    """A child process a trial starts and does not wait for is killed when the trial ends."""
    pidfile = tmp_path / "child"
    with make_isolated(targets.spawn_orphan) as runner:
        runner.submit_trial(TrialInfo({"pidfile": str(pidfile)}))
        [(_, value)] = drain(runner, 1)
        assert value.status == StatusType.SUCCESS, value
        child = int(pidfile.read_text())
        wait_until(lambda: not _alive(child), 5, f"the trial's child {child} to be killed")


@pytest.mark.parametrize("make_isolated", [  # SerialRunner evaluates inside submit_trial:
    pytest.param(b, id=b.name) for b in ISOLATING  # nothing runs at close()
    if b.name != "serial-limited"], indirect=True)
def test_close_kills_the_trial_process(make_isolated, tmp_path):
    """close() with a 60 s trial running returns within seconds; the trial is CANCELLED and its
    process is gone."""
    runner = make_isolated(targets.act)
    info = TrialInfo({"id": 0, "action": "sleep", "s": 60.0, "dir": str(tmp_path)})
    runner.submit_trial(info)
    wait_until(lambda: (tmp_path / "0").exists(), 30, "the sleeper to start")
    pid = int((tmp_path / "0").read_text())
    runner.close()
    [(got, value)] = drain(runner, 1, timeout=10)
    assert got is info and value.status == StatusType.CANCELLED
    wait_until(lambda: not _alive(pid), 5, f"the trial process {pid} to end")


def test_shared_data_is_delivered_and_sent_once(make_any_runner):
    """shared_data reaches the target on every trial and is unpickled at most once per process
    (once per worker on isolating backends), however many trials run."""
    targets.CountingBlob.loads = 0
    blob = targets.CountingBlob(4 * 2**20)
    with make_any_runner(targets.read_shared, shared_data={"blob": blob}) as runner:
        for i in range(12):
            runner.submit_trial(TrialInfo({"i": i}))
        results = drain(runner, 12)
    by_pid: dict[int, set[int]] = {}
    for _, value in results:
        assert value.status == StatusType.SUCCESS, value
        assert value.cost == 4 * 2**20
        by_pid.setdefault(value.additional_info["pid"], set()).add(value.additional_info["loads"])
    for pid, loads in by_pid.items():
        if make_any_runner.backend.isolates:
            assert loads == {1}, f"process {pid} unpickled the shared data {loads} times"
        else:
            assert max(loads) <= 1, f"shared data unpickled {loads} times in process {pid}"


def test_death_is_noticed_while_a_forked_child_holds_the_pipes(make_isolated, tmp_path):
    """A trial that forks a long-lived child and then exits is CRASHED at once (its child still
    holds the worker's pipes open), and the child is killed."""
    pidfile = tmp_path / "child"
    with make_isolated(targets.fork_then_exit) as runner:
        t0 = time.monotonic()
        runner.submit_trial(TrialInfo({"pidfile": str(pidfile), "s": 60.0}))
        [(_, value)] = drain(runner, 1, timeout=30)
        assert time.monotonic() - t0 < 5.0
        assert value.status == StatusType.CRASHED
        assert "exited with code 3" in value.additional_info["error"]
        child = int(pidfile.read_text())
        wait_until(lambda: not _alive(child), 5, f"the forked child {child} to be killed")


def test_environment_and_umask_are_put_back_after_each_trial(make_isolated, monkeypatch):
    """A trial that sets and removes environment variables and changes the umask leaves its
    worker as it found it for the next trial, which runs in the same process (no new worker)."""
    monkeypatch.setenv("TR_KEEP", "yes")
    monkeypatch.delenv("TR_LEAK", raising=False)
    with make_isolated(targets.environ_probe) as runner:
        runner.submit_trial(TrialInfo({"change": True}))
        [(_, changed)] = drain(runner, 1)
        assert changed.status == StatusType.SUCCESS, changed
        assert "worker_recycled" not in changed.additional_info, changed.additional_info
        seen = []
        for _ in range(4):
            runner.submit_trial(TrialInfo({}))
            [(_, value)] = drain(runner, 1)
            seen.append(value.additional_info)
    assert changed.additional_info["pid"] in {s["pid"] for s in seen}, "no trial reused it"
    # TR_KEEP as the worker had it before the change ("yes" where it started after setenv;
    # a dask cluster started earlier never had it)
    assert all(s["leak"] is None and s["keep"] == changed.additional_info["keep"]
               for s in seen), seen
    assert {s["umask"] for s in seen} == {changed.additional_info["umask"]}, seen
