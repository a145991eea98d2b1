"""The worker side of streaming (the driver side is ``stream.py``): a pilot is one long-lived
dask task per worker slot. It holds the slot's supervised worker process (the ``BlockingWorker``
the per-trial task uses, from the same cache) and takes trials from the driver over one
connection of dask's own comm layer, so dask's TLS and security apply unchanged.

    pilot task (dask worker thread, its own event loop)         driver (client event loop)
      connect(driver address, the worker's security) ---------> listener: hello {pilot}
      <------------------------- {"op": "trial", "n", "info"}   a trial for this slot
      BlockingWorker.run(info) in a helper thread
      {"op": "report", "n", "report"} ------------------------>  runner._report
      <-------------------------------- {"op": "stop", "n"}     a stop decision
      {"op": "result", "n", "value"} ------------------------>  settled exactly once
      <--------------------------------------- {"op": "ping"}   every refresh
      {"op": "notice", "signal"} -------------------------->  its job will be killed soon
      <----------------------------- {"op": "abandon", "n"}   kill it: requeued (notice.py)

A pilot ends when the driver closes the connection or says ``close``, when it has heard
nothing for ``DRIVER_SILENCE`` seconds (the driver is gone: its trial's process is killed),
or, once its dask worker is retiring (dask's ``lifetime``, ``retire_workers``, a scale-down),
after it has drained: it says ``draining``, returns the trials it had not begun (``unrun``)
and finishes the one it runs.
"""

from __future__ import annotations

import asyncio
import pickle
import queue
import threading
import time
from typing import Any

from runner._backends.dask import notice
from runner._backends.dask.devices import run_with_share
from runner._backends.dask.reports import report_fields
from runner._backends.dask.task import Shipment, Unrun, drop_entry, worker_entry
from trials import Report, TrialValue

__all__ = ["DRIVER_SILENCE", "run_pilot"]

DRIVER_SILENCE = 10.0
"""Seconds a pilot waits without a word from its driver (which pings every refresh, 0.5 s)
before it takes the driver for gone, kills its trial's process and ends."""
POLL = 0.25
"""Seconds between a pilot's checks of its dask worker's status and of the driver's silence."""
CONNECT_TIMEOUT = 10.0
"""Seconds a pilot may take to reach its driver."""
_RETIRING = frozenset({"closing", "closing_gracefully", "closed", "failed", "stopping",
                       "stopped"})


def run_pilot(shipment: Shipment, runner_id: str, address: str, name: str) -> str:
    """The dask task: serve trials from the driver listening at ``address`` until it is
    done with this pilot (returns why)."""
    from distributed import get_worker

    dask_worker = get_worker()
    notice.install(dask_worker)
    entry = worker_entry(shipment, runner_id)
    if isinstance(entry, Unrun):
        return "the runner was closed"
    try:
        return asyncio.run(_Pilot(dask_worker, entry[0], address, name).serve())
    finally:
        drop_entry(runner_id, entry)  # no idle process outlives its pilot


