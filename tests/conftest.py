"""Project-wide test fixtures: a check that no test leaves child processes behind, and a
session-scoped dask cluster that tests may share.

The leak check snapshots this process's descendants before each test; after it, every new
descendant gets a short deadline to exit, then is killed and the test fails naming it.
Processes that descend from a process that existed before the test (a session-scoped dask
``LocalCluster`` and the worker processes it starts later) are not the test's, and neither are
multiprocessing's helper processes (resource tracker, forkserver), which live for the session.
"""

from __future__ import annotations

import fnmatch
import os
import time
from collections.abc import Iterator
from typing import Any

import psutil
import pytest

# dask's statistical profiler samples every worker thread 10 times a second, for the dashboard's
# profile page no test reads: off in the tests' clusters (and the `dask worker` processes they
# start, which read it from the environment), for CPU time the default run lacks on 2 cores
os.environ.setdefault("DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED", "False")

LEAK_DEADLINE = 10.0
"""Seconds a test's child processes get to exit after the test before the test fails."""

_HELPERS = ("multiprocessing.resource_tracker", "multiprocessing.forkserver",
            "loky.backend.resource_tracker",
            "multiprocessing.semaphore_tracker")


def _descendants() -> dict[int, psutil.Process]:
    try:
        return {p.pid: p for p in psutil.Process().children(recursive=True)}
    except psutil.Error:
        return {}


PERSISTENT_PIDS: set[int] = set()
"""Processes that outlive tests on purpose (a session-scoped cluster), with their descendants.
A session fixture that starts processes adds their pids here (``persistent_pids`` fixture)."""


def _is_ours(proc: psutil.Process, before: set[int]) -> bool:
    """Whether ``proc`` was started by the test: not a helper, not below an older process."""
    try:
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        if any(h in " ".join(proc.cmdline()) for h in _HELPERS):
            return False
        me = os.getpid()
        pid = proc.pid
        while pid not in (me, 0, 1):
            if pid in PERSISTENT_PIDS or (pid != proc.pid and pid in before):
                return False
            pid = psutil.Process(pid).ppid()
    except psutil.Error:
        return False
    return True


def _describe(proc: psutil.Process) -> str:
    try:
        return f"pid {proc.pid}: {' '.join(proc.cmdline())[:160]}"
    except psutil.Error:
        return f"pid {proc.pid}"


@pytest.fixture(autouse=True)
def no_leftover_processes() -> Iterator[None]:
    """Fail a test whose child processes outlive it by more than ``LEAK_DEADLINE`` seconds."""
    before = set(_descendants())
    yield
    deadline = time.monotonic() + LEAK_DEADLINE
    while True:
        left = [p for pid, p in _descendants().items()
                if pid not in before and _is_ours(p, before)]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if left:
        names = [_describe(p) for p in left]
        for proc in left:
            try:
                proc.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(left, timeout=5)
        pytest.fail(f"the test left {len(left)} process(es) running: {names}", pytrace=False)


@pytest.fixture(scope="session")
def persistent_pids() -> set[int]:
    """The set a session-scoped fixture adds the pids of its long-lived processes to."""
    return PERSISTENT_PIDS


@pytest.fixture(scope="session")
def dask_client(persistent_pids: set[int]) -> Iterator[Any]:
    """A ``distributed.Client`` on a local cluster of 2 one-thread workers, shared by the session."""
    distributed = pytest.importorskip("distributed")
    before = set(_descendants())
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address="127.0.0.1:0", silence_logs=40)
    client = distributed.Client(cluster, set_as_default=False)
    persistent_pids.update(set(_descendants()) - before)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(autouse=True)
def devnull_stays_a_device() -> Iterator[None]:
    """No test may replace /dev/null (as root an atomic write onto it would): the machine's
    other programs, CI's included, write there."""
    yield
    import stat

    mode = os.stat(os.devnull).st_mode
    assert stat.S_ISCHR(mode), (f"{os.devnull} is no longer a character device; restore it: "
                                f"rm {os.devnull} && mknod -m 666 {os.devnull} c 1 3")


SMOKE_ONLY = {"dask-tasks": ("tests/contract/test_conformance.py",)}
"""Configurations that run every case only in the files named (the contract itself) and are
``exhaustive`` elsewhere: ``DaskRunner(streaming=False)`` hands trials to the same supervised
worker as the streaming default and differs only in how a trial reaches it, which the
contract and tests/test_dask.py cover (``make test-all`` runs the rest)."""


LOKY_START = ("loky starts its worker processes at the first trial: under load that start "
              "alone took longer than the bound")
SERIAL = [
    ("test_conformance", "*-reports", "decide(stop) at step 5 must end the trial by step 6, "
     "10 ms later (runner.testing.check_reports): a loaded driver reads the report too late"),
    ("test_I1_stopped_within_one_step", "*", "decide(stop) at step 5 must end the trial by "
     "step 6, 10 ms later: on dask beside other tests it once ended at step 7"),
    ("test_A5_walltime", "*", "TIMEOUT within the 1 s limit + 1 s of the submit"),
    ("test_A10_script_hangs", "*", "TIMEOUT within the 1 s limit + 2 s of the submit"),
    ("test_walltime_limit_is_timeout", "*", "TIMEOUT within 3 s of the submit (limit 1 s)"),
    ("test_walltime_acceptance", "*", "TIMEOUT within 3 s of the submit (limit 1 s)"),
    ("test_A7_cpu_time", "executor-loky", LOKY_START),
    ("test_A10_script_grandchild_holds_stdout", "executor-loky", LOKY_START),
    ("test_A10_script_grandchild_without_limits", "executor-loky", LOKY_START),
]
"""Tests marked ``serial``: ``(function, parameter id glob, why)``. Each bounds the wall time
of an event that starts processes; run beside other tests on 2 cores the bound failed
(measured under a load of 24). ``make test`` runs them alone after the parallel pass."""


def _serial(item: pytest.Item) -> bool:
    function = getattr(item, "originalname", item.name)
    ident = getattr(getattr(item, "callspec", None), "id", "")
    return any(function == name and fnmatch.fnmatchcase(ident, glob)
               for name, glob, _ in SERIAL)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        for value in params.values():
            keep = SMOKE_ONLY.get(getattr(value, "name", None))  # type: ignore[arg-type]
            if keep is not None and not str(item.nodeid).startswith(keep):
                item.add_marker(pytest.mark.exhaustive)
        if _serial(item):
            item.add_marker(pytest.mark.serial)


@pytest.fixture(autouse=True)
def sigint_handler_is_left_as_found(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test (or a library it imports) that replaces the SIGINT handler fails, and the handler
    is put back: Ctrl-C must stay a KeyboardInterrupt for the tests after it (a library did
    this at import once, and every Ctrl-C test after it failed far from the cause)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.getsignal(signal.SIGINT)
    yield
    after = signal.getsignal(signal.SIGINT)
    if after is not before:
        signal.signal(signal.SIGINT, before)  # type: ignore[arg-type]
        pytest.fail(f"{request.node.nodeid} left SIGINT handled by {after!r} (was {before!r})")
