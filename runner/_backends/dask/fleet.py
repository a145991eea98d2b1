"""What the streaming side shares: the driver's record of one pilot (``Pilot``) and the few
steps the pilot fleet (stream.py) and its preemption notices (notice.py) ask of their runner
(``StreamHost``, which ``DaskRunner`` is; checked by the type checker). The fleet is given its
host, as ``concurrent.futures``' manager thread is given its executor, and reads nothing else
of it."""

from __future__ import annotations

from typing import Any, Protocol

from runner._backends.dask.flight import Flight
from trials import Report, TrialInfo

__all__ = ["Pilot", "StreamHost", "task_futures"]


class Pilot:
    """The driver's record of one pilot task: where it runs, its connection, its trial."""

    __slots__ = ("name", "worker", "worker_name", "future", "comm", "flights", "n", "draining",
                 "ended", "heard")

    def __init__(self, name: str, worker: str, future: Any) -> None:
        self.name, self.worker, self.future = name, worker, future
        self.worker_name: str | None = None  # the dask worker's name (a batch job's, on SLURM)
        self.comm: Any = None  # set once the pilot said hello
        self.flights: dict[int, Flight] = {}  # sent, by number: the first runs, others wait
        self.n = 0  # the number of the trial last sent
        self.draining = False
        self.ended = False
        self.heard = 0.0  # when it last said something (time.monotonic())

    def free(self, depth: int) -> bool:
        """Whether it takes another trial, holding at most ``depth``."""
        return (self.comm is not None and len(self.flights) < depth and not self.draining
                and not self.ended)


class StreamHost(Protocol):
    """The steps the pilot fleet asks of its runner (``DaskRunner``)."""

    @property
    def closed(self) -> bool: ...

    @property
    def _mean_time(self) -> float:
        """Running mean of the trials' wall time (seconds)."""

    def _dispatch(self) -> None:
        """Send queued trials to free places (any thread; never blocks)."""

    def _next_flight(self) -> Flight | None:
        """(lock held) The trial first in the queue; ``None`` if none or the runner is closed."""

    def _take(self) -> Flight:
        """(lock held) The trial first in the queue leaves it, counted as executing."""

    def _put_back(self, flight: Flight) -> None:
        """(lock held) ``flight`` is not running (any more): to the front of the queue."""

    def _settle(self, flight: Flight, future: Any, result: Any) -> None:
        """``flight``'s run (sent as ``future``) ended with ``result``, exactly once."""

    def _lost(self, flight: Flight, exc: BaseException) -> None:
        """``flight``'s worker was lost: requeue it (``max_requeues``) or give up."""

    def _report(self, info: TrialInfo, report: Report) -> bool:
        """A running trial reported (any thread); whether it is to stop."""

    def _waiting_locked(self, info: TrialInfo) -> bool:
        """(lock held) Whether ``info``, starting now, holds each report for its decision."""

    def _interrupted(self, info: TrialInfo, requeue: int, reason: str,
                     job: str | None = None) -> None:
        """``info``'s run was lost outside the trial and is requeued (journaled)."""


def task_futures(flights: list[Flight]) -> list[Any]:
    """The dask futures of ``flights`` sent as tasks (not to pilots)."""
    return [f.future for f in flights if f.future is not None and not isinstance(f.future, Pilot)]
