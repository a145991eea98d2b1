"""FAULTS G: load (10,000 trials at once on every parallel backend, 100,000 on the serial runner,
the journal's cost per trial) and bad input at the edges (each a clear error naming the
parameter, at construction where possible)."""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from collections.abc import Iterator

import faults_targets as ft
import psutil
import pytest
from contract.conftest import BACKENDS, _params

from faults.conftest import (
    FaultMaker,
    ListOptimizer,
    _maker,
    configs,
    one,
    runs_scripts,
    shared_code,
)
from runner import OptimizationLoop, PreflightError, RunnerClosedError, SerialRunner
from runner.testing import drain
from trials import (
    Journal,
    JournalFormatError,
    StatusType,
    TrialInfo,
)

N_LOAD = 10_000


def _rss() -> int:
    return psutil.Process().memory_info().rss


def _flood(runner, n: int) -> tuple[float, int]:
    """Submit ``n`` trials at once and drain them; (seconds, RSS growth in bytes)."""
    before = _rss()
    t0 = time.monotonic()
    for i in range(n):
        runner.submit_trial(TrialInfo({"i": i}))
    results = drain(runner, n, timeout=600)
    took, grew = time.monotonic() - t0, _rss() - before
    assert len(results) == n
    seen = Counter(info.config["i"] for info, _ in results)
    assert len(seen) == n and set(seen.values()) == {1}, "a trial was lost or yielded twice"
    assert all(value.status == StatusType.SUCCESS for _, value in results)
    assert not runner.is_running() and list(runner.iter_results()) == []
    return took, grew


@pytest.fixture(params=_params([b for b in BACKENDS if b.name in ("process", "thread",
                                                                  "asyncio")]))
def parallel(request: pytest.FixtureRequest) -> Iterator[FaultMaker]:
    """The parallel backends that need no cluster (dask: its own test, on a bigger cluster)."""
    yield from _maker(request)


def test_G1_ten_thousand_at_once(parallel: FaultMaker) -> None:
    """G1: 10,000 trials submitted at once all complete, each yielded exactly once, and the
    driver's memory grows by less than 100 MB (a few KB per trial at most)."""
    with parallel(ft.noop) as runner:
        took, grew = _flood(runner, N_LOAD)
    assert grew < 100 * 2**20, f"RSS grew by {grew / 2**20:.0f} MB for {N_LOAD} trials"
    logging.getLogger(__name__).info("%s: %d trials in %.1f s", parallel.name, N_LOAD, took)


@pytest.mark.slow
def test_G1_ten_thousand_at_once_on_dask() -> None:
    """G1 on dask: 10,000 trials submitted at once to a cluster of 2 workers x 4 threads all
    complete exactly once, with bounded driver memory."""
    distributed = pytest.importorskip("distributed")
    from runner import DaskRunner

    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=4, processes=True,
                                       dashboard_address=None, silence_logs=logging.ERROR,
                                       scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
    try:
        with distributed.Client(cluster, set_as_default=False) as client, \
                DaskRunner(ft.noop, client=client) as runner:
            took, grew = _flood(runner, N_LOAD)
    finally:
        cluster.close()
    assert grew < 150 * 2**20, f"RSS grew by {grew / 2**20:.0f} MB for {N_LOAD} trials"


def _wchar() -> int:
    """Bytes this process has passed to write() so far (Linux /proc/self/io)."""
    with open("/proc/self/io") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("wchar:"))


def test_G1_journal_cost_is_constant_per_trial(tmp_path) -> None:
    """G1: the journal costs O(1) per trial: 10,000 trials' records are appended, never
    rewritten (bytes written = bytes in the file), and the last thousand appends take no
    longer than the first thousand (within noise)."""
    path = tmp_path / "study.jsonl"
    info = TrialInfo({"lr": 0.01, "layers": 3}).to_dict()
    value = {"cost": 0.5, "time": 1.0, "status": "SUCCESS", "additional_info": {}}
    spans = []
    with Journal.open(path, fsync="never") as journal:
        written = _wchar()
        for block in range(10):
            t0 = time.perf_counter()
            for trial in range(block * 1000, (block + 1) * 1000):
                journal.append({"type": "submit", "trial": trial, "attempt": 0, "info": info})
                journal.append({"type": "result", "trial": trial, "attempt": 0, "final": True,
                                "info": info, "value": value})
            spans.append(time.perf_counter() - t0)
        written = _wchar() - written
    size = path.stat().st_size
    assert written <= size * 1.05, f"{written} bytes written for a {size}-byte journal"
    assert size / N_LOAD < 1000
    assert min(spans[-3:]) < 3 * max(spans[:3]), spans


