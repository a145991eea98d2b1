"""What a live view shows of a study, one frozen snapshot (`LiveInfo`), drawn as HTML
(the notebook widget, ``trialrunner watch --html``) or as text (``trialrunner watch``).

Two sources fill it: a running loop (`LoopTally`, from ``loop.statistics()`` and the
trials added to its history since the last look) and a journal read incrementally
(``runner/cli/_journal_tail.py``). Both count each trial once, so a refresh costs what was added.
"""

from __future__ import annotations

import html
import math
from typing import Any, Protocol

import attrs

from runner._loop.statistics import GoalProgress, Statistics
from trials import History, StatusType, TrialInfo, TrialValue

__all__ = ["LiveInfo", "LoopTally", "error_line", "render_html", "render_text"]


@attrs.frozen
class LiveInfo:
    """A study's state for a live view."""

    title: str
    status: str
    """``"running"``, ``"cancelled"``, ``"failed"`` or ``"finished"``."""
    elapsed: float
    finished: int
    """Trials with a final outcome."""
    running: int
    """Trials submitted and not finished."""
    per_status: dict[str, int]
    """Final outcomes per status name."""
    best: Any
    """The incumbent's cost, ``None`` without one."""
    incumbent: dict[str, Any] | None
    """The incumbent's configuration."""
    overhead: float | None
    """Percent of worker time not spent in targets (``None``: unknown)."""
    workers: int
    last_error: str | None
    """The last failure's error, one line."""
    goal: GoalProgress | None = None

    @property
    def utilization(self) -> float | None:
        """Percent of worker time spent in targets."""
        return None if self.overhead is None else 100.0 - self.overhead

    def rows(self) -> list[tuple[str, str]]:
        """``(label, value)`` pairs, in display order."""
        per = ", ".join(f"{n} {k.lower()}" for k, n in sorted(self.per_status.items())) or "-"
        busy = f"{min(self.running, self.workers)}/{self.workers} busy now" if self.workers \
            else f"{self.running} running"
        if self.utilization is not None:
            busy += f", {self.utilization:.0f} % of the time"
        rows = [("status", self.status), ("elapsed", fmt_seconds(self.elapsed)),
                ("trials", f"{self.finished} finished, {self.running} running"),
                ("outcomes", per),
                ("best cost", "-" if self.best is None else fmt_cost(self.best)),
                ("incumbent", "-" if self.incumbent is None else _config(self.incumbent)),
                ("overhead", "-" if self.overhead is None else f"{self.overhead:.1f} %"),
                ("workers", busy)]
        if self.goal is not None:
            g = self.goal
            done = (f"{int(g.completed)}/{int(g.total)} trials" if g.unit == "trials"
                    else f"{fmt_seconds(g.completed)}/{fmt_seconds(g.total)}")
            rows.insert(3, ("goal", done))
        rows.append(("last error", self.last_error or "-"))
        return rows


def fmt_cost(cost: Any) -> str:
    """A cost (or a tuple of them) in 6 significant digits."""
    if isinstance(cost, tuple):
        return "(" + ", ".join(f"{c:.6g}" for c in cost) + ")"
    return f"{cost:.6g}"


def fmt_seconds(seconds: float) -> str:
    """``12.3 s``, ``4:05`` or ``1:02:03``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{sec:02d}" if hours else f"{minutes}:{sec:02d}"


def _config(config: dict[str, Any]) -> str:
    text = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v!r}"
                     for k, v in config.items())
    return text if len(text) <= 120 else text[:117] + "..."


def error_line(value: TrialValue) -> str | None:
    """The last line of a failed trial's error or traceback (``None`` for a success)."""
    if value.status is StatusType.SUCCESS:
        return None
    extra = value.additional_info
    text = str(extra.get("error") or extra.get("traceback") or extra.get("error_type") or "")
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    line = lines[-1] if lines else value.status.name
    return line if len(line) <= 200 else line[:197] + "..."


_STATUS_COLOURS = {"running": "#1f77b4", "finished": "#2ca02c", "cancelled": "#7f7f7f",
                   "failed": "#d62728"}


def render_html(info: LiveInfo) -> str:
    """A small table (inline styles only: it lives in a widget and in a standalone page)."""
    colour = _STATUS_COLOURS.get(info.status, "black")
    out = [f'<div class="trialrunner-live"><b>{html.escape(info.title)}</b>',
           '<table style="border-collapse:collapse;font-family:monospace;font-size:13px">']
    for label, value in info.rows():
        style = f"color:{colour};font-weight:bold" if label == "status" else ""
        out.append(f'<tr><td style="padding:1px 12px 1px 0;color:#555">{label}</td>'
                   f'<td style="{style}">{html.escape(value)}</td></tr>')
    out.append("</table></div>")
    return "\n".join(out)


def render_text(info: LiveInfo) -> str:
    """The same as lines of text."""
    width = max(len(label) for label, _ in info.rows())
    return "\n".join([info.title] + [f"  {label:<{width}}  {value}"
                                      for label, value in info.rows()])


class Looked(Protocol):
    """What a `LoopTally` reads of a loop (``OptimizationLoop`` has it)."""

    study: str | None

    @property
    def history(self) -> History: ...
    @property
    def tracebacks(self) -> Any: ...
    @property
    def incumbent(self) -> tuple[TrialInfo, TrialValue] | None: ...
    def statistics(self) -> Statistics: ...


class Tally:
    """Outcomes per status and the last failure, counted once per trial as trials are added."""

    def __init__(self) -> None:
        self.per_status: dict[str, int] = {}
        self.last_error: str | None = None

    def add(self, value: TrialValue) -> None:
        name = value.status.name
        self.per_status[name] = self.per_status.get(name, 0) + 1
        line = error_line(value)
        if line is not None and value.status is not StatusType.STOPPED:
            self.last_error = line


class LoopTally:
    """`LiveInfo` snapshots of a loop; each looks only at the trials added since the last."""

    def __init__(self, loop: Looked) -> None:
        self._loop = loop
        self._tally = Tally()
        self._seen = 0

    def snapshot(self) -> LiveInfo:
        loop = self._loop
        stats = loop.statistics()
        history = loop.history
        for i in range(self._seen, len(history)):
            self._tally.add(history[i][1])
        self._seen = len(history)
        last_error = self._tally.last_error
        if stats.failed:  # a trial given up is in tracebacks (and in history only if told)
            tracebacks = loop.tracebacks.by_trial
            last = tracebacks[max(tracebacks)] if tracebacks else ""
            lines = [line.strip() for line in last.strip().splitlines() if line.strip()]
            last_error = lines[-1][:200] if lines else last_error
        incumbent = loop.incumbent
        overhead = stats.overhead if stats.elapsed > 0 and stats.workers else None
        return LiveInfo(
            title=f"study {loop.study!r}" if loop.study else "optimization loop",
            status=stats.status, elapsed=stats.elapsed, finished=stats.done,
            running=stats.pending, per_status=dict(self._tally.per_status), best=stats.best,
            incumbent=None if incumbent is None else dict(incumbent[0].config),
            overhead=None if overhead is None or math.isnan(overhead) else overhead,
            workers=stats.workers, last_error=last_error, goal=stats.goal)
