"""The supervised worker process (``runner/_worker/process.py``, ``runner/_worker/child.py``) and
the slot runners' lifecycle: restarts, results that do not travel, closing, driver death."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import types

import psutil
import pytest
import targets

from runner import ProcessPoolRunner, SerialRunner, ThreadPoolRunner, WorkerStartError
from runner import testing as conformance
from runner.testing import drain, wait_until
from trials import StatusType, TrialInfo


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def one(runner, config):
    runner.submit_trial(TrialInfo(config))
    [(_, value)] = drain(runner, 1)
    return value


def test_unpicklable_info_is_degraded_not_lost():
    """An info dict that cannot be pickled comes back with reprs and the pickle error; the cost
    and status survive (FAULTS principle 2)."""
    with ProcessPoolRunner(targets.returns_unpicklable, n_workers=1) as runner:
        value = one(runner, {})
    assert value.status == StatusType.SUCCESS and value.cost == 1.5, value
    assert value.additional_info["note"] == "kept"
    assert "lock" in value.additional_info["lock"]
    assert "pickle_error" in value.additional_info


def test_result_the_driver_cannot_unpickle_is_crashed():
    """A result that fails to unpickle in the driver is CRASHED saying so; the worker serves on."""
    with ProcessPoolRunner(targets.returns_unloadable, n_workers=1) as runner:
        value = one(runner, {})
        assert value.status == StatusType.CRASHED
        assert "could not be unpickled in the driver" in value.additional_info["error"]
        assert "cannot be rebuilt" in value.additional_info["error"]


def test_target_the_worker_cannot_import_fails_at_construction():
    """A target whose module exists only in the driver fails at construction with
    WorkerStartError carrying the worker's traceback."""
    ghost = types.ModuleType("ghost_module_xyz")
    exec("def target(config):\n    return 0.0\n", ghost.__dict__)
    sys.modules["ghost_module_xyz"] = ghost
    try:
        with pytest.raises(WorkerStartError, match="could not load the target(.|\n)*ghost"):
            ProcessPoolRunner(ghost.target, n_workers=1)
    finally:
        del sys.modules["ghost_module_xyz"]


def test_worker_killed_while_idle_is_replaced_silently():
    """A worker killed from outside between trials costs nothing: the next trial starts a new
    worker and succeeds."""
    with ProcessPoolRunner(targets.whoami, n_workers=1) as runner:
        first = one(runner, {}).additional_info["pid"]
        os.kill(first, signal.SIGKILL)
        wait_until(lambda: not _alive(first), 5, "the worker to die")
        value = one(runner, {})
        assert value.status == StatusType.SUCCESS, value
        assert value.additional_info["pid"] != first


def test_close_ends_every_worker_process():
    """close() ends all worker processes; close() again is a no-op."""
    runner = ProcessPoolRunner(conformance.cost_of, n_workers=2)
    pids = runner.worker_pids()
    assert all(pids) and len(set(pids)) == 2
    runner.close()
    for pid in pids:
        assert not _alive(pid)
    runner.close()


def test_serial_with_limits_starts_its_worker_lazily():
    """A limited SerialRunner starts its worker process at the first trial, not before."""
    before = {p.pid for p in psutil.Process().children()}
    with SerialRunner(targets.whoami, walltime_limit=10) as runner:
        assert {p.pid for p in psutil.Process().children()} == before
        t0 = time.monotonic()
        pid = one(runner, {}).additional_info["pid"]
        first = time.monotonic() - t0
        t0 = time.monotonic()
        assert one(runner, {}).additional_info["pid"] == pid
        second = time.monotonic() - t0
    assert pid != os.getpid() and not _alive(pid)
    assert second < first


