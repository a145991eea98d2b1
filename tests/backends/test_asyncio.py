"""``AsyncioRunner``'s worker count (``runner/_backends/asyncio.py``): ``n_workers`` like every
other runner, validated at construction; ``max_concurrency``, its old name, still works for one
release with a ``DeprecationWarning``."""

from __future__ import annotations

import asyncio
import warnings
from typing import Any

import pytest

from runner import AsyncioRunner
from runner.testing import drain
from trials import StatusType, TrialInfo


async def gated(config: Any) -> float:
    """Runs until the test opens its gate: trials stay in flight while counted."""
    await config["gate"].wait()
    return 0.0


async def quick(config: Any) -> float:
    await asyncio.sleep(0)
    return float(config["x"])


def test_n_workers_bounds_the_trials_in_flight() -> None:
    """``n_workers=3``: three free workers, three trials running at once and no fourth."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        runner = AsyncioRunner(gated, n_workers=3)
    with runner:
        assert runner.count_available_workers() == 3
        assert runner.meta["n_workers"] == 3
        gate = asyncio.Event()
        for _ in range(4):
            runner.submit_trial(TrialInfo({"gate": gate}))
        assert runner.count_available_workers() == 0
        runner._loop.call_soon_threadsafe(gate.set)
        values = [value for _, value in drain(runner, 4)]
    assert [v.status for v in values] == [StatusType.SUCCESS] * 4


def test_n_workers_defaults_to_16() -> None:
    """Without ``n_workers``, 16 coroutines at once, as before."""
    with AsyncioRunner(quick) as runner:
        assert runner.count_available_workers() == 16


def test_max_concurrency_still_works_with_a_deprecation_warning() -> None:
    """The old keyword sets the same count, warns once, and runs trials as before."""
    with pytest.warns(DeprecationWarning, match=r"max_concurrency=\) is deprecated .* use "
                                                r"n_workers="):
        runner = AsyncioRunner(quick, max_concurrency=2)
    with runner:
        assert runner.count_available_workers() == 2
        assert runner.meta["n_workers"] == 2
        runner.submit_trial(TrialInfo({"x": 1.5}))
        [(_, value)] = drain(runner, 1)
    assert value.cost == 1.5


def test_both_spellings_at_once_are_refused() -> None:
    with pytest.raises(TypeError, match="both n_workers and max_concurrency; give only "
                                        "n_workers"):
        AsyncioRunner(quick, n_workers=2, max_concurrency=2)


@pytest.mark.parametrize(("value", "error", "match"), [
    (0, ValueError, r"n_workers must be >= 1, got 0"),
    (10**6, ValueError, r"n_workers must be at most 65536"),
    ("2", TypeError, r"n_workers must be a positive int, got '2' \(type str\)"),
    (2.0, TypeError, r"n_workers must be a positive int"),
])
def test_bad_n_workers_is_refused_naming_it(value: Any, error: type[Exception],
                                            match: str) -> None:
    """A bad count fails at construction, naming ``n_workers`` and what was expected."""
    with pytest.raises(error, match=match):
        AsyncioRunner(quick, n_workers=value)


def test_a_bad_old_keyword_names_the_old_keyword() -> None:
    """The error names the keyword the caller wrote."""
    with pytest.warns(DeprecationWarning), pytest.raises(
            ValueError, match=r"max_concurrency must be >= 1, got 0"):
        AsyncioRunner(quick, max_concurrency=0)
