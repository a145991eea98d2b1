"""The three limits in detail (docs/limits.md): timing, what is killed, what a memory limit
counts (FAULTS A5, A7, B1-B3, C6)."""

from __future__ import annotations

import time

import psutil
import pytest
import targets

from runner import ProcessPoolRunner, SerialRunner
from runner.testing import drain, wait_until
from trials import StatusType, TrialInfo


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def one(runner, config, **info):
    runner.submit_trial(TrialInfo(config, **info))
    [(_, value)] = drain(runner, 1, timeout=60)
    return value


@pytest.mark.parametrize("cls", [ProcessPoolRunner, SerialRunner])
def test_walltime_acceptance(cls, tmp_path):
    """A 30 s sleeper under a 1 s wall limit is TIMEOUT in under 3 s, it and its child are gone,
    and the runner then runs the next trial normally."""
    kwargs = {"n_workers": 1} if cls is ProcessPoolRunner else {}
    with cls(targets.sleep_with_child, walltime_limit=1, **kwargs) as runner:
        pidfile = tmp_path / "pids"
        t0 = time.monotonic()
        value = one(runner, {"s": 30.0, "pidfile": str(pidfile)})
        took = time.monotonic() - t0
        assert value.status == StatusType.TIMEOUT, value
        assert value.additional_info["error"] == "walltime_limit of 1 s exceeded"
        assert 1.0 <= value.time < 3.0 and took < 3.0, (value.time, took)
        for pid in map(int, pidfile.read_text().split()):
            wait_until(lambda pid=pid: not _alive(pid), 2, f"process {pid} to be gone")
        value = one(runner, {"s": 0.0, "pidfile": str(tmp_path / "again")})
        assert value.status == StatusType.SUCCESS, value


def test_sigterm_ignored_costs_only_the_grace():
    """A target that ignores SIGTERM is SIGKILLed after ``grace``: limit + grace, not 5 s."""
    with SerialRunner(targets.ignore_sigterm_and_sleep, walltime_limit=1, grace=0.3) as runner:
        t0 = time.monotonic()
        value = one(runner, {"s": 30.0})
        took = time.monotonic() - t0
    assert value.status == StatusType.TIMEOUT
    assert took < 1.0 + 0.3 + 1.0, f"took {took:.2f} s"


def test_fractional_walltime_limit():
    """Wall limits are not rounded to whole seconds: 0.3 s means 0.3 s."""
    with SerialRunner(targets.act, walltime_limit=0.3) as runner:
        one(runner, {"action": "ok"})  # the worker process is started lazily
        t0 = time.monotonic()
        value = one(runner, {"action": "sleep", "s": 10.0})
        assert value.status == StatusType.TIMEOUT
        assert time.monotonic() - t0 < 1.0


def test_cpu_time_limit_is_timeout_naming_it():
    """A spinning target under cpu_time_limit=1 dies of SIGXCPU: TIMEOUT naming the CPU limit,
    about a second later; sleeping (no CPU) is not counted."""
    with ProcessPoolRunner(targets.spin, n_workers=1, cpu_time_limit=1) as runner:
        t0 = time.monotonic()
        value = one(runner, {"s": 20.0})
        took = time.monotonic() - t0
        assert value.status == StatusType.TIMEOUT, value
        assert "cpu_time_limit of 1 s exceeded (killed by SIGPROF)" in value.additional_info["error"]
        assert took < 10.0, f"took {took:.2f} s"
    with SerialRunner(targets.act, cpu_time_limit=0.3) as runner:
        value = one(runner, {"action": "sleep", "s": 0.6})
        assert value.status == StatusType.SUCCESS, value


def test_cpu_time_limit_is_precise(tmp_path):
    """cpu_time_limit=0.5 stops a spinning trial after half a second of its own CPU time, not at
    a whole-second boundary and not counting the worker's start-up."""
    progress = tmp_path / "cpu"
    with ProcessPoolRunner(targets.spin, n_workers=1, cpu_time_limit=0.5) as runner:
        value = one(runner, {"s": 60.0, "progress": str(progress)})
    assert value.status == StatusType.TIMEOUT, value
    used = float(progress.read_text())
    # the kernel charges CPU time by scheduler ticks, so under load a trial may be stopped a
    # little early; what matters is that it is not rounded to 0 or 1 s
    assert 0.3 <= used <= 0.6, f"stopped after {used:.3f} s of CPU"


@pytest.mark.slow
def test_cpu_time_backstop_when_the_target_swallows_sigprof(tmp_path):
    """A target that ignores SIGPROF is still stopped: TIMEOUT naming the CPU-time limit, by the
    watchdog's outside measurement (limit + 0.3 s) or by RLIMIT_CPU's SIGXCPU (up to two more
    CPU seconds), whichever comes first."""
    progress = tmp_path / "cpu"
    with ProcessPoolRunner(targets.spin_ignoring_sigprof, n_workers=1, cpu_time_limit=1) as r:
        value = one(r, {"s": 60.0, "progress": str(progress)})
    assert value.status == StatusType.TIMEOUT, value
    error = value.additional_info["error"]
    assert error.startswith("cpu_time_limit of 1 s exceeded"), error
    assert "killed by SIGXCPU" in error or "measured from outside" in error, error
    assert 1.0 <= float(progress.read_text()) <= 3.5


