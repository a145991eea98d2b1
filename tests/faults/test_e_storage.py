"""FAULTS E: storage (a full disk, a journal folder that vanishes, power loss right after a trial
finished)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import faults_targets as ft
import pytest

from faults.conftest import FaultMaker, runs
from faults.study import N_TRIALS, Counter, vanishing
from runner import OptimizationLoop, SerialRunner
from trials import (
    History,
    Journal,
    JournalStaleLockWarning,
    JournalWriteError,
    StatusType,
    read_records,
)

STUDY = os.path.join(os.path.dirname(__file__), "study.py")
REPO = str(Path(__file__).resolve().parents[2])


def _lines_are_records(journal) -> list[dict]:
    """Every line of ``journal`` is a whole JSON record (no partial line is left)."""
    data = Path(journal).read_bytes()
    assert data.endswith(b"\n")
    return [json.loads(line) for line in data.splitlines()]


def _resume(backend: str, journal, out) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, STUDY, backend, "run", str(journal), str(out)],
                          capture_output=True, text=True, timeout=120)


def test_E1_journal_on_dev_full(tmp_path) -> None:
    """E1: a journal whose path is /dev/full (every write fails with ENOSPC): constructing the
    loop fails at once with a JournalError (a journal must be a regular file), before any
    trial runs."""
    link = tmp_path / "study.jsonl"
    link.symlink_to("/dev/full")
    code = textwrap.dedent(f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        sys.path.insert(0, {REPO!r})
        from runner import OptimizationLoop, SerialRunner
        from trials import JournalError

        class Nothing:
            def ask(self):
                return None

            def tell(self, info, value):
                pass

        try:
            OptimizationLoop(Nothing(), SerialRunner(lambda c: 0.0), journal={str(link)!r})
        except JournalError as exc:
            print(type(exc).__name__, exc)
            sys.exit(3)
    """)
    try:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail("opening a journal on /dev/full did not return within 20 s")
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert f"JournalFormatError {link} is not a regular file" in proc.stdout


