"""The trial pipe to a worker process carries trials and stop decisions; a decision can land
just after its trial ended, right before the next trial, so one read may take both."""

from __future__ import annotations

import os
from typing import Any

from runner import OptimizationLoop, ProcessPoolRunner
from runner._worker.protocol import (
    decode_decision,
    encode_decision,
    has_buffered,
    read_trial,
    unread,
    write_trial,
)
from trials import StatusType, TrialInfo


def test_a_decision_and_the_next_trial_in_one_read() -> None:
    read_fd, write_fd = os.pipe()
    try:
        big = b"\x80" + b"x" * 40_000  # larger than one read takes
        write_trial(write_fd, encode_decision(7))
        write_trial(write_fd, b"\x80trial")
        write_trial(write_fd, encode_decision(8))
        assert decode_decision(read_trial(read_fd) or b"") == (7, b"s")
        assert has_buffered(read_fd)
        assert read_trial(read_fd) == b"\x80trial"
        assert decode_decision(read_trial(read_fd) or b"") == (8, b"s")
        assert not has_buffered(read_fd)
        os.write(write_fd, b"")  # nothing: the next read would block, so write first
        write_trial(write_fd, encode_decision(9))
        os.write(write_fd, (len(big)).to_bytes(4, "big") + big[:100])  # a big one, in parts
        assert decode_decision(read_trial(read_fd) or b"") == (9, b"s")
        os.write(write_fd, big[100:])
        assert read_trial(read_fd) == big
        unread(read_fd, b"\x80again")
        assert has_buffered(read_fd) and read_trial(read_fd) == b"\x80again"
    finally:
        os.close(read_fd)
        os.close(write_fd)


def reports_once(config: Any, report: Any) -> float:
    """Reports, waits for the stop decided on it to be on its way, then returns, leaving a
    child process behind: the worker kills it after answering (milliseconds), while the
    driver sends the next trial behind the decision that came too late."""
    import subprocess
    import time

    report(1, 0.5)
    time.sleep(0.005)
    subprocess.Popen(["sleep", "30"])
    return 0.25


class StopsEverything:
    def __init__(self, n: int) -> None:
        self.n, self.values = n, []

    def ask(self) -> TrialInfo | None:
        if self.n == 0:
            return None
        self.n -= 1
        return TrialInfo({})

    def on_report(self, info: TrialInfo, report: Any) -> str:
        return "stop"

    def tell(self, info: TrialInfo, value: Any) -> None:
        self.values.append(value)


def test_late_stops_never_break_the_next_trial() -> None:
    """60 trials each stopped on a report sent just before they return: every one is SUCCESS
    or STOPPED, none CRASHED (a late decision once reached the worker glued to the next trial
    and was unpickled as that trial)."""
    opt = StopsEverything(60)
    with ProcessPoolRunner(reports_once, n_workers=2) as runner:
        OptimizationLoop(opt, runner).run()
    statuses = {v.status for v in opt.values}
    assert len(opt.values) == 60
    assert statuses <= {StatusType.SUCCESS, StatusType.STOPPED}, [
        v.additional_info for v in opt.values if v.status is StatusType.CRASHED][:1]
