"""Fixtures of the loop tests."""

from __future__ import annotations

import pytest
from loophelpers import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    """A fresh fake clock."""
    return FakeClock()
