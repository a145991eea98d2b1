"""DaskRunner on real dask clusters: a LocalCluster shared by the fast tests, and real
``dask scheduler``/``dask worker`` processes (killed with SIGKILL) in the slow ones."""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psutil
import pytest

from runner import DaskRunner, LimitError, PreflightError, RunnerClosedError
from runner._backends.dask.stream import STREAM_DEPTH
from runner._backends.dask.task import cached_pids
from trials import StatusType, TrialInfo, TrialValue

try:
    import dask_helpers as h
except ImportError:  # tests/ imported as a package
    from tests import dask_helpers as h  # type: ignore[no-redef]

distributed = pytest.importorskip("distributed")

Results = list[tuple[TrialInfo, TrialValue]]


def drain(runner: DaskRunner, timeout: float = 60.0) -> Results:
    """Collect results until nothing is queued or executing (fails after ``timeout``)."""
    return h.drain(runner, timeout)


markers = h.executions


def allowed_failures(client: Any) -> int:
    return int(client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.allowed_failures))


@pytest.fixture(scope="module")
def client() -> Any:
    """Two nanny-managed (daemonic) worker processes, two threads and one GPU tag each."""
    others = frozenset(p.pid for p in h.dask_descendants())  # e.g. a session cluster's
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=2, processes=True, dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}, silence_logs=logging.ERROR,
        resources={"GPU": 1})
    c = distributed.Client(cluster, set_as_default=False)
    try:
        yield c
    finally:
        c.close()
        cluster.close()
        h.wait_for(lambda: not h.dask_descendants(others), 20,
                   "the cluster's processes to exit")


# -- pre-flight ----------------------------------------------------------------------------------

BAD_ARGS = [
    ({"max_requeues": -1}, ValueError, "max_requeues must be an int >= 0"),
    ({"max_requeues": True}, ValueError, "max_requeues"),
    ({"n_workers": 0}, ValueError, "n_workers must be >= 1"),
    ({"n_workers": "2"}, TypeError, "n_workers must be a positive int"),
    ({"connect_timeout": 0}, ValueError, "connect_timeout must be a number of seconds > 0"),
    ({"worker_timeout": -1.0}, ValueError, "worker_timeout"),
    ({"resources": {"GPU": 0}}, ValueError, "resources must map names to amounts > 0"),
    ({"resources": ["GPU"]}, TypeError, "resources must be a mapping"),
    ({"client": 42}, TypeError, "client must be None, a scheduler address string"),
    ({"client": "tcp://127.0.0.1:1", "n_workers": 2}, ValueError, "n_workers applies only"),
    ({"client": ""}, ValueError, "client must be a scheduler address"),
    ({"memory_limit": 1}, LimitError, "memory_limit=1 MB cannot be honoured"),
]


@pytest.mark.parametrize(("kwargs", "error", "match"), BAD_ARGS)
def test_bad_arguments_fail_at_construction(kwargs: dict[str, Any], error: type,
                                            match: str) -> None:
    """Invalid keywords raise a clear error naming the argument, before any cluster starts."""
    with pytest.raises(error, match=match):
        DaskRunner(h.square, **kwargs)


def test_unpicklable_target_fails_before_connecting() -> None:
    """A target that cannot be pickled is a PreflightError, and no cluster is started."""
    lock = threading.Lock()
    with pytest.raises(PreflightError, match="cannot travel to worker processes"):
        DaskRunner(lambda config: bool(lock), client="tcp://127.0.0.1:1")


def test_unreachable_scheduler_is_a_clear_error_within_the_timeout() -> None:
    """F3: an address nobody listens on fails within connect_timeout, naming the address."""
    address = f"tcp://127.0.0.1:{h.free_port()}"
    start = time.monotonic()
    with pytest.raises(PreflightError, match=f"cannot connect to the dask scheduler at "
                                             f"'{address}' within connect_timeout=2 s"):
        DaskRunner(h.square, client=address, connect_timeout=2)
    assert time.monotonic() - start < 5


