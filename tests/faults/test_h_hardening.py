"""FAULTS H (issue 13), items 8, 10 and 11: absurd numbers refused at construction naming the
argument and its range (H8), size caps measured after decoding and on what reaches the journal
(H10), and journal/lock paths that are not regular files or hold malformed records (H11)."""

from __future__ import annotations

import json
import math
import os
import pickle
import re
import resource
import stat
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest

from faults.conftest import FaultMaker, ListOptimizer, configs, one, real_time
from runner import (
    AsyncioRunner,
    DaskRunner,
    OptimizationLoop,
    ProcessPoolRunner,
    RetriesExceededError,
    SerialRunner,
    ThreadPoolRunner,
)
from runner._core.caps import JOURNAL_CAP, check_result_size, measure_size
from runner._core.limits import MemoryLimitWarning
from runner._core.validation import MAX_MEMORY_MB, MAX_SECONDS, check_n_workers
from runner._loop.journal import write_history
from runner.testing import cost_of, echo
from trials import (
    History,
    Journal,
    JournalCorruptError,
    JournalFormatError,
    StatusType,
    TrialInfo,
    TrialValue,
    read_records,
)
from trials._json import TRUNCATED_TAG

# -- H8: numbers ---------------------------------------------------------------------------

CONSTRUCTORS = [
    pytest.param(SerialRunner, {}, id="serial"),
    pytest.param(ProcessPoolRunner, {"n_workers": 1}, id="process"),
    pytest.param(ThreadPoolRunner, {"n_workers": 1}, id="thread"),
    pytest.param(DaskRunner, {"n_workers": 1}, id="dask"),
    pytest.param(AsyncioRunner, {}, id="asyncio"),
]


ABSURD_LIMITS = [
    ("walltime_limit", 1e12, r"walltime_limit must be at most 2147483 seconds \(24\.8 days"),
    ("walltime_limit", 3e6, r"walltime_limit must be at most 2147483 seconds"),
    ("cpu_time_limit", 1e300, r"cpu_time_limit must be at most 2147483 seconds"),
    ("memory_limit", 1e30, r"memory_limit must be at most 4398046511104 megabytes \(the byte "
                           r"count must fit setrlimit"),
    ("walltime_limit", 10**400, r"walltime_limit must be a number of seconds .* too large for a "
                                r"float"),
]


@pytest.mark.parametrize(("cls", "kwargs", "name", "value", "match"), [
    # runner._core.validation decides: every limit on SerialRunner, the first on each other
    # constructor, the rest in `make test-all` (AsyncioRunner refuses memory and CPU limits of
    # any size: case B4, so those are not generated)
    pytest.param(*ctor.values, *limit, id=f"{ctor.id}-{i}",
                 marks=[pytest.mark.exhaustive] if ctor.id != "serial" and i > 0 else [])
    for ctor in CONSTRUCTORS for i, limit in enumerate(ABSURD_LIMITS)
    if ctor.id != "asyncio" or limit[0] == "walltime_limit"])
def test_H8_absurd_limits_are_refused(cls, kwargs, name, value, match) -> None:
    """H8: a limit no mechanism can hold (1e12 s killed the pool's keeper thread, 3e6 s made
    SerialRunner raise at submit, 1e300 CPU seconds crashed every trial) is a ValueError at
    construction naming the limit and its range; nothing is started."""
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


def test_H8_asyncio_n_workers_is_bounded() -> None:
    """H8: AsyncioRunner's ``n_workers`` (coroutines, not processes) has its own bound."""
    with pytest.raises(ValueError, match=r"n_workers must be at most 65536"):
        AsyncioRunner(cost_of, n_workers=10**6)


