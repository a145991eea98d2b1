"""``AsyncioRunner``: ``async def`` targets run as tasks on an event loop that the runner owns in
one background thread (no global event-loop policy is touched).

    submit_trial --(call_soon_threadsafe)--> loop thread: start a task if below n_workers
                                             task: await target(...) under wait_for(walltime)
                                             -> _deliver(info, value) -> start the next queued

Wall time is enforced by cancelling the task (TIMEOUT); memory and CPU time cannot be limited
per coroutine, so asking for them is a ``LimitError`` at construction. A target naming
``report`` gets one it may call or ``await``; a stop decision makes its next report raise
``TrialStopped``, and a task still running ``grace`` seconds after the decision is cancelled
(STOPPED all the same).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
import time
import warnings
from typing import Any

from runner._core.backend import BackendRunner
from runner._core.reporting import AsyncReporter, Decision
from runner._core.returns import Outcome
from runner._core.target import FunctionTarget, is_async_callable
from runner._core.validation import check_concurrency
from runner.errors import LimitError
from trials import TrialInfo, TrialValue

__all__ = ["AsyncioRunner"]


DEFAULT_N_WORKERS = 16
"""Coroutines at once when ``n_workers`` is not given."""


def _capacity(n_workers: Any, max_concurrency: Any) -> int:
    """``n_workers`` validated; the deprecated ``max_concurrency`` still accepted (with a
    ``DeprecationWarning``, and its errors naming it), never both."""
    if max_concurrency is None:
        return DEFAULT_N_WORKERS if n_workers is None else check_concurrency(n_workers,
                                                                             "n_workers")
    if n_workers is not None:
        raise TypeError("AsyncioRunner got both n_workers and max_concurrency; give only "
                        "n_workers (max_concurrency is its deprecated name)")
    warnings.warn("AsyncioRunner(max_concurrency=) is deprecated and will be removed in the "
                  "next release; use n_workers=", DeprecationWarning, stacklevel=3)
    return check_concurrency(max_concurrency, "max_concurrency")


class AsyncioRunner(BackendRunner):
    """Run ``async def`` targets, at most ``n_workers`` at a time, on a private event loop.

    ``n_workers`` counts coroutines, not processes: bounded like other slots that are not this
    machine's processes (65,536), not by the cores. ``max_concurrency`` is its old name,
    deprecated."""

    backend = "asyncio"

    def __init__(self, target: Any = None, *, n_workers: int | None = None,
                 max_concurrency: int | None = None, **kwargs: Any) -> None:
        capacity = _capacity(n_workers, max_concurrency)
        for name in ("memory_limit", "cpu_time_limit"):
            if kwargs.get(name) is not None:
                raise LimitError(
                    f"AsyncioRunner cannot enforce {name}: its trials are coroutines sharing "
                    "one process; use ProcessPoolRunner (or SerialRunner) for that limit")
        super().__init__(target, **kwargs)
        self._capacity = capacity
        if self._overrides_run:
            if not inspect.iscoroutinefunction(type(self).run):
                raise TypeError("an AsyncioRunner subclass must override run with `async def`")
        else:
            fn = self._target.fn if isinstance(self._target, FunctionTarget) else self._target
            if not is_async_callable(fn):
                raise TypeError(
                    f"AsyncioRunner needs an `async def` target, got {self._target.name!r}, "
                    "which is synchronous; use ThreadPoolRunner or ProcessPoolRunner for it")
        self._loop = asyncio.new_event_loop()
        self._tasks: set[asyncio.Task[None]] = set()
        self._task_of: dict[int, asyncio.Task[None]] = {}  # id(info) -> its task (loop thread)
        self._stopping: set[int] = set()  # id(info) of tasks cancelled for ignoring a stop
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="AsyncioRunner-loop")
        self._thread.start()

    def submit_trial(self, info: TrialInfo) -> None:
        self._check_submit(info)
        with self._lock:
            self._enqueue(info)
        self._loop.call_soon_threadsafe(self._dispatch)

    def _dispatch(self) -> None:
        """In the loop thread: start queued trials while below ``n_workers``."""
        while (info := self._start_next()) is not None:
            task = self._loop.create_task(self._run_one(info))
            self._tasks.add(task)
            self._task_of[id(info)] = task
            task.add_done_callback(self._tasks.discard)

    async def _run_one(self, info: TrialInfo) -> None:
        start = time.time()
        t0 = time.perf_counter()
        outcome = await self._outcome(info)
        wall = time.perf_counter() - t0
        self._task_of.pop(id(info), None)
        self._stopping.discard(id(info))
        value = TrialValue(cost=outcome.cost, time=wall, status=outcome.status, starttime=start,
                           endtime=start + wall, additional_info=outcome.additional_info)
        self._deliver(info, value)
        self._dispatch()

    async def _outcome(self, info: TrialInfo) -> Outcome:
        run = self.run if self._overrides_run else None
        reporter = None
        if run is None and self._target.wants_report:
            key, reporting = id(info), self._reporting
            reporter = AsyncReporter(self._held(info, functools.partial(self._report, info)),
                                     lambda: reporting.get(key, False))
        return await self._evaluator.run_async(
            info, self._shared_data, run, reporter,
            lambda: id(info) in self._stopping and not self._closed)

    def _decide(self, info: TrialInfo, decision: Decision) -> None:
        def arm() -> None:  # in the loop thread: the task running ``info`` now, if any
            task = self._task_of.get(id(info))
            if task is not None:
                self._loop.call_later(self._limits.grace, cancel_if_running, task)

        def cancel_if_running(task: asyncio.Task[None]) -> None:
            if not task.done():
                self._stopping.add(id(info))
                task.cancel()

        self._loop.call_soon_threadsafe(arm)

    def _close(self) -> None:
        self._cancel_pending()

        async def cancel_all() -> None:
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        if self._loop.is_running():
            future = asyncio.run_coroutine_threadsafe(cancel_all(), self._loop)
            try:
                future.result(timeout=self._limits.grace + 5.0)
            except Exception:
                pass
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5.0)
        if not self._thread.is_alive():
            self._loop.close()

