"""The driver side of streaming (the pilots are ``pilot.py``): ``PilotFleet`` keeps one pilot
task per worker slot on the cluster and sends trials straight to idle pilots over dask's comm
layer, so the scheduler sees one task per slot, not one per trial. ``DaskRunner`` owns one,
given the client, the runner's lock, its cluster view and shipment, and the runner itself only
as a ``StreamHost`` (fleet.py): the few steps of its queue and books the fleet takes.

    steer (after each read of the workers): for each running dask worker, launch the pilots
      its slots lack (client.submit(run_pilot, pinned, with the runner's resources)); drop
      those of workers gone, whose task ended or that are silent; ping every connected pilot
    listener (distributed.comm.listen, the client's scheme and security): a pilot says hello;
      from then on it holds up to one trial running (and, while trials are short, one
      waiting), or is draining
    dispatch: the next queued trial -> an idle pilot whose worker has its resources free
      (or, short trials, a pilot with one running)
    a pilot's result -> host._settle (exactly once, as a task's); its connection or task
      lost -> its trial is requeued (max_requeues) as when a dask worker is lost

Everything runs on the client's event loop except ``dispatch`` and ``stop`` (any thread, they
take the runner's lock and hand the sending to the loop).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import pickle
import threading
import time
from collections.abc import Callable
from typing import Any

from runner._backends.dask.cluster import PilotLost, trial_capacity
from runner._backends.dask.fleet import Pilot, StreamHost
from runner._backends.dask.flight import Flight, Resources
from runner._backends.dask.notice import Notices
from runner._backends.dask.pilot import run_pilot
from runner._backends.dask.reports import report_of
from runner._backends.dask.watch import ClusterView, Shipping
from trials import TrialInfo

__all__ = ["STREAM_DEPTH", "PilotFleet"]

log = logging.getLogger(__name__)

STREAM_DEPTH = 1
"""Trials a slot holds while trials are short. 2 would let a pilot begin its next trial without a
round trip to the driver, but ``count_available_workers`` would then offer more places than
workers, against the contract ("free workers now"; ``runner.testing`` checks it), so it is 1
(docs/decisions.md)."""
SHORT_TRIAL = 0.1
"""Trials shorter than this (seconds, running mean) are short."""
PILOT_START = 10.0
"""Seconds construction waits for the pilots to connect (a busy slot's pilot comes later)."""

PILOT_SILENCE = 10.0
"""Seconds a connected pilot may stay silent (it answers every ping) before the driver takes
it for lost and requeues its trial: a machine that vanished closes no connection."""


class PilotFleet:
    """The runner's pilots: launched, connected, fed trials, and ended (see the module doc)."""

    def __init__(self, host: StreamHost, client: Any, runner_id: str, lock: threading.Lock,
                 done: threading.Condition, *, resources: Resources | None, view: ClusterView,
                 shipping: Shipping, cluster: Callable[[], Any]) -> None:
        self._host, self._client, self._id = host, client, runner_id
        self._lock, self._done, self._resources = lock, done, resources
        self._view, self._shipping = view, shipping
        self._pilots: dict[str, Pilot] = {}
        self._workers: dict[str, Any] = {}  # address -> the scheduler's identity of it
        self._names = itertools.count()
        self._notices = Notices(host, lock, cluster, self.send)
        self.listener: Any = None  # set once listening
        self._address = ""  # where the pilots reach the listener

    @property
    def pilots(self) -> dict[str, Pilot]:
        """The pilots launched and not yet ended, by name."""
        return self._pilots

    def depth(self) -> int:
        """Trials each slot holds: two while trials are short."""
        return STREAM_DEPTH if self._host._mean_time < SHORT_TRIAL else 1

    def listen(self) -> None:
        """Start listening for the pilots (at construction)."""
        self.listener = self._client.sync(self._listen)
        self._address = str(self.listener.contact_address)

    def wait_for_pilots(self) -> None:
        """At construction: until a pilot serves every slot (at most ``PILOT_START`` s), so
        that the first trials start at once."""
        with self._done:
            self._done.wait_for(lambda: self._host.closed or sum(
                p.comm is not None for p in self._pilots.values()) >= self._view.capacity,
                PILOT_START)

    async def _listen(self) -> Any:
        from distributed import utils
        from distributed.comm import core
        from distributed.comm.addressing import parse_address, parse_host_port

        listen: Any = core.listen  # untyped upstream
        get_ip: Any = utils.get_ip

        scheme, location = parse_address(self._view.address)
        if scheme == "inproc":
            where = "inproc://"
        else:  # the interface this machine reaches the scheduler by: workers reach us there
            host = parse_host_port(location)[0]
            where = f"{scheme}://{get_ip(host)}:0"
        args = self._client.security.get_listen_args("client")
        listener = listen(where, self._on_pilot, **args)
        await listener.start()
        return listener

    # -- pilots coming and going (event loop) --------------------------------------------------

    def steer(self, workers: dict[str, Any]) -> None:
        """After a read of the workers: drop the pilots of workers gone, ping the others,
        launch the pilots that running workers lack."""
        self._workers = workers
        now = time.monotonic()
        for pilot in list(self._pilots.values()):
            if pilot.future.done():  # it failed (e.g. never reached us), or ended
                self._pilot_ended(pilot)
                continue
            info = workers.get(pilot.worker)
            if pilot.comm is None:
                if info is None:  # it never started: its worker left
                    self._pilot_gone(pilot, "its dask worker left the cluster")
                continue
            # connected: it ends with its connection (a retiring worker's pilot drains
            # first), or when it has been silent too long (its machine vanished)
            if now - pilot.heard > PILOT_SILENCE:
                self._pilot_gone(pilot, f"it was silent for {PILOT_SILENCE:g} s")
                continue
            if info is None or info.get("status") != "running":
                pilot.draining = True
            asyncio.ensure_future(self._write(pilot, {"op": "ping"}))
        if self._host.closed or not self._shipping.ready():  # not yet, or (all lost) sent again
            return
        have: dict[str, int] = {}
        for pilot in self._pilots.values():
            have[pilot.worker] = have.get(pilot.worker, 0) + 1
        for address, info in workers.items():
            if info.get("status", "running") != "running" or address in self._notices.workers:
                continue  # retiring, paused or closing: no new pilot there
            for _ in range(trial_capacity([info], self._resources) - have.get(address, 0)):
                self._launch(address)

    def _launch(self, address: str) -> None:
        name = f"trialrunner-pilot-{self._id}-{next(self._names)}"
        try:
            future = self._client.submit(
                run_pilot, self._shipping.future, self._id, self._address, name, key=name,
                workers=[address], allow_other_workers=False, resources=self._resources,
                pure=False)
        except Exception as exc:  # the client is closing
            log.debug("could not start a pilot on %s: %r", address, exc)
            return
        pilot = Pilot(name, address, future)
        pilot.worker_name = (self._workers.get(address) or {}).get("name")
        with self._lock:  # other threads look for a free pilot
            self._pilots[name] = pilot

    def _pilot_ended(self, pilot: Pilot) -> None:
        status = pilot.future.status
        if status == "error" and not pilot.ended and not self._host.closed:
            asyncio.ensure_future(self._pilot_failed(pilot))
        self._pilot_gone(pilot, f"its task ended ({status})")

    async def _pilot_failed(self, pilot: Pilot) -> None:
        try:
            exc = await pilot.future.exception()
        except Exception as error:  # the client is closing
            exc = error
        log.warning("a trialrunner pilot on dask worker %s failed: %r", pilot.worker, exc)

    async def _on_pilot(self, comm: Any) -> None:
        """A pilot connected: serve its messages until its connection closes."""
        try:
            hello = await asyncio.wait_for(comm.read(), 30)
            pilot = self._pilots.get(hello.get("pilot", ""))
        except Exception:
            comm.abort()
            return
        if pilot is None or pilot.ended or self._host.closed:
            await self._write_comm(comm, {"op": "close"})
            comm.abort()
            return
        with self._done:
            pilot.comm, pilot.heard = comm, time.monotonic()
            self._done.notify_all()
        self._host._dispatch()
        while True:
            try:
                msg = await comm.read()
            except Exception:
                break
            pilot.heard = time.monotonic()
            op = msg.get("op")
            if op == "result":
                self._pilot_result(pilot, msg)
            elif op == "report":
                flight = pilot.flights.get(msg["n"])
                if flight is not None:
                    self._host._report(flight.info, report_of(msg["report"]))
            elif op == "unrun":
                self._pilot_unrun(pilot, msg["n"])
            elif op == "draining":
                pilot.draining = True
            elif op == "notice":
                self._notices.on_notice(pilot, str(msg.get("signal")))
        self._pilot_gone(pilot, "its connection closed")

    def _pilot_result(self, pilot: Pilot, msg: Any) -> None:
        with self._lock:
            flight = pilot.flights.pop(msg["n"], None)
            if flight is None:
                return
        value = pickle.loads(msg["value"])
        if not self._notices.paused(flight, value):  # paused for a notice: it goes on
            self._host._settle(flight, pilot, value)

    def _pilot_unrun(self, pilot: Pilot, n: int) -> None:
        """The pilot (draining) did not begin its trial: queue it again, no loss counted."""
        with self._lock:
            flight = pilot.flights.pop(n, None)
            if flight is not None:
                self._requeue_unrun(flight)
        self._host._dispatch()

    def _requeue_unrun(self, flight: Flight) -> None:
        """``flight`` never began: to the front of the queue, no loss counted (lock held)."""
        if not flight.done:
            self._host._put_back(flight)

    def _pilot_gone(self, pilot: Pilot, why: str) -> None:
        """The pilot ended or was lost: forget it, requeue its trial as a lost worker's."""
        with self._lock:
            if pilot.ended:
                return
            pilot.ended = True
            self._pilots.pop(pilot.name, None)
            flights = [pilot.flights[n] for n in sorted(pilot.flights)]
            pilot.flights.clear()
            for waiting in reversed(flights[1:]):  # the first ran (or may have); not these
                self._requeue_unrun(waiting)
            flight = flights[0] if flights else None
        if pilot.comm is not None:
            pilot.comm.abort()
        if not pilot.future.done() and self._client.status == "running":
            asyncio.ensure_future(self._client.cancel([pilot.future], asynchronous=True))
        if flight is not None and not flight.done and not self._host.closed:
            self._host._lost(flight, PilotLost(
                f"the pilot on dask worker {pilot.worker} was lost: {why}",
                pilot.worker_name, pilot.worker))
        self._host._dispatch()

    # -- trials to pilots ---------------------------------------------------------------------

    def dispatch(self) -> None:
        """Send queued trials to idle pilots (from any thread; never blocks)."""
        host, sends = self._host, []
        with self._lock:
            while (flight := host._next_flight()) is not None:
                pilot = self._free_pilot(flight)
                if pilot is None:
                    break
                host._take()
                pilot.n += 1
                pilot.flights[pilot.n], flight.future = flight, pilot
                msg = {"op": "trial", "n": pilot.n, "info": flight.blob}
                if host._waiting_locked(flight.info):  # each report waits for its decision
                    msg["wait"] = True
                if flight.need is not None:  # ids assigned within the worker (devices.py)
                    msg["need"] = flight.need
                sends.append((pilot, msg))
        for pilot, msg in sends:
            self._client.loop.add_callback(self._send_trial, pilot, msg)

    def _free_pilot(self, flight: Flight) -> Pilot | None:
        """An idle pilot whose worker has ``flight``'s resources free or, while trials are
        short, one running a single trial of the runner's resources (lock held). Tags are
        counted even for a default-size trial: a bigger one may hold its worker's share."""
        need = flight.resources
        own = need is None or need == self._resources
        for pilot in self._pilots.values():
            if pilot.free(1) and (need is None or self._fits(pilot.worker, need)):
                return pilot
        if own and self.depth() > 1:
            for pilot in self._pilots.values():
                if pilot.free(self.depth()):
                    return pilot
        return None

    def _fits(self, worker: str, need: Any) -> bool:
        have = dict((self._workers.get(worker) or {}).get("resources") or {})
        for other in self._pilots.values():
            if other.worker != worker:
                continue
            for busy in other.flights.values():
                for key, amount in (busy.resources or {}).items():
                    have[key] = have.get(key, 0) - amount
        return all(have.get(key, 0) >= amount for key, amount in need.items())

    async def _send_trial(self, pilot: Pilot, msg: Any) -> None:
        if msg["n"] not in pilot.flights:
            return
        try:
            await pilot.comm.write(msg)
        except Exception as exc:
            self._pilot_gone(pilot, f"sending it a trial failed: {exc!r}")

    def stop(self, info: TrialInfo, op: str = "stop") -> None:
        """Send a stop (or, for a waiting report, a ``continue``) for ``info`` to the pilot
        running it (any thread)."""
        with self._lock:
            found = [(pilot, n) for pilot in self._pilots.values()
                     for n, f in pilot.flights.items() if f.info is info and not f.done]
        for pilot, n in found:
            self.send(pilot, {"op": op, "n": n})

    def send(self, pilot: Pilot, msg: dict[str, Any]) -> None:
        """Have the event loop write ``msg`` to ``pilot`` (any thread)."""
        self._client.loop.add_callback(self._write, pilot, msg)

    async def _write(self, pilot: Pilot, msg: Any) -> None:
        if pilot.comm is not None:
            await self._write_comm(pilot.comm, msg)

    @staticmethod
    async def _write_comm(comm: Any, msg: Any) -> None:
        try:
            await comm.write(msg)
        except Exception:  # closed: its reader sees it
            pass

    async def end(self) -> None:
        """On close: tell every pilot to end, cancel their tasks, stop listening."""
        pilots = list(self._pilots.values())
        for pilot in pilots:
            if pilot.comm is not None:
                await self._write_comm(pilot.comm, {"op": "close"})
        for pilot in pilots:
            self._pilot_gone(pilot, "the runner was closed")
        if self.listener is not None:
            self.listener.stop()

