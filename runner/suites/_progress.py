"""A live display of a running suite (rich): studies done / running / waiting / failed, trials
done, trials per second, worker utilization now and on average."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runner.suites._scheduler import Scheduler

__all__ = ["SuiteProgress", "snapshot"]


def snapshot(scheduler: Scheduler) -> dict[str, Any]:
    """The numbers the display shows, as a plain dict (also what tests read)."""
    counts = {"pending": 0, "running": 0, "finished": 0, "failed": 0}
    for study in scheduler.studies:
        counts[study.status] += 1
    elapsed = max(1e-9, time.monotonic() - scheduler.t0)
    workers = max(1, scheduler.workers)
    done = sum(s.done_trials() for s in scheduler.studies if s.loop is not None)
    return {**counts, "trials": done,
            "trials_total": sum(s.spec.n_trials for s in scheduler.studies),
            "trials_per_s": scheduler.pool.n_finished / elapsed,
            "busy_now": min(1.0, scheduler.pool.in_flight / workers),
            "utilization": scheduler.utilization(),
            "elapsed": elapsed}


class SuiteProgress:
    """Context manager: a ``rich.live.Live`` refreshed from the scheduler's passes."""

    def __init__(self, title: str, refresh_per_second: float = 4.0) -> None:
        from rich.console import Console
        from rich.live import Live

        self._title = title
        self._every = 1.0 / refresh_per_second
        self._last = 0.0
        self._live = Live(self._render(None), console=Console(stderr=True),
                          refresh_per_second=refresh_per_second, transient=False)

    def _render(self, snap: dict[str, Any] | None) -> Any:
        from rich.table import Table

        table = Table(title=self._title, show_header=False, box=None)
        if snap is None:
            table.add_row("starting ...")
            return table
        table.add_row("studies", f"{snap['finished']} done, {snap['running']} running, "
                                 f"{snap['pending']} waiting, {snap['failed']} failed")
        table.add_row("trials", f"{snap['trials']} / {snap['trials_total']}  "
                                f"({snap['trials_per_s']:.1f}/s)")
        table.add_row("workers busy", f"{snap['busy_now']:.0%} now, "
                                      f"{snap['utilization']:.1%} on average")
        table.add_row("elapsed", f"{snap['elapsed']:.1f} s")
        return table

    def update(self, scheduler: Scheduler) -> None:
        """Called after each scheduler pass; redraws at most ``refresh_per_second`` times."""
        now = time.monotonic()
        if now - self._last >= self._every or not scheduler.active:
            self._last = now
            self._live.update(self._render(snapshot(scheduler)))

    def __enter__(self) -> SuiteProgress:
        self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._live.stop()
