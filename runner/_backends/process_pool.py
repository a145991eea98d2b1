"""``ProcessPoolRunner``: long-lived supervised worker processes, driven from the caller's thread.

    submit_trial ──pipe──> an idle worker            (or the queue, when none is idle)
    wait()       <──poll── result pipes + pidfds     (the caller reads the results itself;
                                                      the poll: pool_poll.py)
    keeper thread (pool_keeper.py): starts and restarts workers, and feeds queued trials to
                   workers while nobody is in wait()  (wall-time overruns: watchdog.py)
    the slots, their states and what these threads share: pool_slots.py

Why the caller reads the pipes: each hop between threads is a wake-up (50-150 µs on a VM);
reading in ``wait()`` and writing in ``submit_trial`` leaves no thread hop on a trial's path,
only the two processes' own wake-ups (docs/performance.md).

A worker that dies costs exactly its trial (status from the evidence; the keeper starts a new
worker). Targets and ``shared_data`` travel to each worker once; trials as tuples (wire.py).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Mapping
from typing import Any

from runner._backends.allocation import WAIT, TrialResources, WorkerShares, plan_of
from runner._backends.local import LocalWorker
from runner._backends.pool_keeper import PoolKeeper
from runner._backends.pool_poll import WorkerPoll
from runner._backends.pool_slots import (
    BROKEN,
    BUSY,
    DEAD,
    IDLE,
    PoolState,
    Slot,
    WorkerEnv,
    resolve_worker_env,
)
from runner._core import verdicts
from runner._core.validation import check_n_workers
from runner._worker.process import WorkerProcess
from runner._worker.protocol import NotRun
from trials import Report, TrialInfo, TrialValue

__all__ = ["ProcessPoolRunner", "resolve_worker_env"]

log = logging.getLogger(__name__)


class ProcessPoolRunner(LocalWorker):
    """Run trials on ``n_workers`` supervised worker processes (default: one per core).

    ``worker_env`` gives each worker its own environment overlay, e.g.
    ``worker_env=lambda i: {"CUDA_VISIBLE_DEVICES": str(i)}`` to pin one GPU per worker.
    ``resources``/``trial_resources``: what the pool has and what each trial needs; a trial
    starts when its share of cores, devices and memory is free and gets it (docs/resources.md).
    """

    backend = "process"

    def __init__(self, target: Any = None, *, n_workers: int | None = None,
                 worker_env: WorkerEnv = None, resources: Mapping[str, Any] | None = None,
                 trial_resources: TrialResources = None, **kwargs: Any) -> None:
        n = (os.cpu_count() or 1) if n_workers is None else check_n_workers(n_workers)
        envs = resolve_worker_env(worker_env, n)
        plan = plan_of(resources, trial_resources)
        # attributes set before super().__init__ would travel with an overridden run
        super().__init__(target, **kwargs)
        self._capacity = n
        self._plan = plan
        # what each worker holds, kept between trials of the same need (allocation.py)
        self._shares = None if plan is None else WorkerShares(plan, n)
        payload = self._payload()  # pre-flight: the target must survive the trip to workers
        slots = [Slot(i, WorkerProcess(payload, self._objectives, self._limits, env))
                 for i, env in enumerate(envs)]
        # shared with the keeper and the poll; the names below are the same objects
        self._state = state = PoolState(self._lock, slots, self._pending)
        self._slots, self._idle = state.slots, state.idle
        self._pump_lock, self._keeper_wake = state.pump_lock, state.keeper_wake
        self._waiters = 0  # threads in wait() blocked on _done (not pumping themselves)
        self._poll = WorkerPoll(state)
        self._keeper = PoolKeeper(state, self._poll, self, f"{type(self).__name__}-keeper")
        self._keeper.start()
        errors = [s.error for s in self._slots if s.error is not None]
        if errors:
            self.close()
            raise errors[0]

    # -- the contract ------------------------------------------------------------------------

    def submit_trial(self, info: TrialInfo) -> None:
        self._check_submit(info)
        with self._lock:
            plan = self._plan
            if plan is not None and (info.additional_info or not plan.needs.fixed):
                plan.admit(info)  # refused now if it can never fit (the default: checked)
            if self._idle and not self._pending:
                self._dispatch(self._idle.pop(), info)
            else:
                self._enqueue(info)
                self._keeper_wake.notify()

    def wait(self, timeout: float | None = None) -> None:
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if end is None else end - time.monotonic()
            with self._lock:
                if (self._finished or self._reports or self._closed
                        or (self._executing == 0 and not self._pending)):
                    return
                if left is not None and left <= 0:
                    return
                if not self._pump_lock.acquire(blocking=False):
                    # the keeper is reading results: it hands them over through _done
                    self._waiters += 1
                    try:
                        self._done.wait(left)
                    finally:
                        self._waiters -= 1
                    continue
            try:
                self._pump(left)
            finally:
                self._release_pump()

    def iter_reports(self) -> Iterator[tuple[TrialInfo, Report]]:
        if not self._reports:
            self._pump_now()
        return super().iter_reports()

    def iter_results(self) -> Iterator[tuple[TrialInfo, TrialValue]]:
        if not self._finished:  # right after wait() there is something: skip the syscall
            self._pump_now()
        return super().iter_results()

    def is_running(self) -> bool:
        self._pump_now()
        return super().is_running()

    def count_available_workers(self) -> int:
        self._pump_now()
        free = super().count_available_workers()
        if self._shares is None or not free:
            return free
        return 0 if self._pending else min(free, self._shares.count_fitting())

    def worker_pids(self) -> list[int | None]:
        """The pids of the worker processes now (for tests and diagnostics)."""
        return [s.worker.pid for s in self._slots]

    def _backend_meta(self) -> dict[str, Any]:
        meta = super()._backend_meta()
        if self._plan is not None:
            meta.update(self._plan.capacity_meta)
        return meta

    # -- handing out trials (self._lock held) ------------------------------------------------

    def _dispatch(self, i: int, info: TrialInfo) -> None:
        share = None
        if self._shares is not None:
            share = self._shares.take(i, info)
            if share is WAIT:  # its share is not free: it waits at the head, the worker idles
                self._idle.append(i)
                self._enqueue(info, front=True)
                return
        slot = self._slots[i]
        slot.state, slot.info = BUSY, info
        self._started()
        try:
            slot.worker.send(info, self._report_sink(info), self._waiting_locked(info), share)
        except OSError:  # it died while idle: the trial never started, so it goes first again
            self._give_back(i)
            slot.state, slot.info = BROKEN, None
            self._unstarted()
            self._enqueue(info, front=True)
            self._keeper_wake.notify()
        except Exception as exc:  # the trial itself does not pickle: that trial only
            self._give_back(i)
            slot.state, slot.info = IDLE, None
            self._idle.append(i)
            self._record(info, self._unsendable(exc))

    def _give_back(self, i: int) -> None:
        """(self._lock held) Free slot ``i``'s share (its trial goes elsewhere, or it died)."""
        if self._shares is not None:
            self._shares.drop(i)

    def _feed(self) -> None:
        """(self._lock held, with a plan) Start queued trials on idle workers while the head of
        the queue fits: a freed share may let several start, or none (the head waits)."""
        while self._idle and self._pending and not self._closed:
            before = len(self._pending)
            self._dispatch(self._idle.pop(), self._dequeue())
            if len(self._pending) >= before:
                return

    def _decide(self, info: TrialInfo, decision: Any) -> None:
        with self._lock:
            workers = [s.worker for s in self._slots if s.state == BUSY and s.info is info]
        for worker in workers:
            worker.stop()

    def _continue(self, info: TrialInfo) -> None:
        with self._lock:
            workers = [s.worker for s in self._slots if s.state == BUSY and s.info is info]
        for worker in workers:
            worker.proceed()

    def _unsendable(self, exc: Exception) -> TrialValue:
        return verdicts.not_run(self._objectives.crash_cost, "the trial could not be sent to a "
                                f"worker process: {exc!r}", exc)

    # -- reading results (the pump lock held) ------------------------------------------------

    def _pump_now(self) -> None:
        """Take in whatever has finished, without blocking (unless another thread pumps)."""
        if self._pump_lock.acquire(blocking=False):
            try:
                self._pump(0.0)
            finally:
                self._release_pump()

    def _release_pump(self) -> None:
        with self._lock:
            self._pump_lock.release()
            if self._waiters:  # a thread waiting for results may take over the pump
                self._done.notify_all()
            if self._pending:
                self._keeper_wake.notify()

    def _pump(self, timeout: float | None) -> None:
        """Wait up to ``timeout`` for results and deaths, and handle what came."""
        slots = self._slots
        for i, result_ready in self._poll.ready(timeout).items():
            self._handle(slots[i], result_ready)

    def _handle(self, slot: Slot, result_ready: bool) -> None:
        with self._lock:
            state, info = slot.state, slot.info
        if state == BUSY and info is not None:
            value = slot.worker.collect()
            if value is None:  # part of the answer is here, the rest on its way
                return
            if isinstance(value, NotRun):  # the worker was being replaced: the trial goes first
                with self._lock:
                    slot.info = None
                    self._unstarted()
                    self._enqueue(info, front=True)
                    if self._shares is not None:
                        self._give_back(slot.index)
                        self._feed()
                    if not self._closed:
                        self._mark_dead(slot)  # collect() ended the process already
                return
            # a worker it did not discard has just answered: alive (a death after the answer
            # is its pidfd's news, taken as an idle death); no waitpid on the hot path
            alive = slot.worker.pid is not None
            with self._lock:
                slot.info = None
                if self._shares is not None:  # recorded; the worker keeps it if alive
                    self._shares.ended(slot.index, value, alive)
                # (Condition.notify_all costs microseconds even unheard)
                self._record(info, value, notify=self._waiters > 0)
                if self._closed:
                    return
                if self._shares is not None:
                    if alive:
                        slot.state = IDLE
                        self._idle.append(slot.index)
                    if self._pending:
                        self._feed()
                    if alive:
                        return
                elif alive:
                    slot.state = IDLE
                    if self._pending:
                        self._dispatch(slot.index, self._dequeue())
                    else:
                        self._idle.append(slot.index)
                    return
                slot.state = BROKEN
        elif state == IDLE:
            why = slot.worker.idle_event()
            if why is None:
                return
            if why != "exited" and not why.startswith("recycled"):
                log.warning("worker %d: %s; replacing it", slot.index, why)
            with self._lock:
                if slot.index in self._idle:
                    self._idle.remove(slot.index)
                slot.state = BROKEN
        elif state not in (IDLE, BROKEN):
            return
        # dead or not to be trusted, between trials: nothing of the user's is lost
        slot.worker.kill()
        with self._lock:
            if slot.index in self._idle:
                self._idle.remove(slot.index)
            if not self._closed:
                self._mark_dead(slot)

    def _mark_dead(self, slot: Slot) -> None:
        """(self._lock held) The slot's worker is gone and cleaned up: the keeper replaces it."""
        slot.state = DEAD
        self._give_back(slot.index)
        self._state.generation += 1
        self._keeper_wake.notify()

    # -- what the keeper asks of the pool (pool_keeper.KeptPool) ------------------------------

    def _start_queued(self, i: int) -> None:
        self._dispatch(i, self._dequeue())

    def _fail_queued(self, error: BaseException | None) -> None:
        while self._pending:
            self._record(self._dequeue(), verdicts.not_run(
                self._objectives.crash_cost, "the runner could not run the trial: no worker "
                f"process could be started ({error!r})", error), started=False, notify=False)
        self._done.notify_all()

    # -- closing -----------------------------------------------------------------------------

    def _close(self) -> None:
        with self._lock:
            self._keeper_wake.notify_all()
            self._done.notify_all()
        for slot in self._slots:  # signals only: a pump still reading gets its EOF at once
            slot.worker.closing()
            slot.worker.kill_tree()
        self._poll.interrupt()
        # the pump lock is kept from here on: nothing polls these workers' descriptors again
        got_pump = self._pump_lock.acquire(timeout=10.0)
        for slot in self._slots:
            slot.worker.close()
        self._keeper.join(timeout=5.0)
        with self._lock:
            for slot in self._slots:
                if slot.state == BUSY and slot.info is not None:
                    self._record(slot.info, self._cancelled_value(), notify=False)
                    slot.info = None
            self._done.notify_all()
        self._cancel_pending()
        if got_pump:
            self._poll.close()