class _Pilot:
    """The connection (this thread's event loop) and the trials (a thread of their own, which
    takes the next waiting trial as soon as one ends: no hop through the loop between)."""

    def __init__(self, dask_worker: Any, worker: Any, address: str, name: str) -> None:
        self.dask_worker, self.worker, self.address, self.name = dask_worker, worker, address, name
        self.inbox: queue.SimpleQueue[tuple[int, bytes, bool, Any] | None] = queue.SimpleQueue()
        self.outbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.outstanding = 0  # trials taken and not yet answered (event loop only)
        self.current: int | None = None  # the trial running (set by the trial thread)
        self.heard = time.monotonic()
        self.draining = False  # no new trial begins (its worker retires)
        self.ending = False  # the driver is gone: none at all
        self.noticed = False  # its job got a preemption notice (notice.py)

    async def serve(self) -> str:
        from distributed.comm import core

        connect: Any = core.connect  # untyped upstream
        loop = asyncio.get_running_loop()
        if not self.worker.alive:  # start the process now, not with the first trial
            await loop.run_in_executor(None, self.worker.start)
        args = self.dask_worker.security.get_connection_args("worker")
        comm = await connect(self.address, timeout=CONNECT_TIMEOUT, **args)
        writer = asyncio.ensure_future(self._write(comm))
        trials = threading.Thread(target=self._trials, args=(loop,), daemon=True,
                                  name=f"trialrunner-{self.name}")
        trials.start()
        try:
            await comm.write({"op": "hello", "pilot": self.name,
                              "worker": str(self.dask_worker.address)})
            return await self._serve(comm)
        finally:
            self.ending = True
            if self.current is not None:  # the driver is gone: end its trial
                self.worker.kill_tree()
            self.inbox.put(None)
            await loop.run_in_executor(None, trials.join)
            self.outbox.put_nowait(None)
            await asyncio.wait([writer], timeout=1.0)
            comm.abort()

    async def _serve(self, comm: Any) -> str:
        reader: asyncio.Future[Any] = asyncio.ensure_future(comm.read())
        try:
            while True:
                await asyncio.wait([reader], timeout=POLL)
                if reader.done():
                    try:
                        msg = reader.result()
                    except Exception:  # the connection closed: the driver is gone
                        return "the driver closed the connection"
                    self.heard = time.monotonic()
                    if msg.get("op") == "close":
                        return "the driver closed the pilot"
                    self._take(msg)
                    reader = asyncio.ensure_future(comm.read())
                self._check_worker()
                if self.draining and not self.outstanding:
                    return "its dask worker is retiring"
                if time.monotonic() - self.heard > DRIVER_SILENCE:
                    return f"no word from the driver for {DRIVER_SILENCE:g} s"
        finally:
            reader.cancel()

    def _take(self, msg: dict[str, Any]) -> None:
        op = msg.get("op")
        if op == "trial":
            self.outstanding += 1
            self.inbox.put((msg["n"], msg["info"], bool(msg.get("wait")), msg.get("need")))
        elif op == "ping":
            self._send({"op": "pong"})
        elif op == "stop" and self.current == msg["n"]:
            self.worker.stop()
        elif op == "continue" and self.current == msg["n"]:  # a waiting report's answer
            self.worker.proceed()
        elif op == "abandon" and self.current == msg["n"]:  # requeued for a notice
            self.worker.kill_tree()

    def _trials(self, loop: asyncio.AbstractEventLoop) -> None:
        """The trial thread: run what comes in, in order; answer each."""
        while (item := self.inbox.get()) is not None:
            n, blob, wait, need = item
            if self.ending:
                continue
            if self.draining:  # taken, never begun: the driver sends it elsewhere
                loop.call_soon_threadsafe(self._answer, {"op": "unrun", "n": n})
                continue

            def on_report(report: Report, n: int = n) -> None:
                loop.call_soon_threadsafe(self._send, {"op": "report", "n": n,
                                                       "report": report_fields(report)})

            self.current = n
            try:
                value: TrialValue = run_with_share(self.worker, pickle.loads(blob), need,
                                                   on_report, wait, self.dask_worker)
            finally:
                self.current = None
            loop.call_soon_threadsafe(self._answer, {
                "op": "result", "n": n, "value": pickle.dumps(value, protocol=5)})

    def _answer(self, msg: dict[str, Any]) -> None:
        self.outstanding -= 1
        self._send(msg)

    def _check_worker(self) -> None:
        status = getattr(self.dask_worker.status, "name", "running")
        signame = notice.noticed()
        if signame is not None and not self.noticed:  # its job will be killed soon
            self.noticed = self.draining = True
            self._send({"op": "notice", "signal": signame})
        elif status in _RETIRING and not self.draining:
            self.draining = True
            self._send({"op": "draining"})

    def _send(self, msg: dict[str, Any]) -> None:
        self.outbox.put_nowait(msg)

    async def _write(self, comm: Any) -> None:
        """Write the outbox in order (reports before their trial's result)."""
        while (msg := await self.outbox.get()) is not None:
            try:
                await comm.write(msg)
            except Exception:  # closed: the reader sees it too
                return
