"""Helpers of the loop tests: a fake clock, a condition poller, small optimizers."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from trials import TrialInfo, TrialValue


class FakeClock:
    """A clock that moves only when told to, so time goals are tested without sleeping."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class ListOptimizer:
    """Proposes the given configurations in order, then is exhausted; records what it was told."""

    def __init__(self, configs: Iterable[dict[str, Any]]) -> None:
        self.configs = list(configs)
        self.asked = 0
        self.told: list[tuple[TrialInfo, TrialValue]] = []
        self.restored: list[TrialInfo] = []

    def ask(self) -> TrialInfo | None:
        if self.asked >= len(self.configs):
            return None
        self.asked += 1
        return TrialInfo(self.configs[self.asked - 1])

    def tell(self, info: TrialInfo, value: TrialValue) -> None:
        self.told.append((info, value))

    def restore_pending(self, info: TrialInfo) -> None:
        self.restored.append(info)


class CountingOptimizer(ListOptimizer):
    """Proposes ``{"i": k}`` for k = 0, 1, 2, ... without end."""

    def __init__(self) -> None:
        super().__init__([])

    def ask(self) -> TrialInfo | None:
        self.asked += 1
        return TrialInfo({"i": self.asked - 1})


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """Poll ``predicate`` until it holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(0.01)

