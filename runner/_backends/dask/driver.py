"""``DaskRunner``: trials on a dask cluster, each isolated in a supervised worker process that
the dask worker keeps between trials. Streaming (the default, ``stream.py``'s ``PilotFleet``):
one pilot task per worker slot takes the trials over dask's comm. ``streaming=False``, a task each:

    submit_trial -> _pending (deque) --a free slot--> _fly, on the client's event loop:
                                                      client.submit(run_trial, key, id, info)
                                                      | dask worker: WorkerProcess.run(info)
    _finished <------------- _settle <--- gather -----+
                   | the dask worker was lost (KilledWorker, lost connection, cancelled by dask):
                   +-> back to the front of _pending, at most max_requeues times, then CRASHED

* The evaluator is scattered once, to every worker (again only if every copy is lost).
* A trial that dies kills only its ``WorkerProcess``: every dask-level loss is "outside the
  trial", requeued apart from the loop's retries (dask's own re-runs are off).
* One trial per worker slot on the cluster (``PREFETCH`` for short trials), the rest wait here;
  slots (worker threads, or what ``resources`` allow) are read every ``REFRESH_INTERVAL``.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import attrs

from runner._backends.allocation import TrialResources
from runner._backends.dask.cluster import connect, is_worker_loss
from runner._backends.dask.devices import DaskNeeds, split_capacity
from runner._backends.dask.fleet import task_futures
from runner._backends.dask.flight import Flight, Resources, check_count, check_seconds
from runner._backends.dask.reports import DaskReports
from runner._backends.dask.slurm import lost_worker, slurm_runner
from runner._backends.dask.stream import SHORT_TRIAL, PilotFleet
from runner._backends.dask.task import (
    Shipment,
    Unrun,
    allowed_failures_hold,
    close_runner,
    run_trial,
)
from runner._backends.dask.watch import ClusterView, Shipping
from runner._backends.local import LocalWorker
from runner._core import lifecycle, verdicts
from runner._core.validation import check_n_workers
from trials import TrialInfo, TrialValue

__all__ = ["DaskRunner"]

log = logging.getLogger(__name__)

PREFETCH = 3
"""streaming=False, short trials (under ``SHORT_TRIAL``) with more queued: one executing, one
waiting on its worker, one on the scheduler per slot (no driver round trip between trials)."""
CLOSE_TIMEOUT = 10.0
"""Seconds ``close()`` waits for the workers to end the runner's worker processes."""


