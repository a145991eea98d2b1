"""Issue 14 items 7-9: a subclass's run override that misses an attribute says why; meta names
the overridden run; an unclosed runner is named in a ResourceWarning at exit and closed quietly;
a replaced worker is logged."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap

import targets

from runner import ProcessPoolRunner
from runner.testing import drain
from trials import StatusType, TrialInfo


class LateAttributeRunner(ProcessPoolRunner):
    def __init__(self) -> None:
        super().__init__(n_workers=1)
        self.center = 2.0  # after super().__init__: does not travel

    def run(self, config, instance=None, budget=None, seed=None):  # type: ignore[override]
        return (config["x"] - self.center) ** 2


def test_late_attribute_in_run_override_names_the_cause() -> None:
    """An attribute set after super().__init__() is missing in the worker: the trial is
    CRASHED with an error that says to set it before super().__init__()."""
    with LateAttributeRunner() as runner:
        runner.submit_trial(TrialInfo({"x": 1.0}))
        [(_, value)] = drain(runner, 1)
        assert runner.meta["target"] == "LateAttributeRunner.run"
    assert value.status == StatusType.CRASHED
    assert "self.center" in value.additional_info["error"]
    assert "before calling super().__init__()" in value.additional_info["error"]


def test_an_unclosed_runner_is_warned_about_and_closed_at_exit() -> None:
    """A ProcessPoolRunner never closed: at exit a ResourceWarning names it, its workers end,
    and nothing else is printed."""
    code = textwrap.dedent("""
        import warnings
        warnings.simplefilter("always", ResourceWarning)
        import targets
        from runner import ProcessPoolRunner
        runner = ProcessPoolRunner(targets.whoami, n_workers=1)
        print(runner.worker_pids()[0], flush=True)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=str(__import__("pathlib").Path(targets.__file__).parent))
    assert proc.returncode == 0, proc.stderr
    assert "ProcessPoolRunner was never closed: closing it at exit" in proc.stderr
    assert "Traceback" not in proc.stderr
    pid = int(proc.stdout.split()[0])
    import psutil

    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_a_replaced_worker_is_logged(caplog) -> None:
    """A worker that died is replaced, and the replacement is logged at INFO under runner."""
    with caplog.at_level(logging.INFO, logger="runner"):
        with ProcessPoolRunner(targets.act, n_workers=1) as runner:
            for action in ("exit", "ok"):
                runner.submit_trial(TrialInfo({"action": action, "id": 1}))
            drain(runner, 2)
    assert any("worker process was replaced" in r.getMessage() for r in caplog.records)


def test_an_unclosed_dask_runner_shuts_down_quietly() -> None:
    """A DaskRunner never closed: at exit it is closed before dask's own exit handlers, so no
    'cannot schedule new futures after shutdown' is printed."""
    code = textwrap.dedent("""
        import targets
        from runner import DaskRunner
        from trials import TrialInfo
        runner = DaskRunner(targets.whoami, n_workers=1)
        runner.submit_trial(TrialInfo({}))
        runner.wait(60)
        print("ok", flush=True)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=str(__import__("pathlib").Path(targets.__file__).parent))
    assert proc.returncode == 0, proc.stderr
    assert "cannot schedule new futures after shutdown" not in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