@configs("every_backend", real_time)
def test_H8_largest_limits_still_run(every_backend: FaultMaker) -> None:
    """H8: the largest accepted limits (MAX_SECONDS, MAX_MEMORY_MB) are enforceable: a trial
    under them is SUCCESS on every backend (the bound is what the platform can hold, not less)."""
    limits = {"walltime_limit": MAX_SECONDS}
    if every_backend.is_async:
        runner = every_backend(cost_of, **limits)
    else:  # a limit beyond the machine's memory warns that it will never act (issue 14)
        limits.update(cpu_time_limit=MAX_SECONDS, memory_limit=MAX_MEMORY_MB)
        with pytest.warns(MemoryLimitWarning, match="memory_limit=4.39805e"):
            runner = every_backend(cost_of, **limits)
    value = one(runner, {"x": 2.0})
    assert value.status == StatusType.SUCCESS, value.additional_info
    assert value.cost == 2.0


# -- H11: journal and lock paths, malformed records ------------------------------------------

def _within(seconds: float, fn: Callable[[], Any]) -> BaseException | None:
    """Run ``fn`` in a thread; fail if it has not returned within ``seconds`` (a FIFO open that
    blocks); return what it raised."""
    outcome: list[BaseException | None] = []

    def call() -> None:
        try:
            fn()
        except BaseException as exc:  # handed to the test
            outcome.append(exc)
        else:
            outcome.append(None)

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(seconds)
    assert outcome, f"still blocked after {seconds} s"
    return outcome[0]


def _node(tmp_path: Path, kind: str) -> Path:
    """A path in ``tmp_path`` that is not a regular file: a device node of our own (never the
    system's /dev/null: a bug would replace it), a FIFO, a symlink to that device, a folder."""
    path = tmp_path / f"node-{kind}"
    if kind in ("device", "symlink-to-device"):
        device = tmp_path / "device"
        if not device.exists():
            try:
                os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a null device
            except PermissionError:
                pytest.skip("creating a device node needs root")
        if kind == "device":
            return device
        path.symlink_to(device)
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    return path


KINDS = {"device": "a character device", "fifo": "a FIFO",
         "symlink-to-device": "a character device", "folder": "a folder"}


class _Nothing:
    def ask(self) -> None:
        return None

    def tell(self, info: TrialInfo, value: TrialValue) -> None:
        pass


@pytest.mark.parametrize("kind", list(KINDS))
def test_H11_periodic_saving_never_replaces_a_non_file(tmp_path, kind) -> None:
    """H11: ``start_periodic_saving(path)`` on a device node, a FIFO, a symlink to a device or a
    folder is a JournalFormatError naming the path and what it is, at once; the node is left as
    it was (as root on /dev/null it used to replace the device with a regular file)."""
    path = _node(tmp_path, kind)
    before = os.lstat(path)
    loop = OptimizationLoop(_Nothing(), SerialRunner(cost_of))
    with pytest.raises(JournalFormatError, match=rf"{re.escape(str(path))} is not a regular file "
                                                 rf"\(it is {KINDS[kind]}\); a history snapshot"):
        loop.start_periodic_saving(path, 1.0)
    with pytest.raises(JournalFormatError, match="is not a regular file"):
        write_history(path, [])
    after = os.lstat(path)
    assert (after.st_mode, after.st_ino, after.st_rdev) == (before.st_mode, before.st_ino,
                                                          before.st_rdev)
    assert not list(tmp_path.glob("*.tmp")), "a temporary snapshot was left behind"


def test_H11_periodic_saving_through_a_symlink_keeps_the_link(tmp_path) -> None:
    """H11: a symlink to a regular file is kept; its target gets the snapshot."""
    target = tmp_path / "history.jsonl"
    target.write_text("old")
    link = tmp_path / "link.jsonl"
    link.symlink_to(target)
    write_history(link, [(TrialInfo({"x": 1}), TrialValue(cost=1.0))])
    assert link.is_symlink() and len(History.load(link)) == 1


@pytest.mark.parametrize("kind", ["fifo", "folder", "device", "symlink-to-device"])
def test_H11_journal_that_is_not_a_file(tmp_path, kind) -> None:
    """H11: a journal path that is a FIFO (never blocks), a folder (not a bare
    IsADirectoryError), a device or a symlink to one is a JournalFormatError naming the path and
    what it is, for a loop, Journal.open, read_records and History.load; no lock is left."""
    path = _node(tmp_path, kind)
    match = rf"{re.escape(str(path))} is not a regular file \(it is {KINDS[kind]}\)"
    for fn in (lambda: OptimizationLoop(_Nothing(), SerialRunner(cost_of), journal=path),
               lambda: Journal.open(path), lambda: read_records(path),
               lambda: History.load(path)):
        error = _within(5, fn)
        assert isinstance(error, JournalFormatError), repr(error)
        assert re.search(match, str(error)), str(error)
    assert not os.path.exists(f"{path}.lock")