def test_G1_loop_journal_bytes_per_trial(tmp_path) -> None:
    """G1 through the loop: a 2,000-trial study writes a constant number of bytes per trial
    (twice as many trials, twice as many bytes), never rewriting what it wrote."""
    sizes = []
    for n in (1000, 2000):
        path = tmp_path / f"study-{n}.jsonl"
        before = _wchar()
        with SerialRunner(ft.noop) as runner:
            OptimizationLoop(ListOptimizer([{"i": i} for i in range(n)]), runner,
                             journal=path).run()
        sizes.append((_wchar() - before, path.stat().st_size))
    (w1, s1), (w2, s2) = sizes
    assert w1 <= s1 * 1.1 and w2 <= s2 * 1.1, sizes
    assert 1.8 < s2 / s1 < 2.2, sizes


@pytest.mark.slow
def test_G1_hundred_thousand_serial() -> None:
    """A study of 100,000 no-op trials completes on the serial runner: every trial told once,
    in bounded memory (the history holds them all, well under 200 MB)."""
    class Counting:
        def __init__(self) -> None:
            self.asked = self.told = 0

        def ask(self) -> TrialInfo:
            self.asked += 1
            return TrialInfo({"i": self.asked})

        def tell(self, info: TrialInfo, value: object) -> None:
            self.told += 1

    opt = Counting()
    before = _rss()
    loop = OptimizationLoop(opt, SerialRunner(ft.noop), n_trials_goal=100_000)
    loop.run()
    assert opt.told == opt.asked == len(loop.history) == 100_000
    assert loop.status() == "finished"
    assert _rss() - before < 200 * 2**20


# -- G2 and bad input at the edges ----------------------------------------------------------

def test_G2_non_callable_target(every_backend: FaultMaker) -> None:
    """G2: a target that is neither callable, a Target nor a command line is a TypeError naming
    the argument, the expectation and the value."""
    with pytest.raises(TypeError, match=r"target must be a callable, a runner\.Target or a "
                                        r"command line, got 42 \(type int\)"):
        every_backend.build(every_backend.cls, 42)


LIMITS = [("walltime_limit", 0, "seconds"), ("walltime_limit", -1.5, "seconds"),
          ("cpu_time_limit", 0, "seconds"), ("memory_limit", -256, "megabytes"),
          ("walltime_limit", math.inf, "seconds"), ("memory_limit", math.nan, "megabytes")]


@shared_code("every_backend", "name, value, unit", LIMITS)
def test_G2_bad_limits(every_backend: FaultMaker, name: str, value: float, unit: str) -> None:
    """G2: a zero, negative or non-finite limit is a ValueError naming the limit and the value,
    at construction (AsyncioRunner refuses any memory or CPU limit, naming it: case B4). The
    check is ``runner._core.validation``'s: every case on one backend, one on each other."""
    maker = every_backend
    target = maker.target(ft.noop)
    if maker.is_async and name != "walltime_limit":
        match = f"AsyncioRunner cannot enforce {name}"
    else:
        match = rf"{name} must be a finite number of {unit} > 0 or None, got {value!r}"
    with pytest.raises(ValueError, match=match.replace("(", r"\(").replace(")", r"\)")):
        maker.build(maker.cls, target, **{name: value})


def test_G2_zero_workers(every_backend: FaultMaker) -> None:
    """G2: zero workers is a ValueError naming n_workers; SerialRunner, which has no such
    argument, refuses it as an unknown keyword."""
    maker = every_backend
    target = maker.target(ft.noop)
    if maker.is_serial:
        with pytest.raises(TypeError, match="unexpected keyword argument 'n_workers'"):
            maker.build(maker.cls, target, n_workers=0)
    else:
        with pytest.raises(ValueError, match="n_workers must be >= 1, got 0"):
            maker.cls(target, n_workers=0)


def test_G2_submit_after_close(every_backend: FaultMaker) -> None:
    """G2: submit_trial after close() is a RunnerClosedError (a RuntimeError) saying what to
    do; close() stays idempotent."""
    runner = every_backend(ft.noop)
    runner.close()
    with pytest.raises(RuntimeError, match=rf"submit_trial\(\) on a closed "
                                           rf"{type(runner).__name__}; create a new runner"):
        runner.submit_trial(TrialInfo({}))
    assert isinstance(pytest.raises(RunnerClosedError, runner.submit_trial,
                                    TrialInfo({})).value, RuntimeError)
    runner.close()


