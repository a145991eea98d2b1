"""The loop on an asyncio event loop (a Jupyter kernel, or any ``asyncio`` program): the driver
pass runs as ``OptimizationLoop.step()`` on the event loop's thread, and the waiting for results
happens in a worker thread, so the event loop stays free between passes::

    event loop thread:  step() (collect, goals, fill; never waits)  ->  await wait  -> step() ...
    worker thread:                                      runner.wait(WAIT)

Everything that changes the loop's state (``history``, the incumbent, ``statistics()``) happens
on the event loop's thread, between awaits, so code on that thread (a notebook cell) always reads
a consistent state. Cancelling the task cancels the loop, as ``loop.cancel()`` does.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from runner._loop.driver import WAIT

if TYPE_CHECKING:
    from runner._loop.loop import OptimizationLoop

__all__ = ["drive", "running_event_loop"]


def running_event_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running in this thread, or ``None``."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


async def drive(loop: OptimizationLoop) -> None:
    """Step ``loop`` (already begun) until it ends; raise what failed it. Cancelled, it cancels
    the loop (its trials in flight are marked in the journal) and re-raises."""
    runner = loop.runner
    try:
        while loop.step():
            if loop.pending_trials:
                await asyncio.to_thread(runner.wait, WAIT)
            else:  # nothing runs (no free worker yet): wait without a thread
                await asyncio.sleep(WAIT / 2)
    except asyncio.CancelledError:
        loop.cancel()
        loop.step()  # ends it: marks what is in flight, closes the journal
        raise
    if loop.status() == "failed":
        loop.block_until_done(0)  # raises what failed it
