"""``Failures``: the trials that crashed on every attempt and their last tracebacks, keyed by
trial id, so two failing trials that are equal (the same config and seed, evaluated twice)
keep a traceback each."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from trials import TrialInfo

__all__ = ["Failures", "TracebackView"]


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