def test_cpu_limit_is_per_trial_not_per_worker():
    """CPU time used by earlier trials in the same worker does not count against the next."""
    with ProcessPoolRunner(targets.spin, n_workers=1, cpu_time_limit=1) as runner:
        for _ in range(3):
            value = one(runner, {"s": 0.6})
            assert value.status == StatusType.SUCCESS, value


def test_memory_limit_is_memoryout_and_driver_survives():
    """Allocating 2 GB under a 256 MB limit is MEMORYOUT within a second (FAULTS B1)."""
    with ProcessPoolRunner(targets.allocate, n_workers=1, memory_limit=256) as runner:
        one(runner, {"mb": 1})
        t0 = time.monotonic()
        value = one(runner, {"mb": 2048})
        assert value.status == StatusType.MEMORYOUT, value
        assert value.additional_info["error"] == "memory_limit of 256 MB exceeded (MemoryError)"
        assert time.monotonic() - t0 < 1.0
        assert one(runner, {"mb": 100}).status == StatusType.SUCCESS


def test_memory_limit_is_relative_to_the_worker():
    """The limit counts what the trial adds: a worker holding 64 MB of shared data still lets a
    trial allocate 40 MB under memory_limit=50."""
    blob = targets.CountingBlob(64 * 2**20)
    with ProcessPoolRunner(_allocate_with_blob, n_workers=1, memory_limit=50,
                           shared_data={"blob": blob}) as runner:
        assert one(runner, {"mb": 40}).status == StatusType.SUCCESS
        assert one(runner, {"mb": 100}).status == StatusType.MEMORYOUT


def _allocate_with_blob(config, blob):
    return targets.allocate(config)


def test_returning_a_large_result_is_not_memoryout():
    """Returning a 100 MB object under memory_limit=256 is SUCCESS: serialising the result is
    not the target's memory (FAULTS B3)."""
    with ProcessPoolRunner(targets.big_result, n_workers=1, memory_limit=256) as runner:
        value = one(runner, {"mb": 100})
    assert value.status == StatusType.SUCCESS, value.additional_info.get("error")
    assert len(value.additional_info["blob"]) == 100 * 2**20


@pytest.mark.slow
def test_result_over_the_cap_is_crashed_with_its_size():
    """A result over the 256 MB cap is CRASHED naming its size and the cap (FAULTS C6)."""
    with ProcessPoolRunner(targets.big_result, n_workers=1) as runner:
        value = one(runner, {"mb": 300})
        assert value.status == StatusType.CRASHED
        assert "300 MB pickled, over the 256 MB cap" in value.additional_info["error"]
        assert one(runner, {"mb": 1}).status == StatusType.SUCCESS


@pytest.mark.slow
def test_memory_limit_is_per_process_for_children():
    """Each child process a trial starts is capped on its own, not the trial's tree as a whole:
    4 children of 200 MB each under memory_limit=256 all succeed, a 2 GB child fails
    (FAULTS B2; the documented semantics)."""
    with ProcessPoolRunner(targets.children_allocate, n_workers=1, memory_limit=256) as runner:
        value = one(runner, {"n": 4, "mb": 200})
        assert value.status == StatusType.SUCCESS, value
        assert value.additional_info["ok"] == 4, value.additional_info
        value = one(runner, {"n": 1, "mb": 2048})
        assert value.additional_info["ok"] == 0, value.additional_info


@pytest.mark.slow
def test_worker_is_replaced_after_a_limit_and_after_a_death(tmp_path):
    """After TIMEOUT, MEMORYOUT or a death the worker process is replaced (lazily, at the next
    trial); after SUCCESS or CRASHED-by-exception it is reused."""
    with ProcessPoolRunner(targets.act, n_workers=1, walltime_limit=0.5, memory_limit=256) as r:
        def pid_after(config):
            """The worker's pid once a trial of ``config`` and a normal one have run."""
            one(r, config)
            one(r, {"action": "ok", "id": 0})
            return _pid(r)

        first = _pid(r)
        assert pid_after({"action": "raise", "id": 1}) == first
        assert pid_after({"action": "ok", "id": 1}) == first
        second = pid_after({"action": "sleep", "s": 5, "id": 1})
        assert second != first
        third = pid_after({"action": "exit", "id": 1})
        assert third != second
        with ProcessPoolRunner(targets.allocate, n_workers=1, memory_limit=256) as m:
            before = _pid(m)
            one(m, {"mb": 2048})
            one(m, {"mb": 1})
            assert _pid(m) != before


def _pid(runner):
    [pid] = runner.worker_pids()
    return pid