@pytest.mark.parametrize("backend", ["serial", "process"])
def test_E1_disk_full(backend: str, tmp_path) -> None:
    """E1: the journal hits a file-size limit (a full disk) mid-study: JournalWriteError at once,
    the loop stops asking, no partial record is left; once space is back the study resumes and
    finishes with every trial exactly once."""
    journal, out = tmp_path / "study.jsonl", tmp_path / "out"
    out.mkdir()
    proc = subprocess.run([sys.executable, STUDY, backend, "fsize", str(journal), str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert "status=failed" in proc.stdout and "no partial record is left" in proc.stdout
    asked = int(proc.stdout.split("asked=")[1].split()[0])
    records = _lines_are_records(journal)[1:]
    submits = [r for r in records if r["type"] == "submit"]
    # at most one batch for the free workers was asked when the first of it failed to journal
    assert asked <= len(submits) + 2, "the loop went on asking after the write failed"
    finished = {r["trial"] for r in records if r["type"] == "result" and r["final"]}
    assert len(finished) >= 3
    done = _resume(backend, journal, out)
    assert done.returncode == 0, done.stderr[-2000:]
    history = History.load(journal)
    assert sorted(i.config["id"] for i, _ in history) == list(range(N_TRIALS))
    ids = {r["trial"]: r["info"]["config"]["id"] for r in submits}
    assert all(runs(out, ids[t]) == 1 for t in finished), "a finished trial ran again"


def test_E1_folder_vanishes(tmp_path) -> None:
    """E1: the journal's folder vanishes mid-study (while trial 3 runs): the next append fails
    at once naming the cause, the loop stops asking, nothing partial is written; with the
    folder back, a new driver resumes (taking over the dead study's lock) and runs nothing
    finished twice."""
    folder, out = tmp_path / "study", tmp_path / "out"
    folder.mkdir()
    out.mkdir()
    journal = folder / "study.jsonl"
    proc = subprocess.run([sys.executable, STUDY, "serial", "vanish", str(journal), str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert "asked=4 told=3 status=failed" in proc.stdout
    assert "the file or its folder no longer exists; nothing was written" in proc.stdout
    records = _lines_are_records(journal)[1:]
    assert [r["type"] for r in records] == ["submit", "result"] * 3 + ["submit"]
    done = _resume("serial", journal, out)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "JournalStaleLockWarning" in done.stderr
    assert len(History.load(journal)) == N_TRIALS
    assert [runs(out, i) for i in range(5)] == [1, 1, 1, 2, 1]


def test_E1_folder_back_resume_in_same_process(tmp_path) -> None:
    """E1: once the vanished folder is back, the same process (a notebook, a service) resumes
    the study, taking over the lock its closed journal could not remove, with a warning."""
    folder, away, out = tmp_path / "study", tmp_path / "moved", tmp_path / "out"
    folder.mkdir()
    out.mkdir()
    journal = folder / "study.jsonl"
    loop = OptimizationLoop(Counter(N_TRIALS, str(out)),
                            SerialRunner(vanishing(str(folder), str(away))), journal=journal)
    with pytest.raises(JournalWriteError):
        loop.run()
    away.rename(folder)
    with pytest.warns(JournalStaleLockWarning, match="took over a lock left by an earlier "
                                                     f"journal of this process \\({os.getpid()}\\)"):
        again = OptimizationLoop(Counter(N_TRIALS, str(out)), SerialRunner(ft.record),
                                 journal=journal, resume="force")  # the sabotaged target goes
    again.run()
    assert len(History.load(journal)) == N_TRIALS
    assert [runs(out, i) for i in range(5)] == [1, 1, 1, 2, 1]


def test_E2_fsync_default(tmp_path, monkeypatch) -> None:
    """E2: a journal syncs every record by default (policy "always", as docs/journal.md says):
    the record is on disk (fdatasync covered it) when append returns."""
    synced = _spy_fdatasync(monkeypatch)
    path = tmp_path / "j.jsonl"
    with Journal.open(path) as journal:
        assert journal.fsync == "always"
        journal.append({"type": "note", "n": 1})
        assert synced[-1] == (os.stat(path).st_ino, os.path.getsize(path))
    doc = (Path(REPO) / "docs" / "journal.md").read_text()
    assert '| `"always"` (default)' in doc and "FAULTS E2" in doc


def _spy_fdatasync(monkeypatch) -> list[tuple[int, int]]:
    """Record ``(inode, size)`` of every file synced with ``os.fdatasync`` (still syncing)."""
    synced: list[tuple[int, int]] = []
    real = os.fdatasync

    def spy(fd: int) -> None:
        real(fd)
        st = os.fstat(fd)
        synced.append((st.st_ino, st.st_size))

    monkeypatch.setattr(os, "fdatasync", spy)
    return synced


def test_E2_result_on_disk_before_tell(every_backend: FaultMaker, tmp_path, monkeypatch) -> None:
    """E2: when the optimizer is told a result, that result's record is in the journal and an
    fdatasync covering it has returned: power lost right after a trial finished loses nothing
    the optimizer has seen."""
    synced = _spy_fdatasync(monkeypatch)
    journal = tmp_path / "study.jsonl"
    checked = []

    class Checking:
        def __init__(self) -> None:
            self.n = 0

        def ask(self):
            from trials import TrialInfo

            self.n += 1
            return TrialInfo({"id": self.n, "x": 1.0, "dir": str(tmp_path)}) if self.n <= 6 \
                else None

        def tell(self, info, value) -> None:
            data = journal.read_bytes()
            end = 0
            for line in data.splitlines(keepends=True):
                end += len(line)
                record = json.loads(line)
                if record.get("final") and record["info"]["config"]["id"] == info.config["id"]:
                    break
            else:
                raise AssertionError(f"trial {info.config['id']} told before it was journaled")
            inode = os.stat(journal).st_ino
            assert any(ino == inode and size >= end for ino, size in synced), \
                f"trial {info.config['id']} told before its record was synced"
            checked.append(value.status)

    with every_backend(ft.record) as runner:
        OptimizationLoop(Checking(), runner, journal=journal).run()
    assert checked == [StatusType.SUCCESS] * 6
    assert read_records(journal)
