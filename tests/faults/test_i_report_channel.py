"""FAULTS I (continued): the report channel against a hostile target (issue 27, items 4, 5, 8,
11, 12). A report that comes after its trial answered (a leftover thread, a forked child) is
dropped, never another trial's verdict; reports from many threads all arrive; an optimizer's
``on_report`` failing fails the loop on every backend, is never called concurrently and is not
charged to the trial; an absurd step or an oversized report is refused where ``report`` is
called, costing that trial only."""

from __future__ import annotations

import os
import pickle
import threading
import time
from typing import Any

import pytest
import report_saboteurs as rs

from faults.conftest import (
    FaultMaker,
    ListOptimizer,
    carries_reports,
    configs,
    isolating,
    real_time,
)
from runner import OptimizationLoop, SerialRunner
from runner.testing import wait_until
from trials import History, Report, StatusType, TrialInfo, TrialValue


def live_reports(backend: Any) -> bool:
    """Carries a running trial's reports as they are made (an ExecutorRunner refuses report
    targets; SimulatedRunner replays a returned curve, its report callable goes nowhere)."""
    return carries_reports(backend) and real_time(backend)


def _make(maker: FaultMaker, target: Any, **kwargs: Any) -> Any:
    """``maker``'s runner of ``target`` (its async twin on asyncio)."""
    if maker.is_async:
        return maker.build(maker.cls, rs.ASYNC_TWINS[target], **kwargs)
    return maker(target, **kwargs)


def _run(runner: Any, config: dict[str, Any], timeout: float = 60.0
         ) -> tuple[TrialValue, list[Report]]:
    """One trial, its reports drained as they come (so no worker blocks on a full pipe)."""
    info = TrialInfo(config)
    reports: list[Report] = []
    runner.submit_trial(info)
    deadline = time.monotonic() + timeout
    while True:
        reports.extend(r for got, r in runner.iter_reports() if got is info)
        results = list(runner.iter_results())
        if results:
            reports.extend(r for got, r in runner.iter_reports() if got is info)
            [(got, value)] = results
            assert got is info
            return value, reports
        assert time.monotonic() < deadline, f"no result within {timeout} s"
        runner.wait(0.5)


# -- item 4: reports after the answer ------------------------------------------------------------


@configs("any_config", live_reports)
def test_I4_a_leftover_thread_reporting_costs_no_trial(any_config: FaultMaker) -> None:
    """I4: each trial leaves a thread that goes on reporting after it answered: every trial,
    on the same worker one after the other, is SUCCESS with its own cost (before: the next trial
    on the process pool was CRASHED "a report for trial N, expected N+1", and a report right
    after the answer made the trial's own result CRASHED "a second answer")."""
    with _make(any_config, rs.leaves_a_reporting_thread, **any_config.one_worker()) as runner:
        got = [_run(runner, {"i": i}) for i in range(10)]
    assert [(v.status, v.cost) for v, _ in got] == [(StatusType.SUCCESS, float(i))
                                                    for i in range(10)], got
    for value, reports in got:  # whatever arrived before the answer is the trial's own
        assert all(r.step == 1 or r.step >= 1000 for r in reports), value


def live_isolated(backend: Any) -> bool:
    """Carries live reports, each trial in a supervised process of its own (a fork in the
    target must not hit the driver)."""
    return live_reports(backend) and isolating(backend)


@configs("any_config", live_isolated)
def test_I4_a_forked_child_reporting_costs_no_trial(any_config: FaultMaker) -> None:
    """I4: each trial forks a child that goes on reporting: every trial SUCCESS with its own
    cost; the child's calls are dropped where it runs (it must not read the worker's trial pipe
    nor interleave frames with the worker's)."""
    with _make(any_config, rs.forks_a_reporter, walltime_limit=30.0,
               **any_config.one_worker()) as runner:
        got = [_run(runner, {"i": i}) for i in range(10)]
    assert [(v.status, v.cost) for v, _ in got] == [(StatusType.SUCCESS, float(i))
                                                    for i in range(10)], got


