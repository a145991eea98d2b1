"""``BlockingWorker``: a supervised worker whose ``run(info)`` blocks its caller until the
trial's value is decided, for the backends that give each worker a thread of its own (serial
and thread runners with limits, the dask task, the executor runner)."""

from __future__ import annotations

import select
from collections.abc import Callable
from typing import Any

from runner._core import verdicts
from runner._worker import process
from runner._worker.process import WorkerProcess
from runner._worker.protocol import NotRun
from trials import Report, TrialInfo, TrialValue

__all__ = ["BlockingWorker"]


class BlockingWorker(WorkerProcess):
    """A worker whose `run` blocks its caller until the trial's value is decided."""

    def run(self, info: TrialInfo, on_report: Callable[[Report], object] | None = None,
            wait: bool = False, resources: Any = None) -> TrialValue:
        """Evaluate one trial in the worker (with its share of ``resources``, as plain data);
        never raises for what the trial does; its reports go to ``on_report`` (in this thread)
        as they arrive (with ``wait``, each waits in the worker for ``stop()`` or ``proceed()``)."""
        for _ in range(3):  # a worker being replaced answers "not run": then on a new one
            value = self._run_once(info, on_report, wait, resources)
            if not isinstance(value, NotRun):
                return value
        return verdicts.not_run(self._crash_cost, "three worker processes in a row ended "
                                "before running the trial")

    def _run_once(self, info: TrialInfo, on_report: Callable[[Report], object] | None,
                  wait: bool, resources: Any) -> TrialValue | NotRun:
        if self._closed:
            return verdicts.cancelled(self._crash_cost)
        if not self.alive or (self.fds is not None and self.idle_event() is not None):
            self.kill()
            self.start()
        fds = self.fds
        if fds is None:
            return verdicts.cancelled(self._crash_cost)
        try:
            self.send(info, on_report, wait, resources)
        except OSError:  # it died between trials: once more on a new one
            self.kill()
            self.start()
            fds = self.fds
            if fds is None:
                return verdicts.cancelled(self._crash_cost)
            self.send(info, on_report, wait, resources)
        poller = select.poll()
        for fd in fds:
            if fd is not None:
                poller.register(fd, select.POLLIN)
        timeout = None if fds[1] is not None else process.DEATH_CHECK_MS  # tests shorten it
        while True:
            poller.poll(timeout)
            value = self.collect()
            if value is not None:
                return value
