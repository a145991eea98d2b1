"""FAULTS F: distributed faults on real dask processes (a worker SIGKILLed under a trial, a trial
over its worker's memory budget, an unreachable scheduler, workers or the scheduler gone mid-run),
driven through the optimization loop."""

from __future__ import annotations

import logging
import os
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import dask_helpers as h
import faults_targets as ft
import pytest

from faults.conftest import Deadline, ListOptimizer, alive, one, runs
from runner import OptimizationLoop, PreflightError
from trials import History, StatusType, read_records

distributed = pytest.importorskip("distributed")
from runner import DaskRunner  # noqa: E402 - needs distributed


@pytest.fixture
def cluster() -> Any:
    """Start real ``dask scheduler``/``dask worker`` processes on a free port; every one is
    SIGKILLed and reaped at the end."""
    cluster = h.ProcessCluster()
    try:
        yield cluster
    finally:
        cluster.close()


executions = h.executions


def kill_worker_running(folder: Path, i: int, nth: int = 1) -> int:
    """SIGKILL the dask worker running the ``nth`` execution of trial ``i``."""
    def marker() -> Any:
        found = sorted(folder.glob(f"{i}.*"), key=lambda p: p.stat().st_mtime_ns)
        return found[nth - 1] if len(found) >= nth else None

    pid = int(h.wait_for(marker, 60, f"execution {nth} of trial {i}").read_text().split()[0])
    os.kill(pid, signal.SIGKILL)
    return pid


@pytest.mark.slow
def test_F1_worker_killed(cluster, tmp_path) -> None:
    """F1: a dask worker SIGKILLed under a trial: the trial re-runs on another worker as a
    requeue (not a retry: one submit in the journal) and succeeds; a trial whose worker is lost
    more than max_requeues times is CRASHED "worker lost"; every other trial finishes normally
    and the loop never raises."""
    cluster.scheduler()
    for name in ("w1", "w2"):
        cluster.worker(name)
    cluster.wait_workers(2)
    marks, journal = tmp_path / "marks", tmp_path / "study.jsonl"
    marks.mkdir()
    modes = {3: ("once", 60.0), 8: ("ok", 60.0)}
    configs = [{"i": i, "dir": str(marks), "mode": modes.get(i, ("ok", 0.1))[0],
                "sleep": modes.get(i, ("ok", 0.1))[1]} for i in range(12)]
    with DaskRunner(h.misbehave, client=cluster.address, max_requeues=1) as runner:
        loop = OptimizationLoop(ListOptimizer(configs), runner, journal=journal,
                                raise_if_retries_exceeded=False).start()
        kill_worker_running(marks, 3)
        cluster.worker("w3")
        kill_worker_running(marks, 8, 1)
        cluster.worker("w4")
        kill_worker_running(marks, 8, 2)
        cluster.worker("w5")
        loop.block_until_done(timeout=120)
    assert loop.status() == "finished"
    got = {info.config["i"]: value for info, value in loop.history}
    assert sorted(got) == list(range(12))
    assert got[3].status == StatusType.SUCCESS and got[3].additional_info["requeues"] == 1
    assert got[8].status == StatusType.CRASHED
    assert got[8].additional_info["error"].startswith("worker lost 2 times (max_requeues=1)")
    assert all(got[i].status == StatusType.SUCCESS for i in range(12) if i != 8)
    ran = executions(marks)
    # A trial that finished on a worker killed before its result reached the client is re-run by
    # dask itself (the result died with the worker): at most one such neighbour per kill. Under
    # load, trial 3's own re-run can be that neighbour of a later kill (seen with the cores busy).
    assert ran[8] == 2 and ran[3] in (2, 3), ran
    others = [ran[i] for i in range(12) if i not in (3, 8)]
    assert set(others) <= {1, 2} and others.count(2) + ran[3] - 2 <= 3, ran
    submits = Counter(r["trial"] for r in read_records(journal) if r["type"] == "submit")
    assert set(submits.values()) == {1}, "a lost worker was counted as a retry"


