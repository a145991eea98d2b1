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
import threading
from typing import Any, Protocol

from runner._loop.driver import WAIT
from runner.errors import LoopError

__all__ = ["Steppable", "drive", "refuse_to_block", "running_event_loop"]


class Steppable(Protocol):
    """What `drive` needs of a loop (``OptimizationLoop`` has it)."""

    runner: Any

    @property
    def pending_trials(self) -> list[Any]: ...
    def step(self) -> bool: ...
    def cancel(self) -> None: ...
    def status(self) -> str: ...
    def block_until_done(self, timeout: float | None = None) -> None: ...


def running_event_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running in this thread, or ``None``."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def refuse_to_block(event_loop: asyncio.AbstractEventLoop | None, done: threading.Event) -> None:
    """Raise if waiting for ``done`` here would block ``event_loop``, which runs the loop."""
    if not done.is_set() and event_loop is not None and event_loop is running_event_loop():
        raise LoopError("block_until_done() on the event loop that runs the loop would never "
                        "return; use `await loop.task` instead")


async def drive(loop: Steppable) -> None:
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
