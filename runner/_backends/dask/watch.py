"""Keeping ``DaskRunner`` up with its cluster: reading the workers (and their capacity) every
``REFRESH_INTERVAL``, giving up on waiting trials after ``worker_timeout`` with no worker, and
sending the evaluator again when every copy was lost."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from runner._backends.dask.cluster import trial_capacity
from runner._backends.dask.task import worker_probe
from runner.errors import PreflightError

__all__ = ["REFRESH_INTERVAL", "ClusterWatch"]

log = logging.getLogger(__name__)

REFRESH_INTERVAL = 0.5
"""Seconds between reads of the workers (and checks of the no-worker deadline)."""


class ClusterWatch:
    """The cluster-watching half of ``DaskRunner`` (it shares the runner's state)."""

    _lock: threading.Lock
    _client: Any
    _address: str
    _closed: bool
    _connect_timeout: float
    _worker_timeout: float | None
    _resources: Any
    _needs: Any
    _n_workers: int
    _capacity: int
    _spent: list[Any]
    _workerless_since: float | None
    _gone: str | None
    _shipment: Any
    _shipment_data: Any
    _rescattering: bool
    _limits: Any
    _streaming: bool

    if TYPE_CHECKING:  # the runner's, declared for the type checker only
        def _fail_all(self, error: str) -> None: ...
        def _dispatch(self) -> None: ...
        def _steer(self, workers: dict[str, Any]) -> None: ...

    def _probe_workers(self) -> None:
        """Fail at construction if a worker cannot run the trials (says which and why)."""
        found = self._client.run(worker_probe(), self._limits.memory is not None,
                                 on_error="return")
        broken = {addr: why for addr, why in found.items() if why is not None}
        if broken:
            addr, why = next(iter(broken.items()))
            raise PreflightError(f"{len(broken)} of the {len(found)} dask workers cannot run "
                                 f"these trials, e.g. {addr}: {why}")

    def _wait_for_workers(self) -> None:
        """At construction: until the workers read have a slot for a default-size trial."""
        timeout = self._worker_timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self._client.sync(self._refresh)
            if self._n_workers:  # trial_resources larger than every worker: not a wait
                self._needs.check_default()
            if self._capacity > 0:
                return
            if deadline is not None and time.monotonic() > deadline:
                what = (f"none of its {self._n_workers} workers has the resources "
                        f"{self._resources}" if self._n_workers else "no worker joined")
                raise PreflightError(
                    f"dask scheduler at {self._address}: {what} within worker_timeout="
                    f"{timeout:g} s; start workers with `dask worker {self._address}` (add "
                    "`--resources GPU=1` for resource tags) or raise worker_timeout")
            time.sleep(0.05)

    async def _refresh_loop(self) -> None:
        while not self._closed:
            if self._client.status in ("closing", "closed"):  # reconnecting failed for good
                self._fail_all(f"lost the dask scheduler at {self._address}: the client could "
                               f"not reconnect within {self._connect_timeout:g} s")
            else:
                await self._refresh_quietly()
            await asyncio.sleep(REFRESH_INTERVAL)

    async def _refresh_quietly(self) -> None:
        try:
            await self._refresh()
        except Exception as exc:  # the scheduler is away: keep the last count, try again
            log.debug("reading the dask workers failed: %r", exc)

    async def _refresh(self) -> None:
        """Read the workers (and their slots) from the scheduler, give up on waiting trials
        after ``worker_timeout`` without any worker, and send what now fits."""
        streaming = self._streaming
        ident = await self._client.scheduler.identity(
            n_workers=-1 if self._needs.per_worker or streaming else 0)
        n_workers = int(ident.get("n_workers", 0))
        workers = ident.get("workers", {})
        if streaming:  # a retiring worker's slots are draining
            workers = {a: w for a, w in workers.items() if w.get("status") == "running"}
        self._needs.saw(workers.values())
        capacity = (trial_capacity(workers.values(), self._resources)
                    if self._needs.per_worker or streaming
                    else int(ident.get("total_threads", 0)))
        with self._lock:
            self._n_workers, self._capacity = n_workers, capacity
        self._spent = []
        if streaming:
            self._steer(ident.get("workers", {}))
        now = time.monotonic()
        if capacity > 0:
            self._workerless_since = self._gone = None
        elif self._workerless_since is None:
            self._workerless_since = now
        elif (self._worker_timeout is not None
              and now - self._workerless_since > self._worker_timeout):
            self._gone = (f"no dask worker at {self._address} for worker_timeout="
                          f"{self._worker_timeout:g} s; the trial could not run")
            self._fail_all(self._gone)
        self._dispatch()

    async def _rescatter(self) -> None:
        """Every replica of the shipment was lost (all workers left): send it again."""
        try:
            self._shipment = await self._client.scatter(
                self._shipment_data, broadcast=True, hash=False, asynchronous=True)
        except Exception as exc:
            log.warning("re-scattering the trial evaluator to dask failed (%r); will retry", exc)
        finally:
            with self._lock:
                self._rescattering = False
        if self._shipment.status == "finished":
            self._dispatch()