# -- on the shared LocalCluster ------------------------------------------------------------------


def test_trials_run_once_with_shared_data_scattered_once(client: Any) -> None:
    """20 trials succeed, each yielded once; shared_data is one scattered key on every worker."""
    size = 4 * 1024 * 1024
    blob = b"blob" + bytes(size - 4)
    assert allowed_failures(client) == 3
    with DaskRunner(h.check_shared, client=client, shared_data={"blob": blob}) as runner:
        assert allowed_failures(client) == 0  # a lost worker must reach the runner
        assert runner.count_available_workers() == 4
        for i in range(20):
            runner.submit_trial(TrialInfo({"x": i, "size": size}))
        results = drain(runner)
        shipments = client.run_on_scheduler(lambda dask_scheduler: [
            k for k in dask_scheduler.tasks if str(k).startswith("Shipment-")])
        processes = client.run(cached_pids, runner._id)
        assert runner.meta["n_workers"] == 2 and runner.meta["backend"] == "dask"
    assert sorted(v.cost for _, v in results) == list(range(20))
    assert all(v.status == StatusType.SUCCESS for _, v in results), results
    assert len(shipments) == 1  # scattered once, not per trial
    assert all(1 <= len(pids) <= 2 for pids in processes.values())  # one per worker thread
    assert allowed_failures(client) == 3  # restored when the last runner closed
    assert client.status == "running"  # a Client we were given is left open


def test_many_trials_submitted_at_once_each_complete_once(client: Any) -> None:
    """G1: 200 short trials submitted at once all complete, each yielded exactly once, and
    count_available_workers stays 0 until the queue drains."""
    with DaskRunner(h.square, client=client) as runner:
        for i in range(200):
            runner.submit_trial(TrialInfo({"x": i}))
        assert runner.count_available_workers() == 0 and runner.is_running()
        results = drain(runner)
        # streaming short trials: each of the 4 slots offers a place running, one waiting
        assert runner.count_available_workers() == 4 * STREAM_DEPTH
    assert sorted(info.config["x"] for info, _ in results) == list(range(200))
    assert all(v.status == StatusType.SUCCESS and v.cost == info.config["x"] ** 2
               for info, v in results)


def test_trial_that_kills_its_process_is_crashed_once_and_the_worker_lives(
        client: Any, tmp_path: Path) -> None:
    """A2: os._exit(3) and SIGKILL are CRASHED after one execution; the dask workers survive."""
    pids = client.run(os.getpid)
    modes = ["exit", "kill"] + ["ok"] * 6
    with DaskRunner(h.misbehave, client=client) as runner:
        for i, mode in enumerate(modes):
            runner.submit_trial(TrialInfo({"i": i, "mode": mode, "dir": str(tmp_path),
                                           "sleep": 0.1}))
        results = {info.config["i"]: value for info, value in drain(runner)}
        runner.submit_trial(TrialInfo({"i": 8, "mode": "ok", "dir": str(tmp_path)}))
        after = drain(runner)
    assert results[0].status == StatusType.CRASHED
    assert "exited with code 3" in results[0].additional_info["error"]
    assert results[1].status == StatusType.CRASHED
    assert "SIGKILL" in results[1].additional_info["error"]
    assert all(results[i].status == StatusType.SUCCESS for i in range(2, 8))
    assert not any("requeues" in v.additional_info for v in results.values())
    assert markers(tmp_path) == Counter(range(9))  # every trial executed exactly once
    assert [v.status for _, v in after] == [StatusType.SUCCESS]
    assert client.run(os.getpid) == pids  # no dask worker was lost or restarted


