"""The loop on an asyncio event loop: start() there returns at once with an awaitable task,
run_async(), cancelling the task cancels the loop, and the event loop stays responsive."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from loophelpers import CountingOptimizer

from runner import (
    LoopError,
    OptimizationLoop,
    RetriesExceededError,
    SerialRunner,
    ThreadPoolRunner,
)
from trials import read_records


def slow(config):
    time.sleep(0.02)
    return float(config["i"])


GATE = threading.Event()


def blocked(config):
    GATE.wait(10)
    return 1.0


def crash(config):
    raise ValueError("bad config")


def test_start_in_an_event_loop_returns_at_once_and_the_task_awaits_the_end():
    """start() under a running event loop creates loop.task; other coroutines keep running
    while it runs (ticks counted), and awaiting the task returns once the loop finished."""
    async def main():
        with ThreadPoolRunner(slow, n_workers=2) as runner:
            loop = OptimizationLoop(CountingOptimizer(), runner, n_trials_goal=20)
            assert loop.start() is loop and isinstance(loop.task, asyncio.Task)
            ticks, seen = 0, []
            while not loop.task.done():
                ticks += 1
                seen.append((loop.status(), len(loop.history)))
                await asyncio.sleep(0.005)
            await loop.task
        return loop, ticks, seen

    loop, ticks, seen = asyncio.run(main())
    assert loop.status() == "finished" and len(loop.history) == 20
    assert ticks >= 5  # the event loop was free while the trials ran
    assert seen[0] == ("running", 0) and any(0 < n < 20 for _, n in seen)


def test_outside_an_event_loop_start_keeps_its_thread():
    """Without a running event loop start() runs in a thread and loop.task stays None."""
    loop = OptimizationLoop(CountingOptimizer(), SerialRunner(slow), n_trials_goal=3).start()
    assert loop.task is None
    loop.block_until_done(timeout=30)
    assert loop.status() == "finished"


def test_run_async_runs_to_the_end():
    """await loop.run_async() runs the loop on the current event loop."""
    with ThreadPoolRunner(slow, n_workers=2) as runner:
        loop = OptimizationLoop(CountingOptimizer(), runner, n_trials_goal=6)
        asyncio.run(loop.run_async())
    assert loop.status() == "finished" and len(loop.history) == 6


def test_awaiting_the_task_raises_what_failed_the_loop():
    """A loop that fails (retries exceeded) makes `await loop.task` raise that error."""
    async def main():
        loop = OptimizationLoop(CountingOptimizer(), SerialRunner(crash), n_trials_goal=3)
        loop.start()
        await loop.task
    with pytest.raises(RetriesExceededError, match="bad config"):
        asyncio.run(main())


def test_cancelling_the_task_cancels_the_loop_and_leaves_a_resumable_journal(tmp_path):
    """task.cancel() ends the loop 'cancelled', marks its trials in flight, closes the journal
    (a new loop on it resumes them)."""
    path = tmp_path / "j.jsonl"
    GATE.clear()
    async def main(runner):
        loop = OptimizationLoop(CountingOptimizer(), runner, n_trials_goal=10, journal=path)
        loop.start()
        while not loop.pending_trials:
            await asyncio.sleep(0.005)
        loop.task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await loop.task
        return loop

    with ThreadPoolRunner(blocked, n_workers=2) as runner:
        loop = asyncio.run(main(runner))
        GATE.set()
    assert loop.status() == "cancelled" and loop.ended(0)
    records = read_records(path)
    assert sum(r["type"] == "cancelled" for r in records) == 2
    with ThreadPoolRunner(blocked, n_workers=2) as runner:
        again = OptimizationLoop(CountingOptimizer(), runner, n_trials_goal=10, journal=path)
        again.run()
    assert again.status() == "finished" and len(again.history) == 10


def test_loop_cancel_ends_the_task_normally_and_block_until_done_is_refused_on_its_loop():
    """loop.cancel() ends the task without an error; block_until_done() on the event loop that
    runs the loop is refused (it would never return)."""
    async def main():
        with ThreadPoolRunner(slow, n_workers=1) as runner:
            loop = OptimizationLoop(CountingOptimizer(), runner).start()
            with pytest.raises(LoopError, match="await loop.task"):
                loop.block_until_done()
            loop.cancel()
            await asyncio.wait_for(loop.task, 30)
        return loop

    assert asyncio.run(main()).status() == "cancelled"