def test_thread_pool_drops_the_late_result_of_a_cancelled_inline_trial(tmp_path):
    """ThreadPoolRunner cannot stop an inline trial: close() reports it CANCELLED at once, and
    what it returns later is dropped, never yielded."""
    runner = ThreadPoolRunner(conformance.sleep_for, n_workers=1)
    info = TrialInfo({"s": 60.0, "id": 0, "dir": str(tmp_path)})
    runner.submit_trial(info)
    wait_until(lambda: (tmp_path / "started-0").exists(), 10, "the trial to start")
    t0 = time.monotonic()
    runner.close()
    assert time.monotonic() - t0 < 1.0
    [(got, value)] = list(runner.iter_results())
    assert got is info and value.status == StatusType.CANCELLED
    (tmp_path / "stop").touch()
    slot_threads = [t for t in runner._threads]
    wait_until(lambda: not any(t.is_alive() for t in slot_threads), 10, "the slot thread to end")
    assert not list(runner.iter_results()) and not runner.is_running()
    assert runner.count_available_workers() >= 0


def test_workers_die_with_the_driver(tmp_path):
    """Worker processes die when their driver is SIGKILLed (no orphans; PDEATHSIG)."""
    code = textwrap.dedent(f"""
        import sys
        sys.path[:0] = {sys.path!r}
        from runner import ProcessPoolRunner
        from runner.testing import cost_of
        r = ProcessPoolRunner(cost_of, n_workers=2)
        print(*r.worker_pids(), flush=True)
        import time
        time.sleep(60)
    """)
    driver = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(p) for p in driver.stdout.readline().split()]
        assert len(pids) == 2 and all(_alive(p) for p in pids)
    finally:
        driver.kill()
        driver.wait()
    for pid in pids:
        wait_until(lambda pid=pid: not _alive(pid), 5, f"worker {pid} to die with its driver")


def test_serial_worker_outlives_the_submitting_thread():
    """A limited SerialRunner's worker is started from a long-lived thread, so it does not die
    with the short-lived thread that first submitted (PDEATHSIG is per thread): the next trial,
    from another thread, runs on the same worker."""
    import threading

    with SerialRunner(targets.whoami, walltime_limit=10) as runner:
        pids = []
        thread = threading.Thread(target=lambda: pids.append(
            one(runner, {}).additional_info["pid"]))
        thread.start()
        thread.join()
        value = one(runner, {})
        assert value.status == StatusType.SUCCESS, value
        assert value.additional_info["pid"] == pids[0]


def test_death_is_noticed_without_pidfd(monkeypatch, tmp_path):
    """Where the platform has no pidfd, a waiting supervisor still notices its worker's death
    within one check interval, though a forked child holds the pipes open."""
    import runner._worker.process as supervisor

    monkeypatch.setattr(supervisor, "_pidfd", lambda pid: None)
    monkeypatch.setattr(supervisor, "DEATH_CHECK_MS", 200)
    pidfile = tmp_path / "child"
    with ProcessPoolRunner(targets.fork_then_exit, n_workers=1) as runner:
        t0 = time.monotonic()
        value = one(runner, {"pidfile": str(pidfile), "s": 60.0})
        assert time.monotonic() - t0 < 3.0
        assert value.status == StatusType.CRASHED, value
        assert "exited with code 3" in value.additional_info["error"]
    child = int(pidfile.read_text())
    wait_until(lambda: not _alive(child), 5, f"the forked child {child} to be killed")


def test_a_result_crosses_the_pipe_as_a_plain_tuple() -> None:
    """A `RawResult` travels as a plain tuple with an int status (no class to look up, no enum
    to rebuild in the driver) and is named again there, to the same ``TrialValue``."""
    import pickle

    from runner._core.returns import RawResult
    from runner._worker.child import encode_result

    raw = RawResult(StatusType.TIMEOUT, 1.5, 0.25, 0.125, 100.0, 100.25, {"note": "x"})
    data = encode_result(raw)
    assert b"RawResult" not in data and b"StatusType" not in data
    message = pickle.loads(data)
    assert type(message) is tuple and type(message[0]) is int
    value = RawResult._make(message).to_value()
    assert value == raw.to_value() and value.status is StatusType.TIMEOUT
