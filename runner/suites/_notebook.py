"""A suite's live display in a notebook (ipywidgets): one line per running study (its trials
and best cost) under the suite's totals. ``run_suite(progress=True)`` uses it in a Jupyter
kernel instead of the rich display; it is redrawn from the scheduler's passes, at most
``refresh_per_second`` times a second, and once more at the end."""

from __future__ import annotations

import html
import time
from typing import TYPE_CHECKING, Any

from runner.lowlevel import fmt_cost, fmt_seconds
from runner.suites._progress import snapshot

if TYPE_CHECKING:
    from runner.suites._scheduler import Scheduler

__all__ = ["SuiteWidget", "render_suite"]


def render_suite(title: str, scheduler: Scheduler) -> str:
    """The totals and the running studies as an HTML table."""
    snap = snapshot(scheduler)
    rows = [("studies", f"{snap['finished']} done, {snap['running']} running, "
                        f"{snap['pending']} waiting, {snap['failed']} failed"),
            ("trials", f"{snap['trials']} / {snap['trials_total']} "
                       f"({snap['trials_per_s']:.1f}/s)"),
            ("workers busy", f"{snap['busy_now']:.0%} now, {snap['utilization']:.1%} on "
                             "average"),
            ("elapsed", fmt_seconds(snap["elapsed"]))]
    for study in scheduler.studies:
        if study.status != "running" or study.loop is None:
            continue
        incumbent = study.loop.incumbent
        best = "-" if incumbent is None else fmt_cost(incumbent[1].cost)
        rows.append((study.key, f"{study.done_trials()} / {study.spec.n_trials} trials, "
                                f"best {best}"))
    cells = "".join(f'<tr><td style="padding:1px 12px 1px 0;color:#555">{html.escape(k)}</td>'
                    f"<td>{html.escape(v)}</td></tr>" for k, v in rows)
    return (f'<div class="trialrunner-suite"><b>{html.escape(title)}</b><table style="'
            f'border-collapse:collapse;font-family:monospace;font-size:13px">{cells}</table>'
            "</div>")


class SuiteWidget:
    """Context manager, as ``SuiteProgress``: shows an HTML widget, redrawn by `update`."""

    def __init__(self, title: str, refresh_per_second: float = 4.0) -> None:
        from runner.lowlevel import widgets_module

        self._title = title
        self._every = 1.0 / refresh_per_second
        self._last = 0.0
        self.html = widgets_module().HTML(value=f"<b>{html.escape(title)}</b> starting ...")

    def update(self, scheduler: Scheduler) -> None:
        """Called after each scheduler pass; redraws at most ``refresh_per_second`` times."""
        now = time.monotonic()
        if now - self._last >= self._every or not scheduler.active:
            self._last = now
            self.html.value = render_suite(self._title, scheduler)

    def __enter__(self) -> SuiteWidget:
        from IPython.display import display

        display(self.html)  # type: ignore[no-untyped-call]
        return self

    def __exit__(self, *exc: Any) -> None:
        pass
