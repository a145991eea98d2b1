"""FAULTS H (issue 13), items 8, 10 and 11: absurd numbers refused at construction naming the
argument and its range (H8), size caps measured after decoding and on what reaches the journal
(H10), and journal/lock paths that are not regular files or hold malformed records (H11)."""

from __future__ import annotations

import math
import resource

import psutil
import pytest

from faults.conftest import FaultMaker, one
from runner import AsyncioRunner, DaskRunner, ProcessPoolRunner, SerialRunner, ThreadPoolRunner
from runner._core.validation import MAX_MEMORY_MB, MAX_SECONDS, check_n_workers
from runner.testing import cost_of
from trials import StatusType, TrialInfo, TrialValue

# -- H8: numbers ---------------------------------------------------------------------------

CONSTRUCTORS = [
    pytest.param(SerialRunner, {}, id="serial"),
    pytest.param(ProcessPoolRunner, {"n_workers": 1}, id="process"),
    pytest.param(ThreadPoolRunner, {"n_workers": 1}, id="thread"),
    pytest.param(DaskRunner, {"n_workers": 1}, id="dask"),
    pytest.param(AsyncioRunner, {}, id="asyncio"),
]


@pytest.mark.parametrize(("cls", "kwargs"), CONSTRUCTORS)
@pytest.mark.parametrize(("name", "value", "match"), [
    ("walltime_limit", 1e12, r"walltime_limit must be at most 2147483 seconds \(24\.8 days"),
    ("walltime_limit", 3e6, r"walltime_limit must be at most 2147483 seconds"),
    ("cpu_time_limit", 1e300, r"cpu_time_limit must be at most 2147483 seconds"),
    ("memory_limit", 1e30, r"memory_limit must be at most 4398046511104 megabytes \(the byte "
                           r"count must fit setrlimit"),
    ("walltime_limit", 10**400, r"walltime_limit must be a number of seconds .* too large for a "
                                r"float"),
])
def test_H8_absurd_limits_are_refused(cls, kwargs, name, value, match) -> None:
    """H8: a limit no mechanism can hold (1e12 s killed the pool's keeper thread, 3e6 s made
    SerialRunner raise at submit, 1e300 CPU seconds crashed every trial) is a ValueError at
    construction naming the limit and its range; nothing is started."""
    if cls is AsyncioRunner and name != "walltime_limit":
        pytest.skip("AsyncioRunner refuses memory and CPU limits of any size (case B4)")
    before = len(psutil.Process().children(recursive=True))
    with pytest.raises(ValueError, match=match):
        cls(cost_of, **kwargs, **{name: value})
    assert len(psutil.Process().children(recursive=True)) == before


@pytest.mark.parametrize(("grace", "error", "match"), [
    ("1", TypeError, r"grace must be a number of seconds between 0 and 10, got '1' \(type str\)"),
    (True, TypeError, r"grace must be a number of seconds"),
    (math.nan, ValueError, r"grace must be between 0 and 10 seconds, got nan"),
    (10**400, ValueError, r"grace must be a number of seconds .* too large for a float"),
])
def test_H8_bad_grace(grace, error, match) -> None:
    """H8: ``grace="1"`` is a TypeError naming grace (it was silently converted), NaN and
    ints beyond a float are ValueErrors."""
    with pytest.raises(error, match=match):
        SerialRunner(cost_of, walltime_limit=1, grace=grace)


def test_H8_huge_budget_and_cost() -> None:
    """H8: ``budget=10**400`` (and such a cost or time) is a ValueError naming the field and the
    float range, not a bare OverflowError; the message does not print 400 digits."""
    with pytest.raises(ValueError, match=r"TrialInfo\.budget must be a number \(finite, > 0\) "
                                         r"or None, got an int of about 401 digits") as e:
        TrialInfo({}, budget=10**400)
    assert len(str(e.value)) < 200
    with pytest.raises(ValueError, match=r"TrialInfo\.budget .* about 5001 digits"):
        TrialInfo({}, budget=10**5000)  # beyond Python's int-to-str digit limit: no repr crash
    with pytest.raises(ValueError, match=r"TrialValue\.cost\[1\] must be a number, got an int"):
        TrialValue(cost=(1.0, 10**400))
    with pytest.raises(ValueError, match=r"TrialValue\.time must be a number"):
        TrialValue(cost=1.0, time=-(10**400))


@pytest.mark.parametrize(("cls", "kwargs"), [
    pytest.param(ProcessPoolRunner, {}, id="process"),
    pytest.param(ThreadPoolRunner, {}, id="thread"),
    pytest.param(DaskRunner, {}, id="dask"),
])
def test_H8_too_many_workers(cls, kwargs) -> None:
    """H8: ``n_workers=10_000`` is refused at construction with the bound and its reason (64 per
    usable core), before any process starts (it started processes until the machine refused,
    then raised a bare BlockingIOError)."""
    before = len(psutil.Process().children(recursive=True))
    with pytest.raises(ValueError, match=r"n_workers must be at most \d+ \(64 per usable core, "
                                         r"\d+ here\), got 10000"):
        cls(cost_of, n_workers=10_000, **kwargs)
    assert len(psutil.Process().children(recursive=True)) == before


def test_H8_workers_over_the_process_limit() -> None:
    """H8: a worker count above this user's ``RLIMIT_NPROC`` is refused, naming that limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NPROC)
    resource.setrlimit(resource.RLIMIT_NPROC, (5, hard))
    try:
        with pytest.raises(ValueError, match=r"n_workers must be at most 5 \(the process limit "
                                             r"RLIMIT_NPROC of this user is 5\), got 6"):
            check_n_workers(6)
        assert check_n_workers(5) == 5
    finally:
        resource.setrlimit(resource.RLIMIT_NPROC, (soft, hard))


def test_H8_max_concurrency_is_bounded() -> None:
    """H8: AsyncioRunner's ``max_concurrency`` (coroutines, not processes) has its own bound."""
    with pytest.raises(ValueError, match=r"max_concurrency must be at most 65536"):
        AsyncioRunner(cost_of, max_concurrency=10**6)


def test_H8_largest_limits_still_run(every_backend: FaultMaker) -> None:
    """H8: the largest accepted limits (MAX_SECONDS, MAX_MEMORY_MB) are enforceable: a trial
    under them is SUCCESS on every backend (the bound is what the platform can hold, not less)."""
    limits = {"walltime_limit": MAX_SECONDS}
    if not every_backend.is_async:
        limits.update(cpu_time_limit=MAX_SECONDS, memory_limit=MAX_MEMORY_MB)
    runner = every_backend(cost_of, **limits)
    value = one(runner, {"x": 2.0})
    assert value.status == StatusType.SUCCESS, value.additional_info
    assert value.cost == 2.0
