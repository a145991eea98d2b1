"""``LocalWorker``: the part of a backend that runs limited trials in one supervised worker
process of its own, started on first use (``SerialRunner``; ``run_wrapper`` on any built-in
runner). One trial at a time: callers from several threads take turns."""

from __future__ import annotations

import threading
from typing import Any

from runner._core.backend import BackendRunner
from runner._core.reporting import Decision
from runner._worker.blocking import BlockingWorker
from trials import TrialInfo, TrialValue

__all__ = ["LocalWorker"]


class LocalWorker(BackendRunner):
    """Provides ``_run_isolated`` with one lazily started ``BlockingWorker``."""

    def __init__(self, target: Any = None, **kwargs: Any) -> None:
        super().__init__(target, **kwargs)
        self._local_worker: BlockingWorker | None = None
        self._local_lock = threading.Lock()
        self._local_info: TrialInfo | None = None  # the trial in the local worker now

    def _run_isolated(self, info: TrialInfo, resources: Any = None) -> TrialValue:
        """``resources``: the trial's share as plain data (runner/_backends/allocation.py)."""
        with self._local_lock:  # one trial at a time in the one local worker process
            if self._local_worker is None:
                self._local_worker = BlockingWorker(self._payload(), self._objectives,
                                                    self._limits)
                if self._closed:  # close() ran meanwhile and may not have seen the worker
                    self._local_worker.close()
            self._local_info = info
            try:
                return self._local_worker.run(info, self._report_sink(info),
                                              self._waiting(info), resources)
            finally:
                self._local_info = None

    def _decide(self, info: TrialInfo, decision: Decision) -> None:
        worker = self._local_worker
        if worker is not None and self._local_info is info:
            worker.stop()

    def _continue(self, info: TrialInfo) -> None:
        worker = self._local_worker
        if worker is not None and self._local_info is info:
            worker.proceed()

    def close(self) -> None:
        try:
            super().close()
        finally:
            worker = self._local_worker  # not under _local_lock: a trial may hold it
            if worker is not None:
                worker.close()
