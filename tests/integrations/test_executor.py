"""``ExecutorRunner`` on executors users already have: threads, loky, a dask client's executor,
and ``mpi4py.futures.MPIPoolExecutor`` under ``mpiexec -n 3``. (The contract suite covers it
over loky: ``tests/contract/conftest.py``.)"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import targets

from runner import ExecutorRunner
from runner.testing import cost_of, drain, raise_value_error, sleep_for
from trials import StatusType, TrialInfo

pytestmark = pytest.mark.integration

MPI_STUDY = os.path.join(os.path.dirname(__file__), "mpi_study.py")


class RecordingExecutor(ThreadPoolExecutor):
    """A real thread pool that keeps the pickled size and types of what each submit carried."""

    def __init__(self, max_workers: int) -> None:
        super().__init__(max_workers=max_workers)
        self.carried: list[tuple[int, list[str]]] = []

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        self.carried.append((len(pickle.dumps((fn, args))), [type(a).__name__ for a in args]))
        return super().submit(fn, *args, **kwargs)


def test_thread_executor_runs_trials_and_ships_no_runner() -> None:
    """On a thread pool: results come back with the usual statuses; each submit carries a
    module-level function, the runner id, the payload bytes and the info, nothing more."""
    executor = RecordingExecutor(2)
    with ExecutorRunner(cost_of, executor, shutdown_executor=True) as runner:
        assert runner.count_available_workers() == 2
        infos = [TrialInfo({"x": float(i)}) for i in range(5)]
        for info in infos:
            runner.submit_trial(info)
        got = dict((id(i), v) for i, v in drain(runner, 5))
    assert [got[id(i)].cost for i in infos] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert all(types == ["str", "bytes", "TrialInfo"] for _, types in executor.carried)
    assert max(size for size, _ in executor.carried) < 4096


def test_at_most_n_workers_on_the_executor() -> None:
    """n_workers caps what is on the executor at once; the rest wait in the runner."""
    executor = RecordingExecutor(4)
    with ExecutorRunner(sleep_for, executor, n_workers=1, shutdown_executor=True) as runner:
        for i in range(3):
            runner.submit_trial(TrialInfo({"id": i, "s": 0.3}))
        assert len(executor.carried) <= 1 and runner.count_available_workers() == 0
        assert len(drain(runner, 3)) == 3


def test_raising_target_is_crashed_with_traceback() -> None:
    """A1 on an executor: CRASHED with the traceback, and the executor goes on."""
    with ThreadPoolExecutor(1) as executor, ExecutorRunner(raise_value_error, executor) as runner:
        runner.submit_trial(TrialInfo({"x": 1.0}))
        [(_, value)] = drain(runner, 1)
        assert value.status == StatusType.CRASHED
        assert "ValueError" in value.additional_info["traceback"]


def test_bad_arguments_are_named() -> None:
    """G2: a non-executor, a worker count it cannot read, n_workers=0 are errors naming them."""
    with pytest.raises(TypeError, match="executor must be a concurrent.futures.Executor"):
        ExecutorRunner(cost_of, object())  # type: ignore[arg-type]

    class Opaque:
        def submit(self, fn: Any, *args: Any) -> Any:
            raise AssertionError("never called")

    with pytest.raises(TypeError, match="pass n_workers="):
        ExecutorRunner(cost_of, Opaque())  # type: ignore[arg-type]
    with ThreadPoolExecutor(1) as executor:
        with pytest.raises(ValueError, match="n_workers must be >= 1, got 0"):
            ExecutorRunner(cost_of, executor, n_workers=0)
        with pytest.raises(TypeError, match="shutdown_executor must be a bool"):
            ExecutorRunner(cost_of, executor, shutdown_executor="yes")  # type: ignore[arg-type]


def test_executor_left_open_unless_asked() -> None:
    """close() leaves the user's executor usable; shutdown_executor=True shuts it down."""
    executor = ThreadPoolExecutor(1)
    ExecutorRunner(cost_of, executor).close()
    assert executor.submit(int, "3").result(timeout=5) == 3
    ExecutorRunner(cost_of, executor, shutdown_executor=True).close()
    with pytest.raises(RuntimeError):
        executor.submit(int, "3")


def test_shut_down_executor_gives_crashed_trials() -> None:
    """An executor that refuses work makes the trial CRASHED naming why; nothing raises."""
    executor = ThreadPoolExecutor(1)
    executor.shutdown()
    with ExecutorRunner(cost_of, executor) as runner:
        runner.submit_trial(TrialInfo({"x": 1.0}))
        [(_, value)] = drain(runner, 1)
    assert value.status == StatusType.CRASHED
    assert "the executor could not run the trial" in value.additional_info["error"]


