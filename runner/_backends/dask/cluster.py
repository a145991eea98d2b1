"""Connecting ``DaskRunner`` to dask (its own LocalCluster, an address, or a Client) and reading
what dask reports (capacity, worker losses): the driver side's dealings with the cluster."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from concurrent.futures import CancelledError
from typing import Any

from runner.errors import PreflightError

__all__ = ["LostWorker", "PilotLost", "connect", "is_worker_loss", "trial_capacity"]


# -- connecting (driver side) -----------------------------------------------------------------


def connect(client: Any, n_workers: int | None, connect_timeout: float,
            security: Any, specs: list[Any] | None = None) -> tuple[Any, Any, bool]:
    """``(client, cluster we started or None, whether we own the client)`` for DaskRunner's
    ``client`` argument: start a LocalCluster, connect to an address, or check a Client.
    ``specs``: ``(dask resources, environment)`` per worker of our LocalCluster (devices.py)."""
    import dask
    import distributed

    Client: Any = distributed.Client  # noqa: N806 - untyped upstream
    LocalCluster: Any = distributed.LocalCluster  # noqa: N806
    if client is None:
        config = {"distributed.scheduler.allowed-failures": 0,
                  # the cluster holds only our shipment: keep its replica on every worker
                  "distributed.scheduler.active-memory-manager.start": False}
        with dask.config.set(config):
            cluster = LocalCluster(
                n_workers=n_workers if specs is None else 0, threads_per_worker=1,
                processes=True, dashboard_address=None, security=security,
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})  # no 8787 clash
            if specs:
                _start_workers(cluster, specs)
        try:  # gather results straight from the workers: they are on this machine
            return Client(cluster, security=security, set_as_default=False,
                          direct_to_workers=True), cluster, True
        except BaseException:
            cluster.close()
            raise
    if isinstance(client, str):
        if not client:
            raise ValueError("client must be a scheduler address like 'tcp://host:8786', "
                             "got ''")
        try:
            return Client(client, timeout=connect_timeout, security=security,
                          set_as_default=False), None, True
        except Exception as exc:
            raise PreflightError(
                f"cannot connect to the dask scheduler at {client!r} within "
                f"connect_timeout={connect_timeout:g} s: {exc}; is `dask scheduler` "
                "running there and reachable?") from exc
    if isinstance(client, Client):
        if client.asynchronous:
            raise TypeError("DaskRunner needs a synchronous distributed.Client, got an "
                            "asynchronous one")
        if client.status != "running":
            raise PreflightError(f"the dask Client given is {client.status}, not running")
        return client, None, False
    raise TypeError("client must be None, a scheduler address string or a "
                    f"distributed.Client, got {type(client).__name__}")


# -- reading what dask reports (driver side) ---------------------------------------------------


def trial_capacity(workers: Iterable[Mapping[str, Any]], need: Mapping[str, float] | None) -> int:
    """Trials that fit at once: worker threads, capped per worker by ``need`` of its resources."""
    return sum(min([int(w.get("nthreads", 1))] + [int((w.get("resources") or {}).get(r, 0) // n)
                                                   for r, n in (need or {}).items()])
               for w in workers)


def is_worker_loss(exc: BaseException) -> bool:
    """Whether a task's error means its dask worker (or the way to it) was lost."""
    from distributed import KilledWorker
    from distributed.comm.core import CommClosedError

    # dask cancels a future (FutureCancelledError) when the scheduler connection or its input
    # is lost; the runner's own cancellations are settled before this is asked
    return isinstance(exc, (KilledWorker, CommClosedError, OSError, TimeoutError,
                            asyncio.CancelledError, CancelledError))


class LostWorker:
    """Which dask worker a lost pilot ran on, as dask's ``KilledWorker.last_worker`` says it."""

    __slots__ = ("name", "address")

    def __init__(self, name: str | None, address: str) -> None:
        self.name, self.address = name, address


class PilotLost(ConnectionError):
    """A pilot's connection ended with a trial on it: its worker (or job) is gone."""

    def __init__(self, message: str, worker_name: str | None, address: str) -> None:
        super().__init__(message)
        self.last_worker = LostWorker(worker_name, address)


def _start_workers(cluster: Any, specs: list[Any]) -> None:
    """Start one worker per ``(resources, env)`` in ``specs`` on our LocalCluster: dask's own
    spec of a worker, with its share of the runner's resources and its device ids."""
    base = cluster.new_spec
    for i, (tags, env) in enumerate(specs):
        options = dict(base["options"], resources=tags, env=env)
        cluster.worker_spec[i] = {"cls": base["cls"], "options": options}
    try:
        cluster.sync(cluster._correct_state)
    except BaseException:
        cluster.close()
        raise
