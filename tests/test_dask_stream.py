"""DaskRunner's streaming mode: trials go to one long-lived pilot task per worker slot over
dask's comm layer. The contract suite runs both modes (tests/contract/conftest.py); these are
the cases streaming adds: the scheduler's load, a worker killed mid-stream, a retiring worker's
pilot draining, pilots ending when their driver is gone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from runner import DaskRunner
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


def transitions(client: Any) -> int:
    return int(client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.transition_counter))


def test_the_scheduler_sees_one_task_per_slot_not_one_per_trial(dask_client: Any) -> None:
    """100 trials streamed to the 2 pilots cost the scheduler no per-trial work;
    streaming=False submits one task (several transitions) per trial."""
    counts = {}
    for streaming in (True, False):
        with DaskRunner(h.square, client=dask_client, streaming=streaming) as runner:
            before = transitions(dask_client)
            for i in range(100):
                runner.submit_trial(TrialInfo({"x": i}))
            results = drain(runner)
            counts[streaming] = transitions(dask_client) - before
        assert sorted(v.cost for _, v in results) == [float(i * i) for i in range(100)]
        assert runner.meta["streaming"] is streaming
    assert counts[True] < 10 <= 100 <= counts[False], counts


def test_streaming_must_be_a_bool(dask_client: Any) -> None:
    with pytest.raises(TypeError, match="streaming must be True or False, got 'no'"):
        DaskRunner(h.square, client=dask_client, streaming="no")


def test_a_pilot_ends_when_its_driver_falls_silent(monkeypatch: pytest.MonkeyPatch) -> None:
    """A driver that keeps the connection open but says nothing (its machine froze, the network
    dropped without a reset): the pilot ends after DRIVER_SILENCE."""
    import asyncio
    import types

    from distributed.comm import core

    from runner._backends.dask import pilot

    monkeypatch.setattr(pilot, "DRIVER_SILENCE", 0.5)
    monkeypatch.setattr(pilot, "POLL", 0.05)

    class Worker:  # the supervised worker process, not needed here
        alive = True

        def kill_tree(self) -> None: ...

    dask_worker = types.SimpleNamespace(security=distributed.Security(), address="tcp://w:1",
                                        status=types.SimpleNamespace(name="running"))

    async def main() -> tuple[str, float, Any]:
        said: list[Any] = []

        async def silent_driver(comm: Any) -> None:
            said.append(await comm.read())
            await asyncio.Event().wait()  # never says a word

        listener: Any = core.listen("tcp://127.0.0.1:0", silent_driver)
        await listener.start()
        start = time.monotonic()
        why = await pilot._Pilot(dask_worker, Worker(), listener.contact_address, "p").serve()
        listener.stop()
        return why, time.monotonic() - start, said

    why, took, said = asyncio.run(main())
    assert said == [{"op": "hello", "pilot": "p", "worker": "tcp://w:1"}]
    assert why == "no word from the driver for 0.5 s" and took < 5


# -- real scheduler and worker processes ---------------------------------------------------------


@pytest.fixture
def procs() -> Any:
    """Start real dask processes; every one is SIGKILLed and reaped at the end."""
    cluster = h.ProcessCluster()
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.mark.slow
def test_worker_killed_mid_stream_every_trial_exactly_once(procs: Any, tmp_path: Path) -> None:
    """200 short trials streaming to 2 worker processes; one is SIGKILLed a quarter of the way
    through: every trial comes back exactly once and SUCCESS, the survivor takes over, and only
    a trial that was on the killed worker ran twice (the one executing, and one that finished
    there while its result was on the wire)."""
    procs.scheduler()
    victim = procs.worker("w1")
    procs.worker("w2")
    procs.wait_workers(2)
    n = 200
    with DaskRunner(h.misbehave, client=procs.address) as runner:
        for i in range(n):
            runner.submit_trial(TrialInfo({"i": i, "mode": "ok", "dir": str(tmp_path),
                                           "sleep": 0.02}))
        h.wait_for(lambda: len(list(tmp_path.iterdir())) >= n // 4, 60, "a quarter to run")
        os.kill(victim.pid, signal.SIGKILL)
        results = drain(runner, timeout=120)
    indices = sorted(info.config["i"] for info, _ in results)
    assert indices == list(range(n))
    assert all(v.status == StatusType.SUCCESS for _, v in results)
    runs = h.executions(tmp_path)
    assert set(runs) == set(range(n)) and set(runs.values()) <= {1, 2}
    twice = [i for i, k in runs.items() if k == 2]
    assert len(twice) <= 2, runs
    requeued = [info.config["i"] for info, v in results if v.additional_info.get("requeues")]
    assert set(requeued) <= set(twice), (requeued, twice)


@pytest.mark.slow
def test_retiring_workers_pilot_drains_and_a_new_worker_gets_one(procs: Any,
                                                                  tmp_path: Path) -> None:
    """A worker retired gracefully while its pilot runs a trial: the trial finishes there (no
    requeue, once); the rest run on the other worker; a worker joining later gets a pilot
    within one refresh and takes trials."""
    procs.scheduler()
    procs.worker("w1")
    procs.worker("w2")
    procs.wait_workers(2)
    with distributed.Client(procs.address, set_as_default=False) as c, \
            DaskRunner(h.misbehave, client=c) as runner:
        for i in range(6):
            runner.submit_trial(TrialInfo({"i": i, "mode": "ok", "dir": str(tmp_path),
                                           "sleep": 1.5}))
        h.wait_for(lambda: len(list(tmp_path.iterdir())) >= 2, 60, "both pilots to run one")
        w1 = next(a for a, w in c.scheduler_info()["workers"].items() if w["name"] == "w1")
        c.retire_workers([w1], close_workers=True)
        results = drain(runner, timeout=120)
        procs.worker("w3")
        pilots = runner._fleet.pilots
        h.wait_for(lambda: len(pilots) == 2 and all(
            p.comm is not None for p in pilots.values()), 60, "w3's pilot")
        runner.submit_trial(TrialInfo({"i": 6, "mode": "ok", "dir": str(tmp_path)}))
        runner.submit_trial(TrialInfo({"i": 7, "mode": "ok", "dir": str(tmp_path)}))
        results += drain(runner)
    assert sorted(info.config["i"] for info, _ in results) == list(range(8))
    assert all(v.status == StatusType.SUCCESS for _, v in results)
    assert not any(v.additional_info.get("requeues") for _, v in results)
    assert set(h.executions(tmp_path).values()) == {1}


DRIVER = """
import sys, time
sys.path[:0] = {paths!r}
import dask_helpers as h
from runner import DaskRunner
from trials import TrialInfo
runner = DaskRunner(h.misbehave, client={address!r})
runner.submit_trial(TrialInfo({{"i": 0, "mode": "ok", "dir": {folder!r}, "sleep": 600}}))
time.sleep(600)
"""


@pytest.mark.slow
def test_pilots_end_when_their_driver_is_killed(procs: Any, tmp_path: Path) -> None:
    """A driver SIGKILLed mid-trial: its pilots see the connection close, kill their trial's
    process and end, freeing the worker's slots for the next driver."""
    procs.scheduler()
    worker = procs.worker("w1")
    procs.wait_workers(1)
    script = DRIVER.format(paths=[h.REPO_DIR, h.TESTS_DIR], address=procs.address,
                           folder=str(tmp_path))
    driver = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    try:
        h.wait_for(lambda: list(tmp_path.glob("0.*")), 120, "the trial to start")
        assert psutil.Process(worker.pid).children()  # the trial's process
        driver.kill()
        driver.wait()
        start = time.monotonic()
        h.wait_for(lambda: not psutil.Process(worker.pid).children(), 30,
                   "the pilot to kill its trial's process")
        assert time.monotonic() - start < 15
    finally:
        h.kill_tree(driver)
    with DaskRunner(h.misbehave, client=procs.address) as runner:  # the slot is free again
        runner.submit_trial(TrialInfo({"i": 1, "mode": "ok", "dir": str(tmp_path)}))
        (_, value), = drain(runner, timeout=60)
    assert value.status == StatusType.SUCCESS
