"""``Failures``: the trials that crashed on every attempt and their last tracebacks, keyed by
trial id, so two failing trials that are equal (the same config and seed, evaluated twice)
keep a traceback each. ``FailureRate``: the loop's failure-rate policy (``max_failure_rate``
of the last ``failure_window`` finished trials)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping
from typing import Any

from runner.errors import FailureRateError
from trials import StatusType, TrialInfo, TrialValue

__all__ = ["FailureRate", "Failures", "TracebackView", "check_failure_rate"]

FAILED = (StatusType.CRASHED, StatusType.TIMEOUT, StatusType.MEMORYOUT)
"""The final statuses the failure-rate policy counts as failures."""

_SHOWN = 3
"""How many of the last failures' errors a ``FailureRateError`` message quotes."""


class Failures:
    """What the loop records of each trial it gave up on (O(1) per failure)."""

    def __init__(self) -> None:
        self.by_trial: dict[int, tuple[TrialInfo, str]] = {}

    def add(self, trial: int, info: TrialInfo, traceback: str) -> None:
        self.by_trial[trial] = (info, traceback)

    def infos(self) -> list[TrialInfo]:
        return [info for info, _ in self.by_trial.values()]

    def __len__(self) -> int:
        return len(self.by_trial)


class TracebackView(Mapping[TrialInfo, str]):
    """``loop.tracebacks``: a read-only mapping of each failed ``TrialInfo`` to its last
    traceback. A submitted ``TrialInfo`` object finds its own traceback even when another
    failed trial is equal to it; ``by_trial`` gives them by trial id."""

    def __init__(self, failures: Failures) -> None:
        self._failures = failures

    def __getitem__(self, info: TrialInfo) -> str:
        found = None
        for got, traceback in reversed(list(self._failures.by_trial.values())):
            if got is info:
                return traceback
            if found is None and got == info:
                found = traceback
        if found is None:
            raise KeyError(info)
        return found

    def __iter__(self) -> Iterator[TrialInfo]:
        return iter(self._failures.infos())

    def __len__(self) -> int:
        return len(self._failures)

    @property
    def by_trial(self) -> Mapping[int, str]:
        """The last traceback of each failed trial, by trial id."""
        return {trial: tb for trial, (_, tb) in self._failures.by_trial.items()}


def check_failure_rate(max_failure_rate: Any, failure_window: Any) -> None:
    """Refuse a policy the loop cannot apply, naming the parameter, expectation and value."""
    if max_failure_rate is not None:
        if isinstance(max_failure_rate, bool) or not isinstance(max_failure_rate, (int, float)):
            raise TypeError(f"max_failure_rate must be None or a share in (0, 1], got "
                            f"{max_failure_rate!r} (type {type(max_failure_rate).__name__})")
        if not 0 < max_failure_rate <= 1:
            raise ValueError(f"max_failure_rate must be a share in (0, 1] (0.5: stop once more "
                             f"than half of the last failure_window trials failed), got "
                             f"{max_failure_rate!r}")
    if isinstance(failure_window, bool) or not isinstance(failure_window, int):
        raise TypeError(f"failure_window must be an int >= 1 (a number of finished trials), got "
                        f"{failure_window!r} (type {type(failure_window).__name__})")
    if failure_window < 1:
        raise ValueError(f"failure_window must be an int >= 1 (a number of finished trials), "
                         f"got {failure_window}")


def _error(value: TrialValue) -> str:
    extra = value.additional_info
    return str(extra.get("error") or extra.get("traceback") or value.status.name)


class FailureRate:
    """The failure-rate policy: the last ``window`` final outcomes, as ``(trial id, error or
    None, traceback)``; exceeded once more than ``rate * window`` of them failed (so a failure
    early in a study does not end it: with 0.5 and 20, the 11th failure among the first 20
    trials does). ``rate=None``: no policy (nothing is recorded, never exceeded)."""

    def __init__(self, rate: float | None, window: int) -> None:
        check_failure_rate(rate, window)
        self.rate = None if rate is None else float(rate)
        self.window = window
        self._last: deque[tuple[int, str | None, str | None]] = deque(maxlen=window)
        self._n_failed = 0

    def add(self, trial: int, value: TrialValue) -> None:
        """Record one final outcome (O(1))."""
        if self.rate is None:
            return
        if len(self._last) == self.window and self._last[0][1] is not None:
            self._n_failed -= 1
        failed = value.status in FAILED
        tb = value.additional_info.get("traceback") if failed else None
        self._last.append((trial, _error(value) if failed else None,
                           None if tb is None else str(tb)))
        self._n_failed += failed

    def exceeded(self) -> bool:
        return self.rate is not None and self._n_failed > self.rate * self.window

    def error(self) -> FailureRateError:
        """What ends the loop: the counts and the last failures' errors."""
        assert self.rate is not None
        failures = [(t, e) for t, e, _ in self._last if e is not None]
        tb = next((tb or e for _, e, tb in reversed(self._last) if e is not None), None)
        shown = "; ".join(f"trial {t}: {e}" for t, e in failures[-_SHOWN:])
        return FailureRateError(
            f"{len(failures)} of the last {len(self._last)} finished trials failed, more than "
            f"max_failure_rate={self.rate:g} of failure_window={self.window}: the target looks "
            f"broken, the loop ended. Last errors: {shown}", failures=failures,
            finished=len(self._last), max_failure_rate=self.rate, failure_window=self.window,
            traceback=tb)