def _child_write_end(worker: Any) -> int:
    """A descriptor of this process on the worker's own end of its result pipe (through /proc),
    to write frames as a leftover of the trial would."""
    inode = os.fstat(worker.fds[0]).st_ino
    for name in os.listdir(f"/proc/{worker.pid}/fd"):
        path = f"/proc/{worker.pid}/fd/{name}"
        try:
            if os.readlink(path) == f"pipe:[{inode}]":
                return os.open(path, os.O_WRONLY)
        except OSError:
            continue
    raise AssertionError("the worker's result pipe was not found")


def test_I4_stale_report_frames_are_dropped_by_the_driver() -> None:
    """I4, the driver's side: a report frame of an earlier trial while a trial runs, one right
    after the answer (read with it) and one while the worker is idle are dropped and counted;
    the trial keeps its own value and the worker stays (before: CRASHED "a report for trial 0,
    expected 1" / "a second answer"; the idle worker was replaced)."""
    import faults_targets as ft

    from runner._worker import protocol
    from runner._worker.blocking import BlockingWorker

    runner = SerialRunner(ft.noop, walltime_limit=30.0)
    worker = BlockingWorker(runner._payload(), runner._objectives, runner._limits)
    worker.start()
    fd = _child_write_end(worker)
    token = worker._reader.token

    def frame(seq: int, step: int) -> bytes:
        return protocol.encode_frame(token, seq, protocol.encode_report(step, 0.5, {}, 0.0))

    try:
        pid = worker.pid
        seen: list[Report] = []
        worker.send(TrialInfo({"x": 1.0}), seen.append)
        os.write(fd, frame(0, 7))  # a trial 0 that never was: stale
        reader = worker._reader
        wait_until(lambda: _readable(reader.fd) > 0, 30, "bytes on the result pipe")
        answer = worker.collect()
        while answer is None:
            answer = worker.collect()
        assert answer.status == StatusType.SUCCESS and seen == [], (answer, seen)
        # an answer with a report of its own trial right behind it, read in one go
        worker.send(TrialInfo({"x": 2.0}), seen.append)
        wait_until(lambda: _readable(reader.fd) > 0, 30, "the answer")
        os.write(fd, frame(2, 8))
        value = worker.collect()
        assert value is not None and value.status == StatusType.SUCCESS, value
        os.write(fd, frame(2, 9))  # while idle
        wait_until(lambda: _readable(reader.fd) > 0, 30, "the stale report")
        assert worker.idle_event() is None
        assert worker.stale_reports == 3 and worker.pid == pid and seen == []
    finally:
        os.close(fd)
        worker.close()
        runner.close()


def _readable(fd: int) -> int:
    import array
    import fcntl
    import termios

    buf = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, buf)
    return buf[0]


# -- item 5: reports from several threads of one trial ------------------------------------------


@configs("any_config", live_reports)
@pytest.mark.parametrize("kb", [0, 8])
def test_I5_reports_from_many_threads_all_arrive(any_config: FaultMaker, kb: int) -> None:
    """I5: 8 threads of one trial report 100 times each at once: all 800 reports arrive, each
    once, and the trial is SUCCESS (before, in a supervised worker: "concurrent poll()
    invocation", about 600 of 800 lost; with 8 KB metrics 4 of 5 trials CRASHED)."""
    expected = sorted(t * 1000 + k for t in range(rs.N_THREADS) for k in range(rs.PER_THREAD))
    with _make(any_config, rs.reports_from_threads, **any_config.one_worker()) as runner:
        for i in range(3 if kb else 1):
            value, reports = _run(runner, {"i": i, "kb": kb})
            assert value.status == StatusType.SUCCESS and value.cost == i, value
            assert sorted(r.step for r in reports) == expected, len(reports)
            assert all(len(r.metrics["blob"]) == kb * 1024 for r in reports)


# -- item 8: on_report's errors, concurrency and time --------------------------------------------


class _Reporting(ListOptimizer):
    """Decides with ``decide(report)`` on each report; counts the calls."""

    def __init__(self, configs: list[dict[str, Any]], decide: Any) -> None:
        super().__init__(configs)
        self.decide, self.calls = decide, 0

    def on_report(self, info: TrialInfo, report: Report) -> Any:
        self.calls += 1
        return self.decide(report)