def test_loky_dead_worker_without_limit_is_crashed() -> None:
    """Without a limit the isolation is loky's: a trial that kills its worker is CRASHED with
    loky's error, and the runner does not raise."""
    loky = pytest.importorskip("loky")
    executor = loky.ProcessPoolExecutor(max_workers=1)
    with ExecutorRunner(targets.act, executor, shutdown_executor=True) as runner:
        runner.submit_trial(TrialInfo({"action": "exit"}))
        [(_, value)] = drain(runner, 1, timeout=60)
    assert value.status == StatusType.CRASHED
    assert "the executor could not run the trial" in value.additional_info["error"]


def test_loky_limited_dead_trial_is_isolated() -> None:
    """With a limit the trial runs in a supervised process inside the loky worker: os._exit(3)
    is CRASHED with exit code 3 and the next trial runs on the same loky worker."""
    loky = pytest.importorskip("loky")
    executor = loky.ProcessPoolExecutor(max_workers=1)
    with ExecutorRunner(targets.act, executor, shutdown_executor=True,
                        walltime_limit=60) as runner:
        runner.submit_trial(TrialInfo({"action": "exit"}))
        [(_, value)] = drain(runner, 1, timeout=60)
        assert value.status == StatusType.CRASHED
        assert "exited with code 3" in value.additional_info["error"]
        runner.submit_trial(TrialInfo({"id": 5}))
        [(_, value)] = drain(runner, 1, timeout=60)
        assert value.status == StatusType.SUCCESS, value


def test_dask_client_executor(dask_client: Any) -> None:
    """A dask client's get_executor() works (it has no worker count: n_workers is given)."""
    with ExecutorRunner(cost_of, dask_client.get_executor(), n_workers=2) as runner:
        for i in range(4):
            runner.submit_trial(TrialInfo({"x": float(i)}))
        assert sorted(v.cost for _, v in drain(runner, 4, timeout=60)) == [0.0, 1.0, 2.0, 3.0]


def _mpi_missing() -> str | None:
    if shutil.which("mpiexec") is None:
        return "mpiexec is not installed (Debian: apt-get install openmpi-bin; see .ci/setup-mpi)"
    try:
        import mpi4py  # noqa: F401
    except ImportError as exc:
        return f"mpi4py is not installed ({exc}); pip install 'trialrunner[mpi]'"
    return None


def test_mpi_pool_executor() -> None:
    """Under mpiexec -n 3 (two worker ranks): results, a CRASHED with its error, and a TIMEOUT
    under a wall-time limit (the supervised process runs inside the MPI rank)."""
    missing = _mpi_missing()
    if missing:
        print(f"SKIPPED test_mpi_pool_executor: {missing}", file=sys.stderr)
        pytest.skip(missing)
    root = ["--allow-run-as-root"] if os.geteuid() == 0 else []
    proc = subprocess.run(["mpiexec", *root, "--oversubscribe", "-n", "3", sys.executable, "-m",
                           "mpi4py.futures", MPI_STUDY], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    first, limited = lines
    assert first["workers"] == 2
    by_x = {x: (status, cost, error) for x, status, cost, error in first["results"]}
    assert by_x[3] == (StatusType.SUCCESS, 9.0, "")
    assert by_x[13][0] == StatusType.CRASHED and "thirteen" in by_x[13][2]
    assert sorted(map(tuple, limited["limited"])) == [(4, StatusType.SUCCESS, 16.0),
                                                      (5, StatusType.TIMEOUT, 99.0)]


def test_close_on_a_borrowed_executor_reports_cancelled(tmp_path) -> None:
    """close() on an executor the runner does not own: the running and the queued trials come
    back CANCELLED once each, the late result is dropped, and the executor stays usable."""
    from runner.testing import wait_until

    with ThreadPoolExecutor(1) as executor:
        runner = ExecutorRunner(sleep_for, executor)
        infos = [TrialInfo({"id": i, "s": 30.0, "dir": str(tmp_path)}) for i in range(2)]
        for info in infos:
            runner.submit_trial(info)
        wait_until(lambda: (tmp_path / "started-0").exists(), 10, "the first trial to start")
        runner.close()
        results = list(runner.iter_results())
        assert sorted(id(i) for i, _ in results) == sorted(id(i) for i in infos)
        assert all(v.status == StatusType.CANCELLED for _, v in results)
        (tmp_path / "stop").touch()  # let the thread that cannot be stopped end
        assert executor.submit(int, "4").result(timeout=10) == 4
        assert list(runner.iter_results()) == [] and not runner.is_running()