@shared_code("every_backend", "key", ["seed", "instance", "budget"], keep=runs_scripts)
def test_G2_script_config_key_collides(every_backend: FaultMaker, tmp_path, key: str) -> None:
    """G2: a config key named like a trial field cannot be passed to a script (it would become a
    second --seed=): ValueError at submit_trial, before anything runs (``runner._core.script``:
    every key on one backend, one on each other)."""
    path = ft.script(tmp_path, "ran.py", "open(sys.argv[0] + '.ran', 'w').close()\n"
                                        "print('cost=0')")
    with every_backend(path) as runner:
        with pytest.raises(ValueError, match=f"config key '{key}' collides with the trial field "
                                             f"passed as --{key}= to script targets"):
            runner.submit_trial(TrialInfo({key: 1}))
        assert not runner.is_running()
        assert one(runner, {"x": 1}).status == StatusType.SUCCESS  # the runner is fine
    assert (tmp_path / "ran.py.ran").exists()


@configs("every_backend", runs_scripts)
def test_G2_missing_script(every_backend: FaultMaker, tmp_path) -> None:
    """A script target that does not exist, or is not executable, fails at construction."""
    missing = str(tmp_path / "nope.sh")
    with pytest.raises(PreflightError, match=f"script target '{missing}' does not exist"):
        every_backend.build(every_backend.cls, missing)
    plain = tmp_path / "plain.py"
    plain.write_text("print('cost=0')")
    with pytest.raises(PreflightError, match="is not executable \\(chmod \\+x it\\)"):
        every_backend.build(every_backend.cls, str(plain))


OBJECTIVES = [
    ({"objectives": []}, TypeError, "objectives must be a name or a non-empty sequence"),
    ({"objectives": ["acc", ""]}, TypeError, "non-empty names, got \\['acc', ''\\]"),
    ({"objectives": ["acc", 3]}, TypeError, "objectives must be a name"),
    ({"objectives": ["acc", "acc"]}, ValueError, "objectives must be distinct"),
    ({"objectives": ["acc", "time"], "crash_cost": [1.0]}, ValueError,
     "crash_cost has 1 values but there are 2 objectives \\['acc', 'time'\\]"),
    ({"objectives": ["acc", "time"], "crash_cost": {"acc": 1.0, "size": 2.0}}, TypeError,
     "crash_cost must be a float or one float per objective"),
    ({"crash_cost": math.nan}, ValueError, "crash_cost must not be NaN"),
]


@shared_code("every_backend", "kwargs, error, match", OBJECTIVES)
def test_G2_bad_objectives_and_crash_cost(every_backend: FaultMaker, kwargs: dict,
                                          error: type, match: str) -> None:
    """Objective names that are empty, not strings or repeated, and crash costs of the wrong
    length, keyed by objective names, or NaN, fail at construction naming the argument
    (``runner._core.returns``: every case on one backend, one on each other)."""
    maker = every_backend
    with pytest.raises(error, match=match):
        maker.build(maker.cls, maker.target(ft.noop), **kwargs)


def test_G2_optimizer_without_ask_or_tell() -> None:
    """An optimizer lacking ask() or tell() is a TypeError naming its class and what it lacks."""
    class OnlyAsk:
        def ask(self) -> None:
            return None

    class Nothing:
        pass

    with pytest.raises(TypeError, match=r"OnlyAsk has no tell\(\)"):
        OptimizationLoop(OnlyAsk(), SerialRunner(ft.noop))
    with pytest.raises(TypeError, match=r"Nothing has no ask or tell\(\)"):
        OptimizationLoop(Nothing(), SerialRunner(ft.noop))


def test_G2_journal_of_another_study_or_newer_format(tmp_path) -> None:
    """A journal written by another study, or in a future format version, is refused with a
    JournalFormatError naming both, and left unchanged."""
    path = tmp_path / "study.jsonl"
    with Journal.open(path, study="resnet"):
        pass
    data = path.read_bytes()
    with pytest.raises(JournalFormatError, match=r"written by another study \('resnet'\), not "
                                                 r"by 'bert'"):
        OptimizationLoop(ListOptimizer([]), SerialRunner(ft.noop),
                         journal=Journal.open(path, study="bert"))
    assert path.read_bytes() == data
    future = tmp_path / "future.jsonl"
    future.write_text('{"type":"header","format":99,"created":0,"study":null}\n')
    with pytest.raises(JournalFormatError, match="is in journal format 99, but this version of "
                                                 "trials reads formats up to 1"):
        OptimizationLoop(ListOptimizer([]), SerialRunner(ft.noop), journal=future)
    assert not (tmp_path / "future.jsonl.lock").exists()
    not_journal = tmp_path / "results.csv"
    not_journal.write_text("x,cost\n1,2\n")
    with pytest.raises(JournalFormatError, match="is not a trial journal"):
        OptimizationLoop(ListOptimizer([]), SerialRunner(ft.noop), journal=not_journal)
    assert not_journal.read_text() == "x,cost\n1,2\n"