@pytest.mark.parametrize("kind", ["fifo", "folder", "zero"])
def test_H11_lock_that_is_not_a_file(tmp_path, kind) -> None:
    """H11: a lock file that is a FIFO (it hung), a folder, or a symlink to /dev/zero (it was
    read until MemoryError) is a JournalFormatError naming the lock, at once; the journal and
    the lock path are left as they were."""
    journal = tmp_path / "study.jsonl"
    lock = tmp_path / "study.jsonl.lock"
    if kind == "fifo":
        os.mkfifo(lock)
    elif kind == "folder":
        lock.mkdir()
    else:
        lock.symlink_to("/dev/zero")
    before = os.lstat(lock)
    error = _within(5, lambda: Journal.open(journal))
    assert isinstance(error, JournalFormatError), repr(error)
    what = {"fifo": "a FIFO", "folder": "a folder", "zero": "a symbolic link"}[kind]
    assert f"{lock} is not a regular file (it is {what}); a journal's lock" in str(error)
    assert os.lstat(lock).st_ino == before.st_ino
    assert not journal.exists()


def _journal_with(tmp_path: Path, line: str, last: bool = False) -> Path:
    """A journal of one study's records with ``line`` inserted as line 3 (or appended last)."""
    path = tmp_path / "study.jsonl"
    with Journal.open(path) as journal:
        journal.append({"type": "submit", "trial": 0, "attempt": 0,
                        "info": TrialInfo({"x": 1.0}).to_dict(), "time": 1.0})
        journal.append({"type": "submit", "trial": 1, "attempt": 0,
                        "info": TrialInfo({"x": 2.0}).to_dict(), "time": 1.0})
    lines = path.read_text().splitlines(keepends=True)
    lines.insert(len(lines) if last else 2, line + "\n")
    path.write_text("".join(lines))
    return path


MALFORMED = {
    "nan": ('{"type":"submit","trial":2,"attempt":0,"info":{"config":{"x":NaN}},"time":1}',
            r"a NaN token; a journal writes non-finite floats as \{\"\$float\": \.\.\.\}"),
    "infinity": ('{"type":"submit","trial":2,"attempt":0,"info":{"config":{"x":-Infinity}}}',
                 r"a -Infinity token"),
    "huge float": ('{"type":"submit","trial":2,"attempt":0,"info":{"config":{"x":1e999}}}',
                   r"the number 1e999, too large for a float"),
    "huge int": ('{"type":"submit","trial":2,"attempt":0,"info":{"config":{"x":'
                 + "9" * 5000 + "}}}", r"an integer of more than 4300 digits"),
    "deep": ('{"type":"submit","trial":2,"info":' + "[" * 300 + "]" * 300 + "}",
             r"JSON nested more than 208 levels deep"),
    "very deep": ('{"type":"submit","trial":2,"info":' + "[" * 100_000 + "]" * 100_000 + "}",
                  r"JSON nested too deeply to read"),
}


@pytest.mark.parametrize("last", [False, True], ids=["middle", "last"])
@pytest.mark.parametrize("case", list(MALFORMED))
def test_H11_malformed_record_names_its_line(tmp_path, case, last) -> None:
    """H11: a NaN or Infinity token, a number beyond a float or of thousands of digits, or deep
    nesting is a JournalCorruptError naming the line, in the middle and as the last line (a
    complete line is not a torn write); opening leaves the file byte for byte as it was."""
    line, reason = MALFORMED[case]
    path = _journal_with(tmp_path, line, last)
    number = 4 if last else 3
    data = path.read_bytes()
    for fn in (lambda: Journal.open(path), lambda: History.load(path),
               lambda: OptimizationLoop(_Nothing(), SerialRunner(cost_of), journal=path)):
        with pytest.raises(JournalCorruptError, match=rf"line {number} \(byte \d+\) is not a "
                                                      rf"valid JSON record \({reason}"):
            fn()
    assert path.read_bytes() == data
    assert not os.path.exists(f"{path}.lock")


