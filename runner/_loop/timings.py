"""Where a loop's time goes: the driver's (optimizer, journal) and the workers' (queue wait and
start-up, target, transfer back, idle), so a user sees whether workers idle while the optimizer
thinks. O(1) per trial: a few running sums.

Per trial, four instants: submitted ``S`` and collected ``C`` (driver), target start ``A`` and end
``B`` (``TrialValue.starttime``/``endtime``, taken where it ran)::

    S ---- queue wait & start-up ---- A ---- target ---- B ---- transfer ---- C

Worker capacity is ``workers * elapsed``; what no trial occupied (nothing submitted because the
optimizer was asking/telling, the journal writing, or the optimizer had nothing) is ``idle``.
"""

from __future__ import annotations

import attrs

from trials import TrialValue

__all__ = ["Timings", "TimingAccount"]


@attrs.frozen
class Timings:
    """A snapshot of a loop's time accounting, in seconds (see the module doc)."""

    elapsed: float
    """Wall time of the loop so far (by its clock)."""
    workers: int
    """The most free workers the runner reported (all of them at the start)."""
    n_results: int
    """Results collected, retried attempts included."""
    optimizer: float
    """Driver time in the optimizer's ``ask``/``ask_batch``/``tell`` (and in goals)."""
    journal: float
    """Driver time appending to the journal (fsync included)."""
    queue_wait: float
    """Worker time from submission to the target's start: the runner's queue, shipping the trial,
    starting a worker."""
    target: float
    """Worker time inside the target (``TrialValue.time``, retried attempts included)."""
    transfer: float
    """Worker time from the target's end until the loop collected the result: shipping it back,
    and waiting while the driver was busy elsewhere."""
    idle: float
    """Worker time with no trial in flight: ``workers * elapsed`` minus the three above."""

    @property
    def capacity(self) -> float:
        """``workers * elapsed``: the worker time there was."""
        return self.workers * self.elapsed

    def fraction(self, part: float) -> float:
        """``part`` as a fraction of the worker capacity (0 when there was none)."""
        return part / self.capacity if self.capacity > 0 else 0.0

    def rows(self) -> list[tuple[str, float, str]]:
        """``(name, seconds, share)`` rows for a table; driver shares are of ``elapsed``."""
        def share(x: float, whole: float) -> str:
            return f"{100 * x / whole:.1f}%" if whole > 0 else "-"

        cap = self.capacity
        return [
            ("optimizer (ask/tell)", self.optimizer, share(self.optimizer, self.elapsed)),
            ("journal", self.journal, share(self.journal, self.elapsed)),
            ("queue wait & start-up", self.queue_wait, share(self.queue_wait, cap)),
            ("target", self.target, share(self.target, cap)),
            ("transfer back", self.transfer, share(self.transfer, cap)),
            ("workers idle", self.idle, share(self.idle, cap)),
        ]


class TimingAccount:
    """The loop's running sums behind `Timings`."""

    __slots__ = ("optimizer", "journal", "queue_wait", "target", "transfer", "n_results",
                 "workers")

    def __init__(self) -> None:
        self.optimizer = 0.0
        self.journal = 0.0
        self.queue_wait = 0.0
        self.target = 0.0
        self.transfer = 0.0
        self.n_results = 0
        self.workers = 0

    def result(self, submitted: float, collected: float, value: TrialValue) -> None:
        """Account one collected result (``submitted``/``collected`` are Unix times)."""
        self.n_results += 1
        target = value.time
        self.target += target
        span = max(0.0, collected - submitted)
        start, end = value.starttime, value.endtime
        if start > 0 and end >= start:
            before = min(span, max(0.0, start - submitted))
            after = min(span - before, max(0.0, collected - end))
        else:  # a runner that set no timestamps: all of it before the target
            before, after = max(0.0, span - target), 0.0
        self.queue_wait += before
        self.transfer += after

    def overhead(self, elapsed: float) -> float:
        """``100 * (1 - target / (workers * elapsed))``: percent of worker time not in targets."""
        capacity = self.workers * elapsed
        return 100.0 * (1.0 - self.target / capacity) if capacity > 0 else 0.0

    def snapshot(self, elapsed: float, in_flight: float) -> Timings:
        """A `Timings`; ``in_flight`` is the worker time of trials not yet collected."""
        busy = self.queue_wait + self.target + self.transfer + in_flight
        idle = max(0.0, self.workers * elapsed - busy)
        return Timings(elapsed=elapsed, workers=self.workers, n_results=self.n_results,
                       optimizer=self.optimizer, journal=self.journal,
                       queue_wait=self.queue_wait, target=self.target, transfer=self.transfer,
                       idle=idle)