@pytest.fixture(scope="module")
def small_workers() -> Any:
    """A LocalCluster of one nanny-managed worker with a 300 MB memory budget."""
    before = {p.pid for p in h.dask_descendants()}
    c = distributed.LocalCluster(n_workers=1, threads_per_worker=1, memory_limit="300MB",
                                 dashboard_address=None, silence_logs=logging.ERROR,
                                 scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
    client = distributed.Client(c, set_as_default=False)
    ours = [p for p in h.dask_descendants() if p.pid not in before]
    try:
        yield client
    finally:
        client.close()
        c.close()
        h.wait_for(lambda: not any(alive(p.pid) for p in ours), 20,
                   "the cluster's processes to exit")


def _over_budget(client: Any, tmp_path: Path):  # noqa: ANN202
    pids = client.run(os.getpid)
    with DaskRunner(ft.hog, client=client) as runner:
        loop = OptimizationLoop(ListOptimizer([{"id": 0, "dir": str(tmp_path), "mb": 700,
                                                "hold": 1.0}]), runner,
                                raise_if_retries_exceeded=False)
        loop.run()
    [(_, value)] = list(loop.history)
    return value, pids, client.run(os.getpid)


@pytest.mark.slow
def test_F2_trial_over_worker_memory(small_workers, tmp_path) -> None:
    """F2: a trial using 700 MB on a dask worker whose budget is 300 MB is MEMORYOUT with the
    memory evidence after exactly one attempt; the dask worker is neither killed nor
    restarted, and the next trial runs on it."""
    value, before, after = _over_budget(small_workers, tmp_path)
    assert value.status == StatusType.MEMORYOUT, value
    assert "over its share of the dask worker's memory_limit" in value.additional_info["error"]
    assert runs(tmp_path, 0) == 1 and "requeues" not in value.additional_info
    assert after == before, "the dask worker was restarted"
    with DaskRunner(ft.hog, client=small_workers) as runner:
        assert one(runner, {"id": 1, "dir": str(tmp_path), "mb": 10}).status \
            == StatusType.SUCCESS


def test_F3_unreachable_scheduler() -> None:
    """F3: a scheduler address nobody listens on fails within the connect timeout with a
    PreflightError naming the address; a closed Client is refused too."""
    address = f"tcp://127.0.0.1:{h.free_port()}"
    clock = Deadline()
    with pytest.raises(PreflightError, match=f"cannot connect to the dask scheduler at "
                                             f"'{address}' within connect_timeout=1 s"):
        DaskRunner(ft.noop, client=address, connect_timeout=1)
    assert clock.elapsed < 3.0, f"failed after {clock.elapsed:.1f} s"


@pytest.mark.slow
def test_F4_all_workers_leave_then_return(cluster, tmp_path) -> None:
    """F4: when the only worker dies mid-run, the results already in are kept and the trial in
    flight re-runs once a worker joins again; the loop finishes with every trial."""
    cluster.scheduler()
    cluster.worker("w1")
    cluster.wait_workers(1)
    marks, journal = tmp_path / "marks", tmp_path / "study.jsonl"
    marks.mkdir()
    configs = [{"i": i, "dir": str(marks), "mode": "once" if i == 2 else "ok",
                "sleep": 60.0 if i == 2 else 0.05} for i in range(5)]
    with DaskRunner(h.misbehave, client=cluster.address, worker_timeout=60) as runner:
        loop = OptimizationLoop(ListOptimizer(configs), runner, journal=journal).start()
        kill_worker_running(marks, 2)
        h.wait_for(lambda: runner.meta["n_workers"] == 0, 30, "the scheduler to drop w1")
        kept = [info.config["i"] for info, _ in History.load(journal)]
        assert kept == [0, 1]
        cluster.worker("w2")
        loop.block_until_done(timeout=120)
    got = {info.config["i"]: value for info, value in loop.history}
    assert all(v.status == StatusType.SUCCESS for v in got.values()) and len(got) == 5
    assert got[2].additional_info["requeues"] == 1
    assert executions(marks) == Counter({0: 1, 1: 1, 2: 2, 3: 1, 4: 1})


def _workers_gone_for_good(cluster, tmp_path: Path):  # noqa: ANN202
    cluster.scheduler()
    cluster.worker("w1")
    cluster.wait_workers(1)
    marks = tmp_path / "marks"
    marks.mkdir()
    configs = [{"i": i, "dir": str(marks), "mode": "ok", "sleep": 60.0} for i in range(3)]
    runner = DaskRunner(h.misbehave, client=cluster.address, worker_timeout=2)
    loop = OptimizationLoop(ListOptimizer(configs), runner,
                            raise_if_retries_exceeded=False).start()
    kill_worker_running(marks, 0)
    return loop, runner, Deadline()


@pytest.mark.slow
def test_F4_workers_never_return(cluster, tmp_path) -> None:
    """F4: with no worker back within worker_timeout=2, the trial in flight is CRASHED with an
    error naming the scheduler and the timeout, within a few seconds."""
    loop, runner, clock = _workers_gone_for_good(cluster, tmp_path)
    try:
        h.wait_for(lambda: len(loop.history) >= 1, 30, "the trial in flight to be settled")
        took = clock.elapsed
    finally:
        loop.cancel()
        runner.close()
    assert took < 10, f"the trial was settled {took:.1f} s after the last worker died"
    [(_, value)] = list(loop.history)[:1]
    assert value.status == StatusType.CRASHED
    assert "no dask worker at tcp://127.0.0.1" in value.additional_info["error"]
    assert "worker_timeout=2 s" in value.additional_info["error"]


@pytest.mark.slow
def test_F4_loop_ends_when_no_worker_returns(cluster, tmp_path) -> None:
    """F4: with every worker gone for good the loop ends within a bounded time instead of
    waiting for ever: the trial in flight and the ones asked after it are CRASHED, naming the
    missing workers."""
    loop, runner, clock = _workers_gone_for_good(cluster, tmp_path)
    try:
        loop.block_until_done(timeout=15)
    except TimeoutError:
        pytest.fail(f"the loop was still waiting {clock.elapsed:.0f} s after the last worker "
                    "died")
    finally:
        loop.cancel()
        runner.close()
    assert loop.status() == "finished"
    assert [v.status for _, v in loop.history] == [StatusType.CRASHED] * 3
    assert all("no dask worker" in v.additional_info["error"] for _, v in loop.history)


def _kill_scheduler_mid_run(cluster, tmp_path: Path, journal: Path):  # noqa: ANN202
    cluster.scheduler()
    cluster.worker("w1")
    cluster.wait_workers(1)
    marks = tmp_path / "marks"
    marks.mkdir(exist_ok=True)
    configs = [{"i": i, "dir": str(marks), "mode": "once" if i == 2 else "ok",
                "sleep": 30.0 if i == 2 else 0.05} for i in range(5)]
    runner = DaskRunner(h.misbehave, client=cluster.address, worker_timeout=5,
                        connect_timeout=2)
    loop = OptimizationLoop(ListOptimizer(configs), runner, journal=journal,
                            raise_if_retries_exceeded=False).start()
    h.wait_for(lambda: list(marks.glob("2.*")), 60, "trial 2 to start")
    h.kill_tree(cluster.scheduler_proc)
    return loop, runner, marks, configs


@pytest.mark.slow
def test_F4_scheduler_dies(cluster, tmp_path) -> None:
    """F4: when the scheduler dies mid-run, the completed results are kept and the trial in
    flight ends with a clear error after a bounded time (the loop does not hang)."""
    journal = tmp_path / "study.jsonl"
    loop, runner, _, _ = _kill_scheduler_mid_run(cluster, tmp_path, journal)
    try:
        loop.block_until_done(timeout=45)
    except TimeoutError:
        pytest.fail("the loop was still waiting 45 s after the scheduler died")
    finally:
        loop.cancel()
        runner.close()
    got = {info.config["i"]: value for info, value in loop.history}
    assert [got[i].status for i in (0, 1)] == [StatusType.SUCCESS] * 2
    assert got[2].status == StatusType.CRASHED and "scheduler" in got[2].additional_info["error"]


@pytest.mark.slow
def test_F4_resume_on_a_new_cluster(cluster, tmp_path) -> None:
    """F4: after the scheduler died mid-run (the study cancelled), the study resumes on a new
    cluster from its journal: finished trials are kept and not re-run, the rest run once."""
    journal = tmp_path / "study.jsonl"
    loop, runner, marks, configs = _kill_scheduler_mid_run(cluster, tmp_path, journal)
    loop.cancel()
    loop.block_until_done(timeout=30)
    runner.close()
    before = executions(marks)
    finished = {info.config["i"] for info, _ in History.load(journal)}
    assert finished == {0, 1}
    cluster.port = h.free_port()
    cluster.address = f"tcp://127.0.0.1:{cluster.port}"
    cluster.scheduler()
    cluster.worker("w2")
    cluster.wait_workers(1)
    submitted = {r["info"]["config"]["i"] for r in read_records(journal) if r["type"] == "submit"}
    assert submitted == {0, 1, 2}
    left = [c for c in configs if c["i"] not in submitted]  # trial 2 comes from the journal
    with DaskRunner(h.misbehave, client=cluster.address) as runner:
        again = OptimizationLoop(ListOptimizer(left), runner, journal=journal)
        again.run()
    got = {info.config["i"]: value for info, value in History.load(journal)}
    assert sorted(got) == [0, 1, 2, 3, 4]
    assert all(v.status == StatusType.SUCCESS for v in got.values())
    after = executions(marks)
    assert all(after[i] == before[i] == 1 for i in finished)
    assert after[2] == before[2] + 1