@pytest.mark.parametrize(("record", "match"), [
    ({"trial": "1", "attempt": 0}, r"has trial='1', not an integer from 0 to 2\*\*63-1"),
    ({"trial": 1.5, "attempt": 0}, r"has trial='1.5', not an integer"),
    ({"trial": True, "attempt": 0}, r"has trial='True', not an integer"),
    ({"trial": -1, "attempt": 0}, r"has trial='-1', not an integer"),
    ({"trial": 2**70, "attempt": 0}, r"has trial='1180591620717411303424', not an integer"),
    ({"trial": 1, "attempt": [0]}, r"has attempt='\[0\]', not an integer"),
    ({"trial": 1}, r"has no 'attempt' field"),
    ({"trial": 5, "attempt": 0, "info": {"config": {}, "budget": 10**400}},
     r"cannot be read back: ValueError\('TrialInfo\.budget must be a number"),
    ({"trial": 5, "attempt": 0, "info": {"config": 3}},
     r"cannot be read back: TypeError\('TrialInfo\.config must be a mapping"),
])
def test_H11_bad_trial_record_names_its_line(tmp_path, record, match) -> None:
    """H11: a submit record whose trial id or attempt is not a non-negative integer (a string,
    a float, a bool, 2**70), or whose info cannot be rebuilt (``budget`` 10**400), is a
    JournalCorruptError naming the line when a loop resumes (it was a bare TypeError, or
    OverflowError naming no line)."""
    full = {"type": "submit", "info": {"config": {"x": 3.0}}, "time": 1.0, **record}
    path = _journal_with(tmp_path, json.dumps(full))
    with pytest.raises(JournalCorruptError, match=rf"line 3 \('submit' record\) {match}"):
        OptimizationLoop(_Nothing(), SerialRunner(cost_of), journal=path)
    assert not os.path.exists(f"{path}.lock")


# -- H10: sizes ------------------------------------------------------------------------------

