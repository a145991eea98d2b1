"""``trialrunner watch``: follows a journal another process writes, exits when that study ends
(or on Ctrl-C with 130), keeps an HTML page up to date, reads only what was appended and never
writes to the journal."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runner.cli import main
from runner.cli._journal_tail import JournalTail

WRITER = """
import os, sys, time
from runner import OptimizationLoop, ThreadPoolRunner
from runner.optimizers import RandomSearch

def target(config):
    time.sleep(0.05)
    if config["x"] > 4.0:
        raise ValueError("out of range")
    return (config["x"] - 1) ** 2

with ThreadPoolRunner(target, n_workers=2) as runner:
    loop = OptimizationLoop(RandomSearch({"x": (-5.0, 5.0)}, seed=0), runner, n_trials_goal=60,
                            raise_if_retries_exceeded=False, journal=sys.argv[1], study="w")
    # the first trial waits for the watcher's first frame (its HTML page), so that a loaded
    # machine starting the watcher slowly still shows the study growing
    deadline = time.monotonic() + 60
    while len(sys.argv) > 2 and not os.path.exists(sys.argv[2]) and time.monotonic() < deadline:
        time.sleep(0.01)
    loop.run()
"""


def _wait_for(predicate, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def _cli(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "runner", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


@pytest.mark.slow
def test_watch_follows_a_study_another_process_writes_until_it_ends(tmp_path: Path) -> None:
    """The counts grow frame by frame, the last frame says finished with all 60 trials, the
    exit code is 0 and the HTML page ends without its reload."""
    journal, page = tmp_path / "s.jsonl", tmp_path / "s.html"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(journal), str(page)],
                              stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: os.path.exists(f"{journal}.lock"), "the writer to open its journal")
        watch = _cli("watch", str(journal), "--interval", "0.1", "--html", str(page))
        out, err = watch.communicate(timeout=120)
    finally:
        writer.wait(timeout=60)
    assert watch.returncode == 0, err
    frames = [f for f in out.split("\n\n") if f.strip()]
    counts = [int(f.split("trials")[-1].split()[0]) for f in frames]
    assert len(set(counts)) >= 3 and counts == sorted(counts), counts
    assert "status      finished" in frames[-1] and "60 finished, 0 running" in frames[-1]
    assert "study 'w'" in frames[-1]
    text = page.read_text()
    assert "60 finished" in text and 'http-equiv="refresh"' not in text


def test_watch_exits_130_on_ctrl_c_and_never_writes_the_journal(tmp_path: Path) -> None:
    """With a live writer (a lock owned by this process) watch runs until SIGINT, then exits
    130; the journal and its lock are left byte for byte as they were."""
    journal = tmp_path / "s.jsonl"
    journal.write_text(json.dumps({"type": "header", "format": 1, "study": "c"}) + "\n")
    lock = Path(f"{journal}.lock")
    lock.write_text(json.dumps({"pid": os.getpid(), "hostname": socket.gethostname()}))
    before = (journal.read_bytes(), lock.read_bytes(), sorted(os.listdir(tmp_path)))
    watch = _cli("watch", str(journal), "--interval", "0.05")
    line = watch.stdout.readline()
    assert "study 'c'" in line
    watch.send_signal(signal.SIGINT)
    out, err = watch.communicate(timeout=30)
    assert watch.returncode == 130 and "interrupted" in err
    assert (journal.read_bytes(), lock.read_bytes(), sorted(os.listdir(tmp_path))) == before


def test_watch_on_an_ended_study_shows_it_once(tmp_path: Path, capsys) -> None:
    """No lock: the study has ended; one frame, exit 0; a missing journal is a usage error."""
    journal = tmp_path / "s.jsonl"
    _write_journal(journal, 5)
    assert main(["watch", str(journal)]) == 0
    out = capsys.readouterr().out
    assert "5 finished, 0 running" in out and "status      finished" in out
    with pytest.raises(SystemExit) as exit_:
        main(["watch", str(tmp_path / "none.jsonl")])
    assert exit_.value.code == 2 and "no journal at" in capsys.readouterr().err


def _records(start: int, n: int, t0: float = 1.7e9):
    for i in range(start, start + n):
        info = {"config": {"x": i * 0.001}, "instance": None, "seed": None, "budget": None,
                "additional_info": {}}
        crashed = i % 10 == 9
        value = {"cost": {"$float": "inf"} if crashed else 1.0 / (1 + i), "time": 0.5,
                 "cpu_time": 0.0, "status": "CRASHED" if crashed else "SUCCESS",
                 "starttime": t0 + i, "endtime": t0 + i + 0.5,
                 "additional_info": {"error": f"ValueError('bad {i}')"} if crashed else {}}
        yield {"type": "submit", "trial": i, "attempt": 0, "info": info, "time": t0 + i}
        yield {"type": "result", "trial": i, "attempt": 0, "final": True, "info": info,
               "value": value, "time": t0 + i + 0.6}


def _write_journal(path: Path, n: int, start: int = 0, header: bool = True) -> None:
    with open(path, "a", encoding="utf-8") as f:
        if header:
            f.write(json.dumps({"type": "header", "format": 1, "study": "big"}) + "\n")
        for record in _records(start, n):
            f.write(json.dumps(record, separators=(",", ":")) + "\n")


def test_a_refresh_reads_only_what_was_appended_and_waits_for_a_whole_line(tmp_path):
    """Half a line is left for the next refresh; totals, incumbent and last error follow."""
    journal = tmp_path / "s.jsonl"
    _write_journal(journal, 10)
    tail = JournalTail(str(journal))
    assert tail.refresh() == 20
    line = json.dumps(next(iter(_records(10, 1))), separators=(",", ":")) + "\n"
    with open(journal, "a") as f:
        f.write(line[:30])
    assert tail.refresh() == 0
    with open(journal, "a") as f:
        f.write(line[30:])
    assert tail.refresh() == 1
    info = tail.snapshot(running=True)
    assert info.finished == 10 and info.running == 1
    assert info.per_status == {"SUCCESS": 9, "CRASHED": 1}
    assert info.best == pytest.approx(1 / 9) and info.incumbent == {"x": 0.008}
    assert info.last_error == "ValueError('bad 9')"


@pytest.mark.slow
def test_a_refresh_of_a_100000_trial_journal_costs_what_was_appended(tmp_path):
    """After the first read of 100,000 trials, a refresh with 10 new trials (read, totals,
    the frame drawn) takes well under 0.1 s of CPU (this thread's: what else the machine runs
    does not count); measured figures are printed."""
    from runner._loop.live import render_text

    journal = tmp_path / "big.jsonl"
    _write_journal(journal, 100_000)
    tail = JournalTail(str(journal))
    t = time.perf_counter()
    tail.refresh()
    first = time.perf_counter() - t
    times = []
    for k in range(5):
        _write_journal(journal, 10, start=100_000 + 10 * k, header=False)
        t = time.thread_time()
        assert tail.refresh() == 20
        render_text(tail.snapshot())
        times.append(time.thread_time() - t)
    print(f"first read {first:.2f} s ({journal.stat().st_size / 1e6:.0f} MB); refresh with 10 "
          f"new trials: best {min(times) * 1e3:.2f} ms, worst {max(times) * 1e3:.2f} ms")
    assert tail.snapshot().finished == 100_050
    assert max(times) < 0.1
