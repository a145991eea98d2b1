"""``ThreadPoolRunner``: trials run on ``n_workers`` threads of this process, for targets that
release the GIL or wait on I/O. With a limit set, each thread drives its own supervised worker
process instead (a thread can be neither limited nor killed), as it does when resources are
allocated (``resources=``/``trial_resources=``: the share is applied in that process)."""

from __future__ import annotations

from typing import Any

from runner._backends.slots import SlotRunner
from runner._core.reporting import Decision
from runner._worker.blocking import BlockingWorker
from trials import TrialInfo, TrialValue

__all__ = ["ThreadPoolRunner"]


class ThreadPoolRunner(SlotRunner):
    """Run trials on ``n_workers`` threads. ``close()`` cannot stop a running inline target: its
    trial is reported CANCELLED and whatever it returns later is dropped."""

    backend = "thread"

    def __init__(self, target: Any = None, *, n_workers: int, **kwargs: Any) -> None:
        super().__init__(target, n_workers=n_workers, **kwargs)
        self._workers: dict[int, BlockingWorker] = {}
        self._isolated = self._limits.any or self._plan is not None
        if self._isolated:
            self._payload()  # pre-flight: the target must travel to the worker processes
        self._start_slots()

    def _execute(self, i: int, info: TrialInfo) -> TrialValue:
        if not self._isolated:
            return self.run_wrapper(info)[1]
        with self._lock:  # close() must see every worker it has to kill
            if self._closed:
                return self._cancelled_value()
            worker = self._workers.get(i)
            if worker is None:
                worker = self._workers[i] = BlockingWorker(self._payload(), self._objectives,
                                                           self._limits)
        return worker.run(info, self._report_sink(info), self._waiting(info),
                          self._plan and self._plan.wire(self._shares[i]))

    def _decide(self, info: TrialInfo, decision: Decision) -> None:
        with self._lock:
            slots = [i for i, running in enumerate(self._current) if running is info]
            workers = [self._workers.get(i) for i in slots]
        for worker in workers:
            if worker is not None:
                worker.stop()
        super()._decide(info, decision)

    def _continue(self, info: TrialInfo) -> None:
        with self._lock:
            workers = [self._workers.get(i) for i, running in enumerate(self._current)
                       if running is info]
        for worker in workers:
            if worker is not None:
                worker.proceed()
        super()._continue(info)

    def _stop_slot(self, i: int) -> None:
        with self._lock:
            worker = self._workers.get(i)
        if worker is not None:
            worker.close()

    def _close_wait(self) -> float:
        # An inline trial cannot be stopped, so waiting for its thread would only delay close().
        return super()._close_wait() if self._isolated else 0.05