def test_limits_work_on_daemonic_dask_workers(client: Any) -> None:
    """B5: walltime and memory limits are enforced inside daemonic (nanny) dask workers."""
    assert all(client.run(lambda: multiprocessing.current_process().daemon).values())
    with DaskRunner(h.sleeper, client=client, walltime_limit=1) as runner:
        start = time.monotonic()
        runner.submit_trial(TrialInfo({"t": 30}))
        (_, value), = drain(runner)
        took = time.monotonic() - start
    assert value.status == StatusType.TIMEOUT and took < 3.0, (value, took)
    assert "walltime_limit of 1 s" in value.additional_info["error"]
    with DaskRunner(h.allocate, client=client, memory_limit=256) as runner:
        runner.submit_trial(TrialInfo({"mb": 2048}))
        runner.submit_trial(TrialInfo({"mb": 16}))
        statuses = {info.config["mb"]: v.status for info, v in drain(runner)}
    assert statuses == {2048: StatusType.MEMORYOUT, 16: StatusType.SUCCESS}


def test_close_cancels_trials_in_flight_and_leaves_the_client_open(client: Any) -> None:
    """close() reports executing and queued trials CANCELLED, kills their processes, keeps the
    given Client open, and refuses new trials."""
    runner = DaskRunner(h.sleeper, client=client)
    for _ in range(6):  # 4 slots: 4 executing, 2 queued
        runner.submit_trial(TrialInfo({"t": 60}))
    running = h.wait_for(lambda: [p for ps in client.run(cached_pids, runner._id).values()
                                  for p in ps], 30, "the trials to start")
    assert runner.count_available_workers() == 0
    start = time.monotonic()
    runner.close()
    assert time.monotonic() - start < 5
    results = list(runner.iter_results())
    assert [v.status for _, v in results] == [StatusType.CANCELLED] * 6
    assert not runner.is_running()
    assert client.status == "running"
    h.wait_for(lambda: not any(psutil.pid_exists(p) for p in running), 10,
               "the trials' processes to end")
    with pytest.raises(RunnerClosedError):
        runner.submit_trial(TrialInfo({"t": 1}))
    runner.close()  # idempotent


def test_resource_tags_place_one_trial_per_device(client: Any) -> None:
    """trial_resources={'gpu': 1} on workers with one GPU each runs one trial per worker at a
    time; a trial may name its own resources; more than a worker has fails at construction."""
    with DaskRunner(h.interval, client=client, trial_resources={"gpu": 1}) as runner:
        assert runner.count_available_workers() == 2  # 2 GPUs, though 4 threads
        for _ in range(6):
            runner.submit_trial(TrialInfo({"sleep": 0.2}))
        assert runner.count_available_workers() == 0
        results = drain(runner)
    assert all(v.status == StatusType.SUCCESS for _, v in results)
    by_worker: dict[int, list[tuple[float, float]]] = {}
    for _, v in results:
        by_worker.setdefault(v.additional_info["worker_pid"], []).append(
            (v.additional_info["start"], v.additional_info["end"]))
    for spans in by_worker.values():
        spans.sort()
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False)), spans
    with DaskRunner(h.interval, client=client) as runner:
        runner.submit_trial(TrialInfo({"sleep": 0.0}, additional_info={"resources": {"GPU": 1}}))
        with pytest.raises(ValueError, match="additional_info\\['resources'\\]"):
            runner.submit_trial(TrialInfo({}, additional_info={"resources": {"GPU": -1}}))
        with pytest.raises(TypeError, match="the TrialInfo cannot be pickled"):
            runner.submit_trial(TrialInfo({"f": threading.Lock()}))
        assert [v.status for _, v in drain(runner)] == [StatusType.SUCCESS]
    with pytest.raises(ValueError, match="needs 2 GPUs but the largest dask worker has 1 GPU"):
        DaskRunner(h.interval, client=client, trial_resources={"gpu": 2}, worker_timeout=0.5)


# -- real scheduler and worker processes ---------------------------------------------------------


@pytest.fixture
def procs() -> Any:
    """Start real dask processes; every one is SIGKILLed and reaped at the end."""
    cluster = h.ProcessCluster()
    try:
        yield cluster
    finally:
        cluster.close()


