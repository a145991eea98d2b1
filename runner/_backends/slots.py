"""``SlotRunner``: a fixed number of worker slots, each served by one driver thread that takes the
next queued trial, executes it (in a supervised worker process, or inline) and reports it done.

    submit_trial ──> _pending (deque) ──> slot thread i ──> _execute(i, info) ──> _deliver
                                           (one per worker)   (backend hook)     (_finished)

Trials never share a slot, so a slot's failure (its worker process dying) is that trial's alone.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from runner._backends.allocation import TrialResources, plan_of, stamp
from runner._backends.local import LocalWorker
from runner._core import verdicts
from runner._core.resources import Assignment
from runner._core.validation import check_n_workers
from trials import TrialInfo, TrialValue

__all__ = ["SlotRunner"]

log = logging.getLogger(__name__)


class SlotRunner(LocalWorker):
    """Base of the thread-pool runner: one driver thread per worker slot. (The process pool
    reads its workers' pipes from the caller's thread instead: ``runner/_backends/process_pool.py``.)"""

    def __init__(self, target: Any = None, *, n_workers: int,
                 resources: Mapping[str, Any] | None = None,
                 trial_resources: TrialResources = None, **kwargs: Any) -> None:
        super().__init__(target, **kwargs)
        self._capacity = check_n_workers(n_workers)
        self._plan = plan_of(resources, trial_resources)
        self._shares: list[Assignment | None] = [None] * self._capacity
        self._work = threading.Condition(self._lock)
        self._current: list[TrialInfo | None] = [None] * self._capacity
        self._abandoned: set[int] = set()
        self._ready = [threading.Event() for _ in range(self._capacity)]
        self._start_errors: list[BaseException] = []
        self._threads = [
            threading.Thread(target=self._slot_loop, args=(i,), daemon=True,
                             name=f"{type(self).__name__}-slot-{i}")
            for i in range(self._capacity)
        ]

    def _start_slots(self) -> None:
        """Start the slot threads and wait until each has set up; raise the first set-up error.
        Subclasses call this last in ``__init__``."""
        for t in self._threads:
            t.start()
        for event in self._ready:
            event.wait()
        if self._start_errors:
            self.close()
            raise self._start_errors[0]

    def submit_trial(self, info: TrialInfo) -> None:
        self._check_submit(info)
        with self._lock:
            if self._plan is not None:
                self._plan.admit(info)  # refused now if it can never fit
            self._enqueue(info)
            self._work.notify()

    def _slot_loop(self, i: int) -> None:
        try:
            self._setup_slot(i)
        except BaseException as exc:
            self._start_errors.append(exc)
            return
        finally:
            self._ready[i].set()
        pending, work = self._pending, self._work
        while True:
            with work:
                while not self._closed and not (pending and self._head_fits(i)):
                    work.wait()
                if self._closed:
                    return
                info = self._dequeue()
                self._started()
                self._current[i] = info
            try:
                value = self._execute(i, info)
            except Exception as exc:  # the backend failed, not the target: this trial only
                log.exception("slot %d could not run a trial", i)
                value = self._backend_failure(exc)
            with self._lock:
                self._current[i] = None
                if self._plan is not None:  # its share is free: a waiting slot may start
                    stamp(value, self._shares[i])
                    self._plan.give_back(self._shares[i])
                    self._shares[i] = None
                    work.notify_all()
                if i in self._abandoned:
                    return
            self._deliver(info, value)

    def _head_fits(self, i: int) -> bool:
        """(self._lock held) Whether the head of the queue may start on slot ``i`` now; with a
        plan, its share is taken for slot ``i``. Only the head: nothing jumps the queue."""
        if self._plan is None:
            return True
        share = self._plan.take(self._item_info(self._pending[0]))
        self._shares[i] = share
        return share is not None

    def count_available_workers(self) -> int:
        free = super().count_available_workers()
        if self._plan is None or not free:
            return free
        return 0 if self._pending else min(free, self._plan.count_fitting())

    def _backend_failure(self, exc: Exception) -> TrialValue:
        """CRASHED for a trial the backend could not run (e.g. its worker would not restart)."""
        return verdicts.not_run(self._objectives.crash_cost,
                                f"the runner could not run the trial: {exc!r}", exc)

    def _setup_slot(self, i: int) -> None:  # noqa: B027 - optional hook
        """Hook, in slot thread ``i`` before its first trial (e.g. start its worker process)."""

    def _execute(self, i: int, info: TrialInfo) -> TrialValue:
        raise NotImplementedError

    def _stop_slot(self, i: int) -> None:  # noqa: B027 - optional hook
        """Hook: make slot ``i``'s running trial end now (kill its worker process)."""

    def _close_wait(self) -> float:
        """Seconds ``close()`` waits for the slot threads to end after ``_stop_slot``."""
        return self._limits.grace + 1.0

    def _close(self) -> None:
        with self._work:
            self._work.notify_all()
        self._cancel_pending()
        for i in range(self._capacity):
            self._stop_slot(i)
        deadline = time.monotonic() + self._close_wait()  # one deadline for all, not one each
        for t in self._threads:
            if t.is_alive():
                t.join(timeout=max(0.0, deadline - time.monotonic()))
        with self._lock:  # inline trials that cannot be stopped: reported, then ignored
            stuck = [(i, info) for i, info in enumerate(self._current) if info is not None]
            self._abandoned.update(i for i, _ in stuck)
        for _, info in stuck:
            self._deliver(info, self._cancelled_value())