def _boom(report: Report) -> Any:
    raise RuntimeError("on_report is broken")


@configs("any_config", live_reports)
@pytest.mark.parametrize("decide, error, match", [
    (_boom, RuntimeError, "on_report is broken"),
    (lambda report: 42, ValueError, r"_Reporting.on_report \(trial 0, step 1\): a report "
                                    "decision must be one of"),
], ids=["raises", "garbage"])
def test_I8_an_on_report_error_fails_the_loop(any_config: FaultMaker, decide: Any,
                                              error: type[Exception], match: str) -> None:
    """I8: an ``on_report`` that raises or returns garbage fails the loop on every backend,
    with its own error, and the trial is not retried (before, on SerialRunner: the trial was
    CRASHED with the optimizer's error, retried, and the loop went on)."""
    opt = _Reporting([{"i": 0, "n": 200}], decide)
    with _make(any_config, rs.reports_n, **any_config.one_worker()) as runner:
        loop = OptimizationLoop(opt, runner, retries=2)
        with pytest.raises(error, match=match):
            loop.run()
    assert loop.status() == "failed" and opt.told == []
    assert opt.calls == 1, "the trial was retried after its on_report failed"


def test_I8_on_report_is_never_concurrent_nor_charged_to_the_trial() -> None:
    """I8: on the serial runner, where reports are decided inside the trial's ``report`` call,
    ``on_report`` is never entered by two threads of the trial at once, and the time it takes
    is not in the trial's time (before: it overlapped, and 10 reports x 50 ms made a trial of
    microseconds 0.5 s long)."""
    inside, overlaps = threading.Lock(), []

    def decide(report: Report) -> str:
        if not inside.acquire(blocking=False):
            overlaps.append(report.step)
            return "continue"
        try:
            time.sleep(0.0005)  # long enough for another thread to come in, were it let
        finally:
            inside.release()
        return "continue"

    opt = _Reporting([{"i": 0}], decide)
    OptimizationLoop(opt, SerialRunner(rs.reports_from_threads)).run()
    assert overlaps == [] and opt.calls == rs.N_THREADS * rs.PER_THREAD
    slow = _Reporting([{"i": 0, "n": 10}], lambda report: time.sleep(0.05))
    loop = OptimizationLoop(slow, SerialRunner(rs.reports_n))
    loop.run()
    [(_, value)] = loop.history
    assert value.status == StatusType.SUCCESS and value.time < 0.25, value
    assert [r.time < 0.25 for r in loop.history.curve(loop.history[0][0])] == [True] * 10


# -- item 11: a step no journal can hold ---------------------------------------------------------


@configs("any_config", live_reports)
def test_I11_an_absurd_step_is_refused_in_the_target(any_config: FaultMaker, tmp_path) -> None:
    """I11: ``report(10**5000, cost)`` raises ``ValueError`` in the target naming
    ``Report.step``: that trial is CRASHED with it (or goes on, if it catches it), the loop and
    the journal are fine (before, on the process pool: the journal could not encode the step
    and the whole loop failed)."""
    configs = [{"i": 0, "step": "10**5000"}, {"i": 1, "step": "10**400", "catch": True},
               {"i": 2, "step": "3"}]
    opt = ListOptimizer(configs)
    journal = tmp_path / "study.jsonl"
    with _make(any_config, rs.reports_step, **any_config.one_worker()) as runner:
        loop = OptimizationLoop(opt, runner, journal=journal,
                                raise_if_retries_exceeded=False)
        loop.run()
    values = {info.config["i"]: value for info, value in loop.history}
    assert values[0].status == StatusType.CRASHED, values[0]
    assert "Report.step must be a number >= 0" in values[0].additional_info["error"]
    assert "too large for a float" in values[0].additional_info["error"]
    assert values[1].status == StatusType.SUCCESS and values[1].cost == 1.0
    assert "an int of about 401 digits" in values[1].additional_info["refused"]
    assert values[2].status == StatusType.SUCCESS
    loaded = History.load(journal)
    [third] = [info for info, _ in loaded if info.config["i"] == 2]
    assert [r.step for r in loaded.curve(third)] == [3]


