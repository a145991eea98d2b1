"""A live display of an optimization loop (rich): trials done, pending, failed and retried, the
best cost, trials per second, elapsed time and overhead, with a bar towards ``n_trials_goal`` or
``duration_goal``.

On a terminal it redraws in place a few times a second; on anything else (CI logs, a pipe) rich
prints only the final state when the display stops, so a log is never flooded.
"""

from __future__ import annotations

import math
import threading
import time
from typing import TYPE_CHECKING, Any, Protocol

from runner._loop.live import fmt_cost, fmt_seconds
from runner._loop.statistics import Statistics
from trials import History


class Observed(Protocol):
    """What a display reads of a loop (``OptimizationLoop`` has it)."""

    @property
    def history(self) -> History: ...
    def statistics(self) -> Statistics: ...
    def ended(self, timeout: float | None = None) -> bool: ...

if TYPE_CHECKING:
    from rich.console import Console, RenderableType


__all__ = ["LiveDisplay", "live_info", "render_loop"]


class _Front:
    """The Pareto front's size, recomputed at most every few seconds (it costs O(n log n))."""

    def __init__(self) -> None:
        self.size: int | None = None
        self.at = -math.inf
        self.n = -1

    def get(self, loop: Observed) -> int | None:
        n = len(loop.history)
        if n != self.n and time.monotonic() - self.at > 2.0:
            try:
                self.size = len(loop.history.pareto_front())
            except ValueError:
                self.size = None
            self.at, self.n = time.monotonic(), n
        return self.size


def render_loop(loop: Observed, front: _Front | None = None) -> RenderableType:
    """One frame, drawn from ``loop.statistics()``: a bar towards the goal (if it has a count
    or a duration) and the figures."""
    return render_statistics(loop.statistics(), None if front is None else front.get(loop))


def render_statistics(stats: Statistics, front_size: int | None = None) -> RenderableType:
    """One frame of a loop's `Statistics`; ``front_size``: its Pareto front's size."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.progress_bar import ProgressBar
    from rich.table import Table

    if stats.best is not None:
        best = fmt_cost(stats.best)
    else:
        best = f"Pareto front of {front_size}" if front_size else "-"
    grid = Table.grid(padding=(0, 2))
    for _ in range(4):
        grid.add_column()
    grid.add_row("status", f"[bold]{stats.status}[/]", "elapsed", fmt_seconds(stats.elapsed))
    grid.add_row("done", str(stats.done), "pending", str(stats.pending))
    grid.add_row("failed", str(stats.failed), "retried", str(stats.retried))
    grid.add_row("best cost", best, "trials/s", f"{stats.trials_per_second:.1f}")
    grid.add_row("overhead", f"{stats.overhead:.1f} %", "workers", str(stats.workers))
    parts: list[Any] = []
    goal = stats.goal
    if goal is not None:
        if goal.unit == "trials":
            text = f"{stats.done}/{int(goal.total)} trials"
        else:
            text = f"{fmt_seconds(stats.elapsed)}/{fmt_seconds(goal.total)}"
        bar = Table.grid(padding=(0, 1))  # a bar ends no line: give it a row of its own
        bar.add_row(ProgressBar(total=goal.total, completed=goal.completed, width=40), text)
        parts.append(bar)
    parts.append(grid)
    return Panel(Group(*parts), title="optimization loop", expand=False)


class LiveDisplay:
    """A rich ``Live`` redrawing `render_loop`; a context manager, or ``start``/``stop``."""

    def __init__(self, loop: Observed, *, refresh_per_second: float = 4.0,
                 console: Console | None = None) -> None:
        if not refresh_per_second > 0:
            raise ValueError(f"refresh_per_second must be > 0, got {refresh_per_second!r}")
        self._loop = loop
        self._front = _Front()
        self._refresh = refresh_per_second
        self._console = console
        self._live: Any = None
        self._lock = threading.Lock()

    def __rich__(self) -> RenderableType:
        return render_loop(self._loop, self._front)

    def start(self) -> LiveDisplay:
        """Start redrawing (rich's own refresh thread)."""
        from rich.live import Live

        with self._lock:
            if self._live is None:
                self._live = Live(self, console=self._console,
                                  refresh_per_second=self._refresh, transient=False,
                                  redirect_stdout=False, redirect_stderr=False)
                self._live.start()
        return self

    @property
    def running(self) -> bool:
        """Whether it is still redrawing (``stop`` has not finished)."""
        return self._live is not None

    def stop(self) -> None:
        """Draw the final state and stop; idempotent."""
        with self._lock:
            live = self._live
            if live is None:
                return
            live.stop()
            if not live.console.is_terminal and not live.console.is_jupyter:
                live.console.line()  # rich leaves the final frame of a non-terminal unended
            self._live = None

    def stop_when_done(self) -> None:
        """Stop by itself once the loop has ended (a small watcher thread)."""
        def watch() -> None:
            self._loop.ended()
            self.stop()

        threading.Thread(target=watch, name="LiveDisplay-watch", daemon=True).start()

    def __enter__(self) -> LiveDisplay:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def live_info(loop: Observed, refresh_per_second: float, block: bool) -> LiveDisplay:
    """What ``loop.live_info_terminal()`` does: a display until the loop is done (``block``), or
    one returned at once that stops itself when the loop is done."""
    display = LiveDisplay(loop, refresh_per_second=refresh_per_second).start()
    if block:
        try:
            loop.ended()
        finally:
            display.stop()
    else:
        display.stop_when_done()
    return display
