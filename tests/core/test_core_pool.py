"""``ProcessPoolRunner``'s own machinery: the caller reads results in ``wait()``, so what must
happen while nobody waits (queued trials moving, wall limits, dead workers replaced) is the
keeper thread's job; and several threads may use one runner at once."""

from __future__ import annotations

import os
import sys
import textwrap
import threading

import psutil
import targets

from runner import ProcessPoolRunner
from runner.testing import drain, wait_until
from trials import StatusType, TrialInfo


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _marks(folder) -> list[str]:
    """The trials that have started, by the marks ``targets.act`` leaves (not its temp files)."""
    return [name for name in os.listdir(folder) if not name.endswith(".tmp")]


def test_queued_trials_run_while_nobody_waits(tmp_path):
    """Six trials on two workers all run though the caller never calls into the runner."""
    infos = [TrialInfo({"id": i, "dir": str(tmp_path)}) for i in range(6)]
    with ProcessPoolRunner(targets.act, n_workers=2) as runner:
        for info in infos:
            runner.submit_trial(info)
        wait_until(lambda: len(_marks(tmp_path)) == 6, 30, "all six trials to run")
        results = drain(runner, 6)
    assert sorted(v.cost for _, v in results) == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert all(v.status == StatusType.SUCCESS for _, v in results)


def test_wall_limit_holds_while_nobody_waits(tmp_path):
    """A trial past its wall limit is killed on time though the caller is busy elsewhere, and
    comes back TIMEOUT when it next looks."""
    with ProcessPoolRunner(targets.act, n_workers=1, walltime_limit=1) as runner:
        runner.submit_trial(TrialInfo({"id": 0, "dir": str(tmp_path), "action": "sleep"}))
        wait_until(lambda: (tmp_path / "0").exists(), 30, "the trial to start")
        pid = int((tmp_path / "0").read_text())
        wait_until(lambda: not _alive(pid), 4, "the overrunning worker to be killed")
        [(_, value)] = drain(runner, 1)
    assert value.status == StatusType.TIMEOUT, value


def test_one_thread_waits_while_another_submits():
    """The results of trials submitted from one thread reach another thread blocked in
    wait(), each exactly once."""
    n = 60
    infos = [TrialInfo({"id": i}) for i in range(n)]
    got: list = []
    with ProcessPoolRunner(targets.act, n_workers=2) as runner:
        def collect() -> None:
            while len(got) < n:
                runner.wait(timeout=30)
                got.extend(runner.iter_results())

        collector = threading.Thread(target=collect)
        collector.start()
        for info in infos:
            runner.submit_trial(info)
        collector.join(timeout=60)
        assert not collector.is_alive()
    assert sorted(id(i) for i, _ in got) == sorted(id(i) for i in infos)
    assert all(v.status == StatusType.SUCCESS for _, v in got)


def test_queued_trials_crash_when_no_worker_can_start_again(tmp_path, monkeypatch):
    """A worker that dies cannot be replaced (its target's module has gone): the trial that
    killed it is CRASHED, and so is every queued one, with the reason, instead of waiting
    forever."""
    module = tmp_path / "vanishing_target.py"
    module.write_text(textwrap.dedent("""
        import os

        def target(config):
            if config.get("die"):
                os._exit(3)
            return 1.0
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    import vanishing_target

    try:
        with ProcessPoolRunner(vanishing_target.target, n_workers=1) as runner:
            module.unlink()
            runner.submit_trial(TrialInfo({"die": True}))
            runner.submit_trial(TrialInfo({}))
            runner.submit_trial(TrialInfo({}))
            results: list = []
            while len(results) < 3:  # wait() without a timeout must wake for these
                runner.wait()
                results.extend(runner.iter_results())
    finally:
        sys.modules.pop("vanishing_target", None)
    first, *queued = (v for _, v in results)
    assert first.status == StatusType.CRASHED and "exited with code 3" in \
        first.additional_info["error"]
    for value in queued:
        assert value.status == StatusType.CRASHED, value
        assert "no worker process could be started" in value.additional_info["error"]