def _kill_worker_of(tmp_path: Path, i: int) -> int:
    """SIGKILL the dask worker executing trial ``i`` (its pid is in the trial's marker)."""
    marker = h.wait_for(lambda: list(tmp_path.glob(f"{i}.*")), 60, f"trial {i} to start")
    pid = int(marker[0].read_text().split()[0])
    os.kill(pid, signal.SIGKILL)
    return pid


@pytest.mark.slow
@pytest.mark.parametrize("replace", [False, True], ids=["survivor-takes-over", "replacement"])
def test_sigkilled_worker_costs_a_requeue_not_a_trial(procs: Any, tmp_path: Path,
                                                      replace: bool) -> None:
    """F1: 50 trials through a scheduler address; SIGKILL one worker mid-run: all 50 end
    SUCCESS exactly once, the trial it ran re-ran elsewhere as a requeue; trials whose own
    process dies are CRASHED after one execution."""
    procs.scheduler()
    procs.worker("w1")
    procs.worker("w2")
    procs.wait_workers(2)
    with DaskRunner(h.misbehave, client=procs.address) as runner:
        assert runner.count_available_workers() == 2
        for i in range(52):
            mode = {50: "exit", 51: "kill", 10: "once"}.get(i, "ok")
            runner.submit_trial(TrialInfo({"i": i, "mode": mode, "dir": str(tmp_path),
                                           "sleep": 30.0 if mode == "once" else 0.1}))
        killed = _kill_worker_of(tmp_path, 10)
        if replace:
            procs.worker("w3")
        results = drain(runner, timeout=120)
    assert not psutil.pid_exists(killed) or psutil.Process(killed).status() == "zombie"
    values = {info.config["i"]: value for info, value in results}
    assert len(results) == 52 and len(values) == 52
    assert all(values[i].status == StatusType.SUCCESS for i in range(50)), values
    assert values[10].additional_info["requeues"] == 1
    assert values[50].status == values[51].status == StatusType.CRASHED
    runs = markers(tmp_path)
    # A trial that finished on the killed worker before its result reached the client is re-run
    # by dask itself (its result died with the worker), as in F1: at most one such neighbour.
    others = [runs[i] for i in range(52) if i != 10]
    assert runs[10] == 2 and set(others) <= {1, 2} and others.count(2) <= 1, runs


@pytest.mark.slow
def test_lost_worker_with_max_requeues_zero_is_crashed(procs: Any, tmp_path: Path) -> None:
    """max_requeues=0: the first lost worker makes the trial CRASHED, 'worker lost 1 time'
    (and a scheduler without workers is a PreflightError after worker_timeout)."""
    procs.scheduler()
    with pytest.raises(PreflightError, match="no worker joined within worker_timeout=0.5 s"):
        DaskRunner(h.misbehave, client=procs.address, worker_timeout=0.5)
    procs.worker("w1")
    procs.worker("w2")
    procs.wait_workers(2)
    with DaskRunner(h.misbehave, client=procs.address, max_requeues=0) as runner:
        runner.submit_trial(TrialInfo({"i": 0, "mode": "ok", "dir": str(tmp_path),
                                       "sleep": 60}))
        _kill_worker_of(tmp_path, 0)
        (_, value), = drain(runner)
    assert value.status == StatusType.CRASHED
    assert value.additional_info["error"].startswith("worker lost 1 time (max_requeues=0)")
    assert value.additional_info["requeues"] == 0
    assert markers(tmp_path) == Counter({0: 1})