class _Bomb:
    """Pickles to a few dozen bytes, unpickles to ``n`` zero bytes."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __reduce__(self) -> tuple[Any, ...]:
        return bytes, (self.n,)


def test_H10_result_size_is_measured_after_decoding() -> None:
    """H10: a 40-byte pickle that unpickles to 64 MB, and a list of 8 million ``None`` (64 MB
    of pointers), are over a 32 MB cap once decoded; ``check_result_size`` says so with both
    sizes, at once; a 16 MB array and a typical result are within it."""
    limit = 32 * 2**20
    data = pickle.dumps(_Bomb(64 * 2**20))
    assert len(data) < 100
    for value in (pickle.loads(data), [None] * (8 * 2**20),
                  {"a": [1.0, {"b": pickle.loads(data)}]}):
        error = check_result_size(value, limit)
        assert error is not None and re.fullmatch(
            r"the result takes at least 6\d MB in memory once decoded, over the 32 MB cap on "
            r"what a trial may return", error), error
    np = pytest.importorskip("numpy")
    assert check_result_size(np.zeros(2 * 2**20), limit) is None
    assert check_result_size((1, 0.5, 0.01, {"error": "x" * 50, "acc": 0.9}), limit) is None


def test_H10_measuring_is_bounded() -> None:
    """H10: measuring visits at most MAX_NODES objects, extrapolating the rest: 3 million ints
    (about 100 MB) measure within 20 % of their real size in well under 100 ms."""
    value = list(range(3_000_000))
    real = sys.getsizeof(value) + sum(sys.getsizeof(i) for i in value[:1000]) * 3000
    t0 = time.perf_counter()
    size = measure_size(value)
    took = time.perf_counter() - t0
    assert abs(size - real) < 0.2 * real, (size, real)
    assert took < 0.1, f"measuring took {took:.3f} s"


def test_H10_journal_truncates_large_info_keeps_it_in_memory(every_backend: FaultMaker,
                                                             tmp_path) -> None:
    """H10: a 20 MB bytes value in the returned info is journaled as a truncation marker (its
    type, length and first bytes), so the result's journal line stays small; the in-memory
    TrialValue keeps it whole; the rest of the info is journaled as usual."""
    n = 20 * 2**20
    if every_backend.is_async:
        async def target(config: Any) -> Any:
            return config["x"], {"blob": bytes(n), "acc": 0.9}
    else:
        def target(config: Any) -> Any:  # a closure: travels by value to worker processes
            return config["x"], {"blob": bytes(n), "acc": 0.9}
    runner = every_backend.build(every_backend.cls, target)
    path = tmp_path / "study.jsonl"
    loop = OptimizationLoop(ListOptimizer([{"x": 1.0}]), runner, journal=path)
    loop.run()
    [(_, value)] = list(loop.history)
    assert value.additional_info["blob"] == bytes(n)
    assert path.stat().st_size < 10_000
    [(_, loaded)] = list(History.load(path))
    assert loaded.additional_info["acc"] == 0.9
    assert loaded.additional_info["blob"] == {TRUNCATED_TAG: {
        "type": "bytes", "length": n, "head": repr(bytes(100))}}


def test_H10_encoding_an_over_cap_value_stays_small() -> None:
    """H10: journaling a value holding a 50 MB bytes object, a 10-million-element array and a
    million-element list allocates under 2 MB and takes well under a second (it made a 250 MB
    journal line); every entry past the total cap is a marker too."""
    np = pytest.importorskip("numpy")
    value = TrialValue(cost=1.0, additional_info={
        "blob": bytes(50 * 2**20), "array": np.zeros(10_000_000), "many": list(range(10**6)),
        **{f"part{i}": "y" * 900_000 for i in range(8)}})
    tracemalloc.start()
    try:
        t0 = time.perf_counter()
        line = json.dumps(value.to_dict(cap=JOURNAL_CAP))
        took = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(line) <= JOURNAL_CAP.total_bytes + 10_000
    assert peak < 2 * 2**20 + len(line) * 2, peak
    assert took < 1.0
    info = json.loads(line)["additional_info"]
    assert info["array"] == {TRUNCATED_TAG: {"type": "ndarray", "shape": [10_000_000],
                                             "dtype": "float64"}}
    assert info["many"] == {TRUNCATED_TAG: {"type": "list", "length": 10**6}}
    kept = [k for k in info if k.startswith("part") and isinstance(info[k], str)]
    assert 3 <= len(kept) <= 4, kept  # 4 MB in all: the parts after that are markers


def test_H10_large_config_is_refused_at_submit(tmp_path) -> None:
    """H10: a config value over the journal's cap per value is a ValueError naming it at
    submit, before the target runs (truncating it would make a resumed study run a different
    trial); nothing is journaled for it."""
    ran: list[Any] = []
    opt = ListOptimizer([{"x": 1.0, "data": "a" * (2 * 2**20)}])
    with SerialRunner(lambda c: ran.append(c) or 0.0) as runner:
        loop = OptimizationLoop(opt, runner, journal=tmp_path / "study.jsonl")
        with pytest.raises(ValueError, match=r"TrialInfo\.config\['data'\] takes more than "
                                             r"1048576 bytes as JSON, over the journal's cap; .*"
                                             r"shared_data"):
            loop.run()
    assert ran == [] and opt.told == []
    assert read_records(tmp_path / "study.jsonl") == []


@pytest.mark.parametrize(("build", "error", "match"), [
    (lambda: SerialRunner(cost_of, crash_cost=10**400), ValueError,
     r"crash_cost must be a float or one float per objective, got an int of about 401 digits"),
    (lambda: SerialRunner(cost_of, crash_cost=[1.0, 10**400], objectives=["a", "b"]),
     ValueError, r"crash_cost must be a number a float can hold"),
    (lambda: OptimizationLoop(_Nothing(), SerialRunner(cost_of), cost_goal=-(10**400)),
     ValueError, r"cost_goal must be a number, got an int of about 401 digits .* too large"),
    (lambda: OptimizationLoop(_Nothing(), SerialRunner(cost_of), duration_goal=10**400),
     ValueError, r"duration_goal must be a number"),
], ids=["crash_cost", "crash_cost-per-objective", "cost_goal", "duration_goal"])
def test_H8_other_numbers_beyond_a_float(build, error, match) -> None:
    """H8: the other numeric arguments (crash cost, goals) beyond a float's range are a
    ValueError naming them, not a bare OverflowError."""
    with pytest.raises(error, match=match):
        build()


def test_H8_journal_intervals_beyond_a_float(tmp_path) -> None:
    """H8: ``fsync_interval`` and the periodic saver's ``interval`` beyond a float's range, or
    not numbers, are clear errors naming them."""
    with pytest.raises(ValueError, match=r"fsync_interval must be a number of seconds > 0, "
                                         r"got an int of about 401 digits"):
        Journal.open(tmp_path / "j.jsonl", fsync="interval", fsync_interval=10**400)
    with pytest.raises(TypeError, match=r"fsync_interval must be a number of seconds > 0, "
                                        r"got '1'"):
        Journal.open(tmp_path / "j.jsonl", fsync="interval", fsync_interval="1")
    loop = OptimizationLoop(_Nothing(), SerialRunner(cost_of))
    with pytest.raises(ValueError, match=r"interval must be a number of seconds > 0, got an int"):
        loop.start_periodic_saving(tmp_path / "h.jsonl", 10**400)


def test_H8_returned_cost_beyond_a_float(every_backend: FaultMaker) -> None:
    """H8: a target returning ``10**400`` as its cost is CRASHED with the crash cost and an
    error saying the number is too large for a float."""
    runner = every_backend(echo)
    value = one(runner, {"ret": 10**400})
    assert value.status == StatusType.CRASHED and value.cost == math.inf
    assert "is an int of about 401 digits (type int), too large for a float" in (
        value.additional_info["error"])


def test_H10_failed_record_keeps_the_end_of_a_huge_traceback(tmp_path) -> None:
    """H10: a trial that fails for good with a 5 MB exception message gets a ``failed`` record
    of at most the per-value cap, keeping the traceback's end (where the exception is)."""
    def target(config: Any) -> float:
        raise ValueError("x" * (5 * 2**20) + " the end")

    path = tmp_path / "study.jsonl"
    loop = OptimizationLoop(ListOptimizer([{"x": 1.0}]), SerialRunner(target), journal=path,
                            raise_if_retries_exceeded=True)
    with pytest.raises(RetriesExceededError):
        loop.run()
    [failed] = [r for r in read_records(path) if r["type"] == "failed"]
    assert len(failed["traceback"]) <= JOURNAL_CAP.value_bytes + 100
    assert failed["traceback"].startswith("[... ") and "the end" in failed["traceback"]
    assert path.stat().st_size < 3 * JOURNAL_CAP.total_bytes


def test_H8_virtual_and_remote_workers_are_not_bound_by_cores() -> None:
    """H8: counts of workers that are not this machine's processes or threads (SimulatedRunner's
    virtual workers, an ExecutorRunner's possibly remote executor) have only the coroutine bound
    (65,536), not 64 per core."""
    from concurrent.futures import ThreadPoolExecutor

    from runner import ExecutorRunner, SimulatedRunner

    with SimulatedRunner(cost_of, n_workers=1000) as runner:
        assert runner.count_available_workers() == 1000
    with pytest.raises(ValueError, match=r"n_workers must be at most 65536 \(the loop asks"):
        SimulatedRunner(cost_of, n_workers=10**6)
    with ThreadPoolExecutor(1) as pool:
        with ExecutorRunner(cost_of, pool, n_workers=500) as runner:
            assert runner.count_available_workers() == 500
        with pytest.raises(ValueError, match=r"n_workers must be at most 65536"):
            ExecutorRunner(cost_of, pool, n_workers=10**6)
