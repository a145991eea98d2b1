"""A memory limit given in the wrong unit is flagged at construction (issue #14, item 6)."""

from __future__ import annotations

import warnings

import psutil
import pytest
import targets

from runner import SerialRunner
from runner._core.limits import MemoryLimitWarning


def test_memory_limit_in_bytes_warns_naming_the_unit() -> None:
    """2 GiB given in bytes is 2 PB in MB: a warning says the unit, pointing at the caller."""
    with pytest.warns(MemoryLimitWarning, match=r"memory_limit=2\.14748e\+09 MB.*megabytes \(MB\)") as rec:
        runner = SerialRunner(targets.act, memory_limit=2 * 1024**3)
    runner.close()
    assert rec[0].filename == __file__


def test_memory_limit_the_machine_has_does_not_warn() -> None:
    """A limit within the machine's memory is silent."""
    have_mb = psutil.virtual_memory().total / 2**20
    with warnings.catch_warnings():
        warnings.simplefilter("error", MemoryLimitWarning)
        SerialRunner(targets.act, memory_limit=min(256, have_mb / 2)).close()