# -- item 12: the caps on what a report may carry ------------------------------------------------


@configs("any_config", live_reports)
def test_I12_report_metrics_are_capped_in_the_journal(any_config: FaultMaker, tmp_path) -> None:
    """I12: three reports with a 2 MB metric each: the journal holds a truncation marker for
    it, not 2 MB a line (before: each report was a 2 MB line; 20 MB metrics, 20 MB lines); the
    curve in memory keeps the whole value, as a result's info does."""
    opt = ListOptimizer([{"i": 0, "mb": 2, "reports": 3}])
    journal = tmp_path / "study.jsonl"
    with _make(any_config, rs.reports_big_metric, **any_config.one_worker()) as runner:
        loop = OptimizationLoop(opt, runner, journal=journal)
        loop.run()
    [(info, value)] = loop.history
    assert value.status == StatusType.SUCCESS, value
    assert os.path.getsize(journal) < 100_000, os.path.getsize(journal)
    loaded = History.load(journal)
    curve = loaded.curve(loaded[0][0])
    assert [r.step for r in curve] == [1, 2, 3]
    assert curve[0].metrics["acc"] == 0.9 and "$truncated" in curve[0].metrics["blob"]
    in_memory = loop.history.curve(info)
    assert len(in_memory) == 3 and len(in_memory[0].metrics["blob"]) >= 2 * 2**20


def test_I12_an_oversized_report_is_refused_where_it_is_made(monkeypatch) -> None:
    """I12: a report over the cap on what a trial may return (pickled, or once decoded) raises
    ``ValueError`` in the target with the result's message, and nothing goes down the pipe
    (before: it was sent, and the driver called the channel corrupted and lost the trial's
    result). The cap is lowered to 1 MB here; the real one is tested slow below."""
    from runner._worker import protocol
    from runner._worker.child_reports import trial_reporter

    monkeypatch.setattr(protocol, "MAX_RESULT_BYTES", 1 << 20)
    r_trial, w_trial = os.pipe()
    r_result, w_result = os.pipe()
    os.set_blocking(r_result, False)
    try:
        report = trial_reporter(r_trial, w_result, 1234, 1)
        report(1, 0.5, small=b"x" * 1000)
        first = os.read(r_result, 1 << 16)
        assert first.startswith(protocol.MAGIC)
        with pytest.raises(ValueError, match=r"report\(step=2\) was not sent: the report is 2 MB "
                                             "pickled, over the 1 MB cap on what a trial may "
                                             "return"):
            report(2, 0.5, blob=b"x" * (2 << 20))
        with pytest.raises(ValueError, match="takes at least .* in memory once decoded"):
            report(3, 0.5, bomb=_Bomb(2 << 20))
        with pytest.raises(BlockingIOError):
            os.read(r_result, 1 << 16)  # nothing more was sent
        assert report.last is not None and report.last.step == 1
        report(4, 0.4)  # the trial goes on reporting
        assert os.read(r_result, 1 << 16).startswith(protocol.MAGIC)
    finally:
        for fd in (r_trial, w_trial, r_result, w_result):
            os.close(fd)


class _Bomb:
    """Pickles to a few bytes, unpickles to ``n`` bytes."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __reduce__(self) -> Any:
        return bytearray, (self.n,)


@pytest.mark.slow
def test_I12_a_300_mb_report_costs_that_report_only() -> None:
    """I12, at the real cap: a 300 MB report on the process pool is refused in the target
    ("over the 256 MB cap on what a trial may return"); the trial catches it and its result
    arrives (before: CRASHED "result channel corrupted", the result lost)."""
    from runner import ProcessPoolRunner

    with ProcessPoolRunner(rs.reports_big_metric, n_workers=1) as runner:
        value, reports = _run(runner, {"i": 5, "mb": 300}, timeout=120)
    assert value.status == StatusType.SUCCESS and value.cost == 5.0, value
    assert "over the 256 MB cap on what a trial may return" in value.additional_info["refused"]
    assert reports == []
    assert pickle.dumps(value)  # the value is whole