@pytest.mark.slow
def test_all_workers_leave_then_come_back(procs: Any, tmp_path: Path) -> None:
    """F4: when the only worker dies, done results are kept and the trial in flight re-runs once
    a new worker joins (the evaluator is scattered again); with no worker for worker_timeout,
    waiting and new trials are CRASHED with a clear error, until a worker is back."""
    procs.scheduler()
    procs.worker("w1")
    procs.wait_workers(1)
    with DaskRunner(h.misbehave, client=procs.address, worker_timeout=60) as runner:
        runner.submit_trial(TrialInfo({"i": 0, "mode": "ok", "dir": str(tmp_path)}))
        first = drain(runner)
        runner.submit_trial(TrialInfo({"i": 1, "mode": "once", "dir": str(tmp_path),
                                       "sleep": 60}))
        _kill_worker_of(tmp_path, 1)
        h.wait_for(lambda: runner.meta["n_workers"] == 0, 30, "the scheduler to drop w1")
        assert runner.is_running()
        procs.worker("w2")
        (info, value), = drain(runner, timeout=120)
    assert [v.status for _, v in first] == [StatusType.SUCCESS]
    assert value.status == StatusType.SUCCESS and value.additional_info["requeues"] == 1
    with DaskRunner(h.misbehave, client=procs.address, worker_timeout=1.0) as runner:
        runner.submit_trial(TrialInfo({"i": 2, "mode": "ok", "dir": str(tmp_path),
                                       "sleep": 60}))
        _kill_worker_of(tmp_path, 2)
        start = time.monotonic()
        (_, value), = drain(runner)
        assert time.monotonic() - start < 10
        # gone for good: a loop is offered a slot, and what it submits fails at once
        assert runner.count_available_workers() == 1
        runner.submit_trial(TrialInfo({"i": 3, "mode": "ok", "dir": str(tmp_path)}))
        (_, late), = drain(runner, timeout=1)
        procs.worker("w3")  # and once a worker is back, trials run again
        h.wait_for(lambda: runner.meta["n_workers"] == 1, 60, "w3 to join")
        runner.submit_trial(TrialInfo({"i": 4, "mode": "ok", "dir": str(tmp_path)}))
        (_, back), = drain(runner)
    assert value.status == late.status == StatusType.CRASHED
    assert "no dask worker at tcp://127.0.0.1" in value.additional_info["error"]
    assert "worker_timeout=1 s" in late.additional_info["error"]
    assert back.status == StatusType.SUCCESS


@pytest.mark.slow
def test_scheduler_death_is_a_clear_error_after_connect_timeout(procs: Any, tmp_path: Path) -> None:
    """F4: when the scheduler dies, trials in flight are CRASHED naming it once the client has
    failed to reconnect for connect_timeout; close() still returns at once."""
    scheduler = procs.scheduler()
    procs.worker("w1")
    procs.wait_workers(1)
    runner = DaskRunner(h.misbehave, client=procs.address, connect_timeout=2)
    runner.submit_trial(TrialInfo({"i": 0, "mode": "ok", "dir": str(tmp_path), "sleep": 60}))
    h.wait_for(lambda: list(tmp_path.glob("0.*")), 30, "the trial to start")
    h.kill_tree(scheduler)
    start = time.monotonic()
    (_, value), = drain(runner, timeout=30)
    assert time.monotonic() - start < 10
    assert value.status == StatusType.CRASHED
    assert value.additional_info["error"].startswith(
        f"lost the dask scheduler at {procs.address}: the client could not reconnect within 2 s")
    start = time.monotonic()
    runner.close()
    assert time.monotonic() - start < 2


# -- a cluster of the runner's own ---------------------------------------------------------------


@pytest.mark.slow
def test_own_local_cluster_is_closed_with_the_runner() -> None:
    """With no client the runner starts a LocalCluster (one thread per worker) and close()
    cancels the trials in flight and shuts the cluster down, leaving no process."""
    before = frozenset(p.pid for p in h.dask_descendants())  # the module's shared cluster
    runner = DaskRunner(h.sleeper, n_workers=2)
    assert runner.count_available_workers() == 2
    cluster = runner._cluster
    assert allowed_failures(runner.client) == 0
    assert len(runner.client.who_has([runner._shipping.future])[runner._shipping.future.key]) == 2
    for _ in range(3):
        runner.submit_trial(TrialInfo({"t": 60}))
    h.wait_for(lambda: any(runner.client.run(cached_pids, runner._id).values()), 30,
               "the trials to start")
    runner.close()
    assert [v.status for _, v in runner.iter_results()] == [StatusType.CANCELLED] * 3
    assert cluster.status.name == "closed" and runner.client.status == "closed"
    h.wait_for(lambda: not h.dask_descendants(before), 20, "the cluster's processes to exit")