class DaskRunner(LocalWorker):
    """Run trials on a dask cluster, in one isolated worker process per dask worker thread.

    ``client``: ``None`` starts a ``LocalCluster`` of ``n_workers`` processes (default: one per
    core) with one thread each, shut down by ``close()``; a scheduler address string
    (``"tcp://host:8786"``) connects within ``connect_timeout`` seconds (also the time the
    connection may take to come back if it drops); a ``distributed.Client`` is used and left
    open. ``security``: a ``distributed.Security`` (TLS) for the connection or the cluster.
    ``worker_timeout``: seconds to wait for a worker at construction, and mid-run while no
    worker is left before the waiting trials are CRASHED with "no dask worker" (``None``: wait
    for ever); until a worker is back, new trials then fail at once and one slot is offered so
    that a loop ends. ``max_requeues``: how often a trial is re-run when the dask worker
    hosting it is lost (then it is CRASHED, "worker lost N times"); a re-run trial's value says
    ``additional_info["requeues"]``. ``trial_resources``: what each trial needs (``{"cpu": 2,
    "gpu": 1, "memory": MB}``, a callable of the ``TrialInfo``, or ``info.additional_info[
    "resources"]``), with ids within each dask worker (docs/resources.md). ``resources``: what
    the runner has (``{"gpu": ["0", "1"]}``), shared out over its own LocalCluster's workers
    (a cluster's say it: ``--resources "GPU=2 CPU=8"``); raw dask tags there are deprecated.

    A scheduler the runner did not start gets ``allowed_failures = 0`` while the runner is
    open (restored when the last DaskRunner on it closes; a driver killed without ``close()``
    leaves it at 0), so a lost worker is reported to the runner, which re-runs and counts it.
    A dask worker's ``memory_limit`` (times the nanny's terminate fraction, 95 %, split over its
    threads) bounds each trial's resident memory: beyond it the trial is MEMORYOUT. Results
    come through the scheduler unless the Client has ``direct_to_workers=True`` (ours has)."""

    backend = "dask"

    def __init__(self, target: Any = None, *, client: Any = None, n_workers: int | None = None,
                 max_requeues: int = 3, trial_resources: TrialResources = None,
                 resources: Resources | None = None, connect_timeout: float = 10.0,
                 worker_timeout: float | None = 30.0, security: Any = None,
                 streaming: bool = True, **kwargs: Any) -> None:
        self._max_requeues: int = check_count(max_requeues, "max_requeues")
        if n_workers is not None:
            n_workers = check_n_workers(n_workers)
            if client is not None:
                raise ValueError("n_workers applies only when DaskRunner starts its own "
                                 f"LocalCluster (client=None); got client={client!r}")
        self._connect_timeout: float = check_seconds(connect_timeout, "connect_timeout")
        self._worker_timeout: float | None = None if worker_timeout is None else (
            check_seconds(worker_timeout, "worker_timeout", " or None"))
        resources, specs = split_capacity(resources, client, n_workers)  # what it has, if said
        self._needs: DaskNeeds = DaskNeeds(resources, trial_resources)
        self._resources: Resources | None = self._needs.tags  # a default-size trial's tags
        if not isinstance(streaming, bool):
            raise TypeError(f"streaming must be True or False, got {streaming!r}")
        self._streaming: bool = streaming
        super().__init__(target, **kwargs)
        shipment = Shipment(self._payload(), self._objectives, self._limits)
        self._id: str = uuid.uuid4().hex
        self._flights: set[Flight] = set()
        self._spent: list[Any] = []  # finished futures not yet released (event loop only)
        self._mean_time: float = 1.0  # running mean of the trials' wall time: long until seen short
        self._holds_failures: bool = False
        self._view: ClusterView  # the workers and their slots (watch.py), once connected
        self._shipping: Shipping  # the evaluator on every worker
        self._channel: DaskReports | None = None  # reports, when the target takes them
        self._fleet: PilotFleet | None = None  # the pilots, when streaming
        self._client: Any
        self._cluster: Any
        self._own_client: bool
        try:
            self._client, self._cluster, self._own_client = connect(
                client, n_workers, self._connect_timeout, security, specs)
        except BaseException:
            self._closed = True  # nothing to release: never connected
            lifecycle.closed(self)
            raise
        self._view = ClusterView(
            self._client, self._needs, streaming=streaming, connect_timeout=self._connect_timeout,
            worker_timeout=self._worker_timeout, lock=self._lock, on_read=self._on_read,
            dispatch=self._dispatch, fail_all=self._fail_all, closed=lambda: self._closed)
        self._shipping = Shipping(self._client, shipment, self._lock, self._dispatch)
        lifecycle.opened(self)  # again, now that dask is imported: close before its exit handlers
        try:
            if self._streaming:
                self._fleet = PilotFleet(self, self._client, self._id, self._lock, self._done,
                                         resources=self._resources, view=self._view,
                                         shipping=self._shipping, cluster=lambda: self._cluster)
                self._fleet.listen()
            elif self._target.wants_report:
                self._channel = DaskReports(self._client, self._id, self._report)
            self._hold_allowed_failures()
            self._view.wait_for_workers()
            self._view.probe(self._limits.memory is not None)
            self._shipping.send()
            self._view.start()
            if self._fleet is not None:
                self._fleet.wait_for_pilots()
        except BaseException:
            self._release_backend()
            raise

    slurm = classmethod(slurm_runner)  # DaskRunner.slurm(target, jobs, cores, memory, ...)

    # -- connecting --------------------------------------------------------------------------

    def _hold_allowed_failures(self) -> None:
        if self._cluster is not None:  # our own LocalCluster has allowed-failures 0 already
            return
        try:
            self._client.run_on_scheduler(allowed_failures_hold(), self._id, True)
            self._holds_failures = True
        except Exception as exc:
            log.warning("could not set allowed_failures=0 on the dask scheduler at %s (%r): dask "
                        "may re-run a trial whose worker died up to allowed-failures times "
                        "without the runner counting it", self._view.address, exc)

    def _on_read(self, workers: dict[str, Any]) -> None:
        """After each read of the workers (event loop): release the finished futures; with
        streaming, steer the pilots."""
        self._spent = []
        if self._fleet is not None:
            self._fleet.steer(workers)

    # -- moving trials ----------------------------------------------------------------------

    def submit_trial(self, info: TrialInfo) -> None:
        self._check_submit(info)
        resources, need = self._needs.of(info)  # refused now if no worker can ever fit it
        try:
            flight = Flight(info, resources, need)
        except Exception as exc:  # before it runs, not after
            raise TypeError(f"submit_trial(): the TrialInfo cannot be pickled to travel to dask "
                            f"workers: {exc!r}") from exc
        with self._lock:
            self._enqueue(flight)
        self._dispatch()

    def _dispatch(self) -> None:
        """Send queued trials to dask while a slot is free (from any thread; never blocks)."""
        view, shipping = self._view, self._shipping
        if view.gone is not None:
            self._fail_all(view.gone)
            return
        if self._streaming:
            if self._fleet is not None:
                self._fleet.dispatch()
            return
        while True:
            with self._lock:
                window = view.capacity * (PREFETCH if self._mean_time < SHORT_TRIAL else 1)
                if (self._closed or not self._pending or self._executing >= window
                        or not shipping.ready()):  # (every replica lost: it is sent again)
                    return
                flight = self._take()
            # one wake-up of the event loop per trial; from the loop itself it is a call_soon
            self._client.loop.add_callback(self._fly, flight)

    async def _fly(self, flight: Flight) -> None:
        """On the client's event loop: submit the trial, wait for it, gather it, settle it."""
        if flight.done or self._closed:  # close() settles it
            return
        shipment, pin = self._shipping.future, flight.pin
        args = (shipment.key, self._id, flight.blob) + (() if pin is None else (shipment,))
        place = {"workers": [pin], "allow_other_workers": True} if pin else {}  # "": unknown
        # run_trial's own keywords: its reports wait for their decisions; its need (devices.py)
        waits: dict[str, Any] = {"need": flight.need} if flight.need is not None else {}
        if self._channel is not None and self._waiting(flight.info):
            waits["waits"] = True
        try:
            future = self._client.submit(run_trial, *args, pure=False,
                                         resources=flight.resources, **place, **waits)
        except Exception as exc:  # the client is closed or broken
            self._finish(flight, self._not_run(f"could not submit the trial to dask: {exc!r}"))
            return
        flight.future = future
        if self._channel is not None:
            self._channel.flying(str(future.key), flight.info)
        self._spent = []  # release the finished futures now, after this trial's graph went out
        try:  # the asynchronous form of client.gather: waits, then fetches or raises
            result = await self._client.gather(future, asynchronous=True)
        except BaseException as exc:  # the task erred, was cancelled, or its worker was lost
            result = exc
        if self._channel is not None:
            self._channel.landed(str(future.key))
        # Held until the next submit (or refresh): a release sent just before the next trial's
        # graph would delay it by up to 10 ms, the client's batching interval.
        self._spent.append(future)
        self._settle(flight, future, result)

    def _settle(self, flight: Flight, future: Any, result: Any) -> None:
        if flight.done or future is not flight.future:
            return
        if isinstance(result, TrialValue):
            self._mean_time += 0.2 * (result.time - self._mean_time)
            if flight.losses:
                result = attrs.evolve(result, additional_info={
                    **result.additional_info, "requeues": flight.losses})
            self._finish(flight, result)
        elif self._closed:
            self._finish(flight, self._cancelled_value())
        elif isinstance(result, Unrun):  # that worker had no shipment: send it along
            flight.pin, flight.future = result.address or "", None
            asyncio.ensure_future(self._fly(flight))
            return
        elif isinstance(result, BaseException) and is_worker_loss(result):
            self._lost(flight, result)
        else:
            self._finish(flight, self._not_run(
                f"the dask task failed outside the trial: {result!r}"))
        self._dispatch()

    # -- the queue steps the pilot fleet takes too (``StreamHost``; lock held) ---------------

    def _next_flight(self) -> Flight | None:
        return self._pending[0] if self._pending and not self._closed else None

    def _take(self) -> Flight:
        flight: Flight = self._dequeue()
        self._started()
        self._flights.add(flight)
        return flight

    def _put_back(self, flight: Flight) -> None:
        self._unstarted()
        self._flights.discard(flight)
        flight.future = None
        self._enqueue(flight, front=True)

    def _lost(self, flight: Flight, exc: BaseException) -> None:
        """The dask worker of ``flight`` was lost: requeue it at the front, or give up."""
        with self._lock:
            if flight.done:
                return
            flight.losses += 1
            if flight.losses - flight.notices <= self._max_requeues:  # notices are free
                self._put_back(flight)
                self._interrupted(flight.info, flight.losses, *lost_worker(self._cluster, exc))
                log.info("dask lost a trial's worker (%r); requeued it (%d of %d)", exc,
                         flight.losses, self._max_requeues)
                asyncio.ensure_future(self._view.refresh_quietly())
                return
        n = flight.losses
        self._finish(flight, verdicts.worker_lost(self._objectives.crash_cost, n,
                                                  self._max_requeues, repr(exc)))

    def _finish(self, flight: Flight, value: TrialValue, *, started: bool = True) -> None:
        """Record ``flight``'s final value exactly once."""
        with self._done:
            if flight.done:
                return
            flight.done = True
            if started:
                self._flights.discard(flight)
            self._record(flight.info, value, started=started)

    def _fail_all(self, error: str) -> None:
        """CRASH every queued and executing trial with ``error`` (the cluster is gone)."""
        with self._lock:
            queued = self._dequeue_all()
            flights = list(self._flights)
        if not queued and not flights:
            return
        log.error(error)
        for flight in queued:
            self._finish(flight, self._not_run(error), started=False)
        futures = task_futures(flights)
        if futures and self._client.status == "running":  # the async form, on the loop
            self._client.loop.add_callback(self._client.cancel, futures, asynchronous=True,
                                           reason=error)
        for flight in flights:
            self._finish(flight, self._not_run(error))

    def _not_run(self, error: str) -> TrialValue:
        return verdicts.not_run(self._objectives.crash_cost, error)

    # -- the rest of the contract --------------------------------------------------------

    def count_available_workers(self) -> int:
        # with every worker gone for good a trial fails at once (CRASHED, "no dask worker"):
        # offering one slot lets a loop see that and end, instead of waiting for ever
        if self._view.gone:
            return max(0, 1 - self._executing - len(self._pending))
        depth = 1 if self._fleet is None else self._fleet.depth()
        return max(0, self._view.capacity * depth - self._executing - len(self._pending))

    @property
    def client(self) -> Any:
        """The ``distributed.Client`` in use."""
        return self._client

    def _backend_meta(self) -> dict[str, Any]:
        return {"scheduler": self._view.address, "n_workers": self._view.n_workers,
                "max_requeues": self._max_requeues, "streaming": self._streaming}

    def _close(self) -> None:
        with self._lock:
            queued = self._dequeue_all()
            flights = list(self._flights)
        for flight in queued:
            self._finish(flight, self._cancelled_value(), started=False)
        futures = task_futures(flights)
        try:
            if self._client.status == "running":
                if futures:
                    self._client.cancel(futures, reason="the DaskRunner was closed")
                # a cancelled task that already runs goes on: end its worker processes
                self._client.run(close_runner, self._id, on_error="ignore",
                                 callback_timeout=CLOSE_TIMEOUT)
        except Exception as exc:
            log.warning("could not stop the runner's trials on the dask workers: %r", exc)
        for flight in flights:
            self._finish(flight, self._cancelled_value())
        self._spent = []
        self._release_backend()

    def _decide(self, info: TrialInfo, decision: Any) -> None:
        if self._fleet is not None:
            self._fleet.stop(info)
        elif self._channel is not None:
            self._channel.stop(info)

    def _continue(self, info: TrialInfo) -> None:
        if self._fleet is not None:
            self._fleet.stop(info, "continue")
        elif self._channel is not None:
            self._channel.proceed(info)

    def _release_backend(self) -> None:
        if self._channel is not None:
            self._channel.close()
        self._view.stop()
        fleet = self._fleet
        if fleet is not None and fleet.listener is not None and self._client.status == "running":
            try:
                self._client.sync(fleet.end, callback_timeout=CLOSE_TIMEOUT)
            except Exception as exc:
                log.debug("ending the runner's pilots failed: %r", exc)
        try:
            self._shipping.release()
            if self._holds_failures:
                self._client.run_on_scheduler(allowed_failures_hold(), self._id, False)
        except Exception as exc:
            log.debug("releasing the runner's state on the dask scheduler failed: %r", exc)
        if self._own_client:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
