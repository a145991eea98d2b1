"""Reports of trials running on dask, both sides: a trial's reports become dask events on a
topic of the runner's own, which the client is subscribed to; a stop decision goes to the dask
worker running the trial with ``client.run``, and from there down the trial's worker pipe.

    dask worker thread: BlockingWorker.run(info, on_report)        client event loop
      on_report(report) -- worker.log_event(topic, {key, worker, report}) --> _on_event:
                                                                  runner._report(info, report)
    dask worker event loop: stop_trial(key) <-- client.run(..., workers=[that worker]) <-- decide
      -> the BlockingWorker running ``key``: stop() (TrialStopped at its next report; killed
         after grace otherwise)

A trial that waits for decisions (``wait_for_decisions``, runner/_core/waiting.py) blocks in
each report until its answer comes down the same way: ``stop_trial``, or ``continue_trial``
(-> ``proceed()``); a report the driver cannot route is answered "continue" at once.

A trial requeued after its dask worker was lost reports again from its start (its curve then
holds both attempts' reports).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any

from trials import Report, TrialInfo

__all__ = ["DaskReports", "continue_trial", "report_fields", "report_of", "running", "sink", "stop_trial",
           "topic"]

log = logging.getLogger(__name__)

_RUNNING: dict[str, Any] = {}  # on a dask worker: task key -> the BlockingWorker running it
_LOCK = threading.Lock()
_PLAIN = (str, int, float, bool, type(None))


def topic(runner_id: str) -> str:
    """The event topic of one runner's reports."""
    return f"trialrunner-reports-{runner_id}"


def sink(runner_id: str, waits: bool = False
         ) -> tuple[str | None, Callable[[Report], None] | None]:
    """In a dask task: this task's key and where its trial's reports go (``None`` outside a
    dask worker); ``waits``: the trial's reports wait for their answers."""
    try:
        from distributed import get_worker

        worker = get_worker()
        key = str(worker.get_current_task())
    except Exception:
        return None, None
    name, address = topic(runner_id), str(worker.address)

    def send(report: Report) -> None:
        event: dict[str, Any] = {"key": key, "worker": address, "report": report_fields(report)}
        if waits:
            event["wait"] = True
        worker.log_event(name, event)

    return key, send


def report_fields(report: Report) -> list[Any]:
    """``report`` as plain fields that travel through dask's msgpack (metrics it cannot carry
    become their ``repr``)."""
    metrics = {k: v if isinstance(v, _PLAIN) else repr(v) for k, v in report.metrics.items()}
    cost = list(report.cost) if isinstance(report.cost, tuple) else report.cost
    return [report.step, cost, metrics, report.time]


def report_of(fields: Any) -> Report:
    """The ``Report`` of `report_fields` (raises if they cannot be read)."""
    step, cost, metrics, elapsed = fields
    return Report(step, tuple(cost) if isinstance(cost, list) else cost, metrics, elapsed)


class running:  # noqa: N801 - a context manager read as a phrase
    """``with running(key, worker):`` the trial of task ``key`` runs in ``worker`` (so a stop
    decision can find it)."""

    def __init__(self, key: str | None, worker: Any) -> None:
        self.key, self.worker = key, worker

    def __enter__(self) -> None:
        if self.key is not None:
            with _LOCK:
                _RUNNING[self.key] = self.worker

    def __exit__(self, *exc: object) -> None:
        if self.key is not None:
            with _LOCK:
                _RUNNING.pop(self.key, None)


async def stop_trial(key: str) -> bool:
    """Run on a dask worker's event loop by ``client.run`` (a coroutine, so the client need not
    wait for it): tell the trial of task ``key`` to stop."""
    with _LOCK:
        worker = _RUNNING.get(key)
    if worker is None:
        return False  # it ended meanwhile
    worker.stop()
    return True


async def continue_trial(key: str) -> bool:
    """As `stop_trial`: answer the waiting report of the trial of task ``key`` "continue"."""
    with _LOCK:
        worker = _RUNNING.get(key)
    if worker is None:
        return False  # it ended meanwhile
    worker.proceed()
    return True


def _on_event_loop() -> bool:
    """Whether this thread runs an event loop (the client's, in a subscription handler)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class DaskReports:
    """The driver's side: the subscription, which task runs which trial, and decisions."""

    def __init__(self, client: Any, runner_id: str, deliver: Callable[[TrialInfo, Report], Any]):
        self._client, self._topic, self._deliver = client, topic(runner_id), deliver
        self._infos: dict[str, TrialInfo] = {}  # task key -> trial
        self._where: dict[str, str] = {}  # task key -> the dask worker it reported from
        self._lock = threading.Lock()
        client.subscribe_topic(self._topic, self._on_event)

    def flying(self, key: str, info: TrialInfo) -> None:
        """Task ``key`` runs trial ``info`` (called as it is submitted)."""
        with self._lock:
            self._infos[key] = info

    def landed(self, key: str) -> None:
        """Task ``key`` is over (its result is in, or it was lost)."""
        with self._lock:
            self._infos.pop(key, None)
            self._where.pop(key, None)

    def _on_event(self, event: Any) -> None:
        try:
            msg = event[1]
            key = msg["key"]
            report = report_of(msg["report"])
        except Exception as exc:
            log.warning("dropping a dask report event that cannot be read: %r", exc)
            return
        with self._lock:
            info = self._infos.get(key)
            if info is not None:
                self._where[key] = msg.get("worker", "")
        if info is not None:
            self._deliver(info, report)
        elif msg.get("wait"):  # a trial no longer ours waits on this report: let it go on
            self._send(continue_trial, key, str(msg.get("worker", "")))

    def stop(self, info: TrialInfo) -> None:
        """Send a stop for ``info`` to the dask worker its task reported from."""
        self._answer(info, stop_trial)

    def proceed(self, info: TrialInfo) -> None:
        """Answer the waiting report of ``info`` "continue", the way a stop goes."""
        self._answer(info, continue_trial)

    def _answer(self, info: TrialInfo, how: Callable[[str], Any]) -> None:
        with self._lock:
            found = [(k, self._where.get(k)) for k, i in self._infos.items() if i is info]
        for key, address in found:
            if address:
                self._send(how, key, address)

    def _send(self, how: Callable[[str], Any], key: str, address: str) -> None:
        try:
            if _on_event_loop():  # a report handler answering: client.run must not block it
                asyncio.ensure_future(self._client.run(how, key, workers=[address],
                                                       wait=False, asynchronous=True))
            else:
                self._client.run(how, key, workers=[address], wait=False)
        except Exception as exc:  # the worker or the client is gone: the trial ends
            log.warning("could not send a decision to dask worker %s: %r", address, exc)

    def close(self) -> None:
        try:
            self._client.unsubscribe_topic(self._topic)
        except Exception:  # the client is closed already
            pass