@pytest.mark.slow
def test_trial_over_the_dask_workers_memory_budget_is_memoryout() -> None:
    """F2: a trial using 700 MB on a dask worker with memory_limit=300MB is MEMORYOUT with the
    evidence, once; the dask worker is not restarted; a small trial there succeeds."""
    before = frozenset(p.pid for p in h.dask_descendants())
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, memory_limit="300MB",
                                       dashboard_address=None, silence_logs=logging.ERROR,
                                       scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
    try:
        with distributed.Client(cluster, set_as_default=False) as c:
            pids = c.run(os.getpid)
            with DaskRunner(h.allocate, client=c) as runner:
                runner.submit_trial(TrialInfo({"mb": 700}))
                runner.submit_trial(TrialInfo({"mb": 20}))
                values = {info.config["mb"]: v for info, v in drain(runner)}
            assert c.run(os.getpid) == pids
    finally:
        cluster.close()
    assert values[700].status == StatusType.MEMORYOUT, values[700]
    assert ("over its share of the dask worker's memory_limit (272 MB: 95% of 286 MB over 1 "
            "thread)") in values[700].additional_info["error"]
    assert values[20].status == StatusType.SUCCESS
    h.wait_for(lambda: not h.dask_descendants(before), 20, "the cluster's processes to exit")


@pytest.mark.slow
def test_security_gives_a_tls_cluster(tmp_path: Path) -> None:
    """security= (a distributed.Security) starts the runner's own cluster with TLS."""
    if shutil.which("openssl") is None:
        pytest.skip("needs openssl to make a certificate")
    cert, key = str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "1", "-subj", "/CN=localhost"], check=True,
                   capture_output=True)
    security = distributed.Security(
        tls_ca_file=cert, tls_client_cert=cert, tls_client_key=key, tls_scheduler_cert=cert,
        tls_scheduler_key=key, tls_worker_cert=cert, tls_worker_key=key, require_encryption=True)
    with DaskRunner(h.square, n_workers=1, security=security) as runner:
        assert runner.meta["scheduler"].startswith("tls://")
        runner.submit_trial(TrialInfo({"x": 3}))
        assert [v.cost for _, v in drain(runner)] == [9.0]


@pytest.mark.slow
def test_available_workers_follow_workers_joining_and_leaving() -> None:
    """count_available_workers() follows the cluster as it scales up and down."""
    before = frozenset(p.pid for p in h.dask_descendants())  # the module's shared cluster
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=logging.ERROR,
                                       scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
    try:
        with distributed.Client(cluster, set_as_default=False) as c, \
                DaskRunner(h.interval, client=c) as runner:
            assert runner.count_available_workers() == 1
            cluster.scale(2)
            h.wait_for(lambda: runner.count_available_workers() == 2, 60, "a second worker")
            for _ in range(6):  # the new worker has no copy of the evaluator: it is sent along
                runner.submit_trial(TrialInfo({"sleep": 0.3}))
            results = drain(runner)
            cluster.scale(1)
            h.wait_for(lambda: runner.count_available_workers() == 1, 60, "a worker to leave")
            runner.submit_trial(TrialInfo({"sleep": 0.0}))
            results += drain(runner)
    finally:
        cluster.close()
    assert [v.status for _, v in results] == [StatusType.SUCCESS] * 7
    assert len({v.additional_info["worker_pid"] for _, v in results[:6]}) == 2
    assert not any("requeues" in v.additional_info for _, v in results)
    h.wait_for(lambda: not h.dask_descendants(before), 20, "the cluster's processes to exit")
