"""The runner's view of its dask cluster (``ClusterView``): the workers and their trial slots,
read every ``REFRESH_INTERVAL``, and the no-worker deadline after which waiting trials are
given up; and the evaluator it ships to every worker (``Shipping``), sent again when every copy
was lost. Each object is given what it reads and whom it tells, not the whole runner:

    ClusterView.refresh (client event loop) ──> scheduler identity ──> n_workers, capacity
        ──> needs.saw(workers) ──> on_read(workers) (pilots) ──> dispatch()
        no worker for worker_timeout ──> gone ──> fail_all(gone)
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future as ConcurrentFuture
from typing import Any

from runner._backends.dask.cluster import trial_capacity
from runner._backends.dask.devices import DaskNeeds
from runner._backends.dask.task import worker_probe
from runner.errors import PreflightError

__all__ = ["REFRESH_INTERVAL", "ClusterView", "Shipping"]

log = logging.getLogger(__name__)

REFRESH_INTERVAL = 0.5
"""Seconds between reads of the workers (and checks of the no-worker deadline)."""


class Shipping:
    """The shipment (evaluator, objectives, limits) scattered once to every dask worker, and
    scattered again when every replica was lost (all workers left)."""

    def __init__(self, client: Any, data: Any, lock: threading.Lock,
                 dispatch: Callable[[], None]) -> None:
        self._client, self.data, self._lock, self._dispatch = client, data, lock, dispatch
        self.future: Any = None  # the scattered copy, once sent
        self.resending = False

    def send(self) -> None:
        self.future = self._client.scatter(self.data, broadcast=True, hash=False)

    def ready(self) -> bool:
        """Whether workers hold it now; if every replica was lost, send it again (once) and
        say no until it is back. From any thread."""
        if self.future is None or self.resending:
            return False
        if self.future.status == "finished":
            return True
        self.resending = True
        self._client.loop.add_callback(self._resend)
        return False

    async def _resend(self) -> None:
        try:
            self.future = await self._client.scatter(self.data, broadcast=True, hash=False,
                                                     asynchronous=True)
        except Exception as exc:
            log.warning("re-scattering the trial evaluator to dask failed (%r); will retry", exc)
        finally:
            with self._lock:
                self.resending = False
        if self.future.status == "finished":
            self._dispatch()

    def release(self) -> None:
        if self.future is not None:
            self.future.release()


class ClusterView:
    """The workers the runner can use, read from the scheduler every ``REFRESH_INTERVAL``.
    ``capacity``: trials that fit at once (worker threads, capped by ``needs.tags``);
    ``gone``: set while no worker came back within ``worker_timeout``."""

    def __init__(self, client: Any, needs: DaskNeeds, *, streaming: bool,
                 connect_timeout: float, worker_timeout: float | None, lock: threading.Lock,
                 on_read: Callable[[dict[str, Any]], None], dispatch: Callable[[], None],
                 fail_all: Callable[[str], None], closed: Callable[[], bool]) -> None:
        self._client, self._needs, self._streaming = client, needs, streaming
        self.address = str(client.scheduler.address)
        self._connect_timeout, self._worker_timeout = connect_timeout, worker_timeout
        self._lock, self._on_read, self._dispatch = lock, on_read, dispatch
        self._fail_all, self._closed = fail_all, closed
        self.n_workers = 0
        self.capacity = 0
        self.gone: str | None = None
        self._workerless_since: float | None = None
        self._refresher: ConcurrentFuture[None] | None = None

    def wait_for_workers(self) -> None:
        """At construction: until the workers read have a slot for a default-size trial."""
        timeout = self._worker_timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self._client.sync(self.refresh)
            if self.n_workers:  # trial_resources larger than every worker: not a wait
                self._needs.check_default()
            if self.capacity > 0:
                return
            if deadline is not None and time.monotonic() > deadline:
                what = (f"none of its {self.n_workers} workers has the resources "
                        f"{self._needs.tags}" if self.n_workers else "no worker joined")
                raise PreflightError(
                    f"dask scheduler at {self.address}: {what} within worker_timeout="
                    f"{timeout:g} s; start workers with `dask worker {self.address}` (add "
                    "`--resources GPU=1` for resource tags) or raise worker_timeout")
            time.sleep(0.05)

    def probe(self, memory_limited: bool) -> None:
        """Fail at construction if a worker cannot run the trials (says which and why)."""
        found = self._client.run(worker_probe(), memory_limited, on_error="return")
        broken = {addr: why for addr, why in found.items() if why is not None}
        if broken:
            addr, why = next(iter(broken.items()))
            raise PreflightError(f"{len(broken)} of the {len(found)} dask workers cannot run "
                                 f"these trials, e.g. {addr}: {why}")

    def start(self) -> None:
        """Read the workers every ``REFRESH_INTERVAL`` from now until ``stop``."""
        self._refresher = asyncio.run_coroutine_threadsafe(self._refresh_loop(),
                                                           self._client.loop.asyncio_loop)

    def stop(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()

    async def _refresh_loop(self) -> None:
        while not self._closed():
            if self._client.status in ("closing", "closed"):  # reconnecting failed for good
                self._fail_all(f"lost the dask scheduler at {self.address}: the client could "
                               f"not reconnect within {self._connect_timeout:g} s")
            else:
                await self.refresh_quietly()
            await asyncio.sleep(REFRESH_INTERVAL)

    async def refresh_quietly(self) -> None:
        try:
            await self.refresh()
        except Exception as exc:  # the scheduler is away: keep the last count, try again
            log.debug("reading the dask workers failed: %r", exc)

    async def refresh(self) -> None:
        """Read the workers (and their slots) from the scheduler, give up on waiting trials
        after ``worker_timeout`` without any worker, and send what now fits."""
        streaming, per_worker = self._streaming, self._needs.per_worker
        ident = await self._client.scheduler.identity(
            n_workers=-1 if per_worker or streaming else 0)
        n_workers = int(ident.get("n_workers", 0))
        workers = ident.get("workers", {})
        if streaming:  # a retiring worker's slots are draining
            workers = {a: w for a, w in workers.items() if w.get("status") == "running"}
        self._needs.saw(workers.values())
        capacity = (trial_capacity(workers.values(), self._needs.tags)
                    if per_worker or streaming else int(ident.get("total_threads", 0)))
        with self._lock:
            self.n_workers, self.capacity = n_workers, capacity
        self._on_read(ident.get("workers", {}))
        now = time.monotonic()
        if capacity > 0:
            self._workerless_since = self.gone = None
        elif self._workerless_since is None:
            self._workerless_since = now
        elif (self._worker_timeout is not None
              and now - self._workerless_since > self._worker_timeout):
            self.gone = (f"no dask worker at {self.address} for worker_timeout="
                         f"{self._worker_timeout:g} s; the trial could not run")
            self._fail_all(self.gone)
        self._dispatch()
