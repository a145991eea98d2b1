"""The JSON-lines journal: format, appends, torn tails, corruption, locking, write failures."""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path
from typing import Any

import pytest

import trials._journal as journal_module
from trials import (
    Journal,
    JournalCorruptError,
    JournalError,
    JournalFormatError,
    JournalLockedError,
    JournalStaleLockWarning,
    JournalTornTailWarning,
    JournalWriteError,
    TrialInfo,
    TrialValue,
    read_records,
)

REPO = Path(__file__).resolve().parents[2]


def _record(i: int) -> dict[str, Any]:
    info = TrialInfo({"x": i / 10, "name": f"t{i}"}, seed=i)
    value = TrialValue(float(i), time=0.5, cpu_time=0.25)
    return {
        "type": "result",
        "trial": i,
        "attempt": 0,
        "final": True,
        "info": info.to_dict(),
        "value": value.to_dict(),
        "time": 1.7e9 + i,
    }


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "study.jsonl"


def test_new_journal_starts_with_header(path: Path) -> None:
    """A new file's first line is the header with the format version, creation time and study."""
    before = time.time()
    with Journal.open(path, study="s1") as journal:
        assert journal.records == [] and journal.study == "s1"
    header = json.loads(_lines(path)[0])
    assert header["type"] == "header" and header["format"] == 1 and header["study"] == "s1"
    assert before - 1 <= header["created"] <= time.time() + 1
    assert path.read_bytes().count(b"\n") == 1


def test_append_then_reopen_gives_records_in_order(path: Path) -> None:
    """Appended records come back, in order, from records after reopening and from read_records."""
    records = [_record(i) for i in range(5)]
    with Journal.open(path) as journal:
        for record in records:
            journal.append(record)
        assert journal.records == []  # what the file held when it was opened
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with Journal.open(path) as journal:
            assert journal.records == records
        assert read_records(path) == records
    lines = _lines(path)
    assert lines[-1] == b"" and len(lines) == 7
    assert lines[1] == json.dumps(records[0], separators=(",", ":")).encode()


def test_append_is_one_write_per_record(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each append is exactly one os.write of one newline-terminated line."""
    with Journal.open(path, fsync="never") as journal:
        calls: list[bytes] = []
        real_write = os.write

        def counting_write(fd: int, data: bytes) -> int:
            calls.append(bytes(data))
            return real_write(fd, data)

        monkeypatch.setattr(os, "write", counting_write)
        journal.append(_record(1))
        journal.append(_record(2))
        monkeypatch.undo()
    assert len(calls) == 2 and all(c.endswith(b"\n") and c.count(b"\n") == 1 for c in calls)


def test_append_refuses_non_strict_json_and_writes_nothing(path: Path) -> None:
    """A record with NaN or an unencodable value is refused before anything is written."""
    with Journal.open(path) as journal:
        size = path.stat().st_size
        with pytest.raises(ValueError, match="not strict JSON"):
            journal.append({"type": "x", "cost": float("nan")})
        with pytest.raises(TypeError, match="not strict JSON"):
            journal.append({"type": "x", "obj": object()})
        with pytest.raises(TypeError, match="must be a dict"):
            journal.append([1, 2])  # type: ignore[arg-type]
        assert path.stat().st_size == size


def test_close_is_idempotent_and_releases_lock(path: Path) -> None:
    """close() may be called twice, removes the lock file, and append afterwards is refused."""
    journal = Journal.open(path)
    lock = Path(f"{path}.lock")
    assert json.loads(lock.read_text())["pid"] == os.getpid()
    journal.close()
    journal.close()
    assert journal.closed and not lock.exists()
    with pytest.raises(ValueError, match="closed"):
        journal.append(_record(1))
    Journal.open(path).close()  # free to open again


def test_invalid_arguments(path: Path) -> None:
    """An unknown fsync policy or a non-positive interval is a ValueError naming it."""
    with pytest.raises(ValueError, match="fsync must be one of"):
        Journal.open(path, fsync="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="fsync_interval"):
        Journal.open(path, fsync="interval", fsync_interval=0)
    assert not path.exists() and not Path(f"{path}.lock").exists()


# ------------------------------------------------------------------------------------ fsync


def _count_syncs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    name = "fdatasync" if hasattr(os, "fdatasync") else "fsync"
    real = getattr(os, name)

    def counting(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(os, name, counting)
    return calls


@pytest.mark.parametrize(
    ("policy", "interval", "expected"),
    [("always", 1.0, 3), ("never", 1.0, 0), ("interval", 1e-9, 3), ("interval", 1e9, 0)],
)
def test_fsync_policy(
    path: Path, monkeypatch: pytest.MonkeyPatch, policy: Any, interval: float, expected: int
) -> None:
    """always syncs every append, never none, interval at most once per interval."""
    journal = Journal.open(path, fsync=policy, fsync_interval=interval)
    calls = _count_syncs(monkeypatch)
    for i in range(3):
        journal.append(_record(i))
    assert len(calls) == expected
    journal.close()
    # close() syncs what the interval left unsynced; "never" leaves it to the OS
    assert len(calls) == expected + (1 if (policy, interval) == ("interval", 1e9) else 0)


def test_sync_forces_to_disk(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """sync() forces pending appends to disk whatever the policy."""
    with Journal.open(path, fsync="never") as journal:
        calls = _count_syncs(monkeypatch)
        journal.append(_record(1))
        journal.sync()
        journal.sync()  # nothing new: no second sync
        assert len(calls) == 1


# ---------------------------------------------------------------------------------- the tail


def _journal_with(path: Path, n: int) -> list[dict[str, Any]]:
    records = [_record(i) for i in range(n)]
    with Journal.open(path, fsync="never") as journal:
        for record in records:
            journal.append(record)
    return records


def test_torn_tail_is_moved_aside_and_cut(path: Path) -> None:
    """A half-written last line: warn naming the byte offset, move it aside, cut, append cleanly."""
    records = _journal_with(path, 3)
    good_size = path.stat().st_size
    torn = json.dumps(_record(3), separators=(",", ":")).encode()[:57]
    with path.open("ab") as f:
        f.write(torn)
    with pytest.warns(JournalTornTailWarning, match=rf"at byte {good_size} \(57 bytes\)"):
        journal = Journal.open(path)
    with journal:
        assert journal.records == records
        assert path.stat().st_size == good_size
        journal.append(_record(4))
    asides = list(path.parent.glob("study.jsonl.torn-*"))
    assert len(asides) == 1 and asides[0].read_bytes() == torn
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_records(path) == [*records, _record(4)]


def test_complete_but_invalid_last_line_is_torn(path: Path) -> None:
    """A last line that is terminated but not JSON is treated as torn too."""
    records = _journal_with(path, 2)
    with path.open("ab") as f:
        f.write(b"\x00\x00garbage\n")
    with pytest.warns(JournalTornTailWarning, match="not a JSON object"):
        with Journal.open(path) as journal:
            assert journal.records == records
    assert path.read_bytes().endswith(b"}\n")


def test_read_records_skips_torn_tail_without_changing_file(path: Path) -> None:
    """read_records warns about a torn tail and skips it, leaving the file as it is."""
    records = _journal_with(path, 2)
    with path.open("ab") as f:
        f.write(b'{"type":"res')
    content = path.read_bytes()
    with pytest.warns(JournalTornTailWarning, match="skipped it"):
        assert read_records(path) == records
    assert path.read_bytes() == content


def test_torn_header_of_new_file_is_recovered(path: Path) -> None:
    """A crash while the header was written leaves a torn header: recovered as an empty journal."""
    path.write_bytes(b'{"type":"header","for')
    with pytest.warns(JournalTornTailWarning, match="at byte 0"):
        journal = Journal.open(path, study="s")
    with journal:
        assert journal.records == [] and journal.header["format"] == 1
        journal.append(_record(1))
    assert read_records(path) == [_record(1)]


def test_corrupt_middle_line_refuses_to_open(path: Path) -> None:
    """A corrupt line before the last: refuse to open, naming the line; the file is untouched."""
    _journal_with(path, 4)
    lines = _lines(path)
    lines[3] = lines[3][:-5]  # a damaged record in the middle
    path.write_bytes(b"\n".join(lines))
    content = path.read_bytes()
    with pytest.raises(JournalCorruptError, match=r"line 4 \(byte \d+\)"):
        Journal.open(path)
    with pytest.raises(JournalCorruptError, match="line 4"):
        read_records(path)
    assert path.read_bytes() == content
    assert not Path(f"{path}.lock").exists()
    assert isinstance(JournalCorruptError("x"), ValueError)


def test_blank_middle_line_is_corrupt(path: Path) -> None:
    """An empty line in the middle is not silently skipped either."""
    _journal_with(path, 2)
    lines = _lines(path)
    lines.insert(2, b"")
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(JournalCorruptError, match="line 3"):
        Journal.open(path)


# ---------------------------------------------------------------------------------- format


def test_file_that_is_not_a_journal(path: Path) -> None:
    """A file whose first line is not a journal header is refused and left alone."""
    for content in (b"a,b,c\n1,2,3\n", b'{"type":"result"}\n', b"just text"):
        path.write_bytes(content)
        with pytest.raises(JournalFormatError, match="not a trial journal"):
            Journal.open(path)
        assert path.read_bytes() == content
    assert not list(path.parent.glob("*.torn-*"))


def test_newer_format_version_is_refused(path: Path) -> None:
    """A journal of a newer format is refused, naming both versions."""
    path.write_text('{"type":"header","format":2,"created":0,"study":null}\n')
    with pytest.raises(JournalFormatError, match="format 2.*up to 1"):
        Journal.open(path)
    with pytest.raises(JournalFormatError, match="format 2"):
        read_records(path)


def test_journal_of_another_study_is_refused(path: Path) -> None:
    """Opening a journal with a study name other than the one in its header is refused."""
    Journal.open(path, study="alpha").close()
    with pytest.raises(JournalFormatError, match="another study.*'alpha'.*'beta'"):
        Journal.open(path, study="beta")
    Journal.open(path, study="alpha").close()
    with Journal.open(path) as journal:  # no study given: any is accepted
        assert journal.study == "alpha"


def test_error_hierarchy() -> None:
    """Every journal error is a JournalError and the builtin error callers would expect."""
    assert issubclass(JournalWriteError, OSError)
    assert issubclass(JournalLockedError, RuntimeError)
    assert issubclass(JournalFormatError, ValueError)
    for cls in (JournalWriteError, JournalCorruptError, JournalLockedError, JournalFormatError):
        assert issubclass(cls, JournalError)
    assert issubclass(JournalTornTailWarning, UserWarning)
    assert issubclass(JournalStaleLockWarning, UserWarning)


# ------------------------------------------------------------------------------------ locks


def _write_lock(path: Path, pid: int, hostname: str | None = None, **extra: Any) -> Path:
    lock = Path(f"{path}.lock")
    host = socket.gethostname() if hostname is None else hostname
    lock.write_text(json.dumps({"pid": pid, "hostname": host, **extra}))
    return lock


def test_second_open_in_same_process_is_refused(path: Path) -> None:
    """The journal cannot be opened twice at once, even from one process."""
    with Journal.open(path):
        with pytest.raises(JournalLockedError, match=rf"process {os.getpid()}"):
            Journal.open(path)


def test_lock_held_by_live_process(path: Path) -> None:
    """A lock file naming a live process on this host refuses the open, naming pid and file."""
    Journal.open(path).close()
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock = _write_lock(path, holder.pid)
        with pytest.raises(JournalLockedError, match=rf"live process {holder.pid}.*\.lock"):
            Journal.open(path)
        assert json.loads(lock.read_text())["pid"] == holder.pid  # left alone
    finally:
        holder.kill()
        holder.wait()


def test_lock_held_by_live_process_with_creation_time(path: Path) -> None:
    """A lock created after its live owner started is honoured (the owner really holds it)."""
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _write_lock(path, holder.pid, created=time.time())
        with pytest.raises(JournalLockedError, match=rf"live process {holder.pid}"):
            Journal.open(path)
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_lock_whose_pid_was_reused_is_stale(path: Path) -> None:
    """A lock naming a pid now held by a process started after the lock was taken (a container
    restart gives the new driver the old pid) is stale and taken over."""
    lock = _write_lock(path, os.getpid(), created=1.0)
    with pytest.warns(JournalStaleLockWarning, match="pid now belongs to a newer process"):
        journal = Journal.open(path)
    assert json.loads(lock.read_text())["created"] > 1.0
    journal.close()


def test_stale_lock_of_dead_process_is_taken_over(path: Path) -> None:
    """A lock left by a process that has exited is taken over with a warning."""
    Journal.open(path).close()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock = _write_lock(path, dead.pid)
    with pytest.warns(JournalStaleLockWarning, match=rf"process {dead.pid}"):
        journal = Journal.open(path)
    assert json.loads(lock.read_text())["pid"] == os.getpid()
    journal.close()
    assert not lock.exists()


def test_lock_from_another_host_is_refused(path: Path) -> None:
    """A lock taken on another host cannot be checked from here, so it is honoured."""
    _write_lock(path, 1, hostname="some-other-host.example")
    with pytest.raises(JournalLockedError, match="some-other-host.example"):
        Journal.open(path)


def test_flock_held_without_lock_file_is_refused(path: Path) -> None:
    """If the lock file was deleted under a running study, its flock still guards the journal."""
    with Journal.open(path):
        os.unlink(f"{path}.lock")
        with pytest.raises(JournalLockedError, match="flock"):
            Journal.open(path)
        assert not Path(f"{path}.lock").exists()


# ----------------------------------------------------------------------------- write errors

_CHILD = textwrap.dedent(
    """
    import json, os, resource, sys
    from trials import Journal, JournalWriteError
    path, extra = sys.argv[1], int(sys.argv[2])
    journal = Journal.open(path, fsync="always")
    before = os.path.getsize(path)
    resource.setrlimit(resource.RLIMIT_FSIZE, (before + extra, resource.RLIM_INFINITY))
    out = {"before": before}
    try:
        journal.append({"type": "note", "payload": "x" * 500})
    except JournalWriteError as e:
        out.update(error=str(e), errno=e.errno, oserror=isinstance(e, OSError))
    out["after"] = os.path.getsize(path)
    journal.close()
    print(json.dumps(out))
    """
)


@pytest.mark.parametrize("extra", [0, 100])
def test_file_size_limit_gives_write_error_and_no_partial_record(path: Path, extra: int) -> None:
    """Hitting RLIMIT_FSIZE (nothing or part written) raises JournalWriteError, leaves no partial
    line, and the study resumes afterwards."""
    records = _journal_with(path, 2)
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), str(extra)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert child.returncode == 0, child.stderr
    out = json.loads(child.stdout)
    assert out["oserror"] and out["after"] == out["before"]
    assert out["errno"] in (errno.EFBIG, errno.ENOSPC)
    assert "can resume" in out["error"] and "no partial record" in out["error"]
    assert path.read_bytes().endswith(b"\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with Journal.open(path) as journal:
            assert journal.records == records
            journal.append(_record(9))
    assert read_records(path) == [*records, _record(9)]


def test_failed_write_is_cut_back(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write that fails part way is cut back to the size before it, and the errno is kept."""
    journal = Journal.open(path)
    size = path.stat().st_size
    real_write = os.write

    def half_then_fail(fd: int, data: bytes) -> int:
        real_write(fd, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", half_then_fail)
    with pytest.raises(JournalWriteError, match="No space left") as caught:
        journal.append(_record(1))
    monkeypatch.undo()
    assert caught.value.errno == errno.ENOSPC
    assert path.stat().st_size == size
    journal.append(_record(2))
    journal.close()
    assert read_records(path) == [_record(2)]


def test_vanished_folder_gives_write_error(tmp_path: Path) -> None:
    """If the journal's folder is removed, append raises at once instead of writing to nowhere."""
    folder = tmp_path / "study"
    folder.mkdir()
    journal = Journal.open(folder / "j.jsonl")
    journal.append(_record(1))
    shutil.rmtree(folder)
    with pytest.raises(JournalWriteError, match="no longer exists.*can resume"):
        journal.append(_record(2))
    journal.close()


def test_replaced_file_gives_write_error(path: Path) -> None:
    """If another file takes the journal's path, append refuses to write to the old one."""
    journal = Journal.open(path)
    path.rename(path.with_suffix(".old"))
    path.write_text("something else\n")
    with pytest.raises(JournalWriteError, match="replaced"):
        journal.append(_record(1))
    journal.close()
    assert path.read_text() == "something else\n"


# ------------------------------------------------------------------------------ performance


@pytest.mark.slow
def test_reading_hundred_thousand_records_is_fast(path: Path) -> None:
    """100,000 records are read back in well under 2 s."""
    header = b'{"type":"header","format":1,"created":0,"study":null}\n'
    line = json.dumps(_record(1), separators=(",", ":")).encode() + b"\n"
    path.write_bytes(header + line * 100_000)
    start = time.process_time()  # CPU time: what other jobs on the machine do does not count
    records = read_records(path)
    elapsed = time.process_time() - start
    assert len(records) == 100_000
    assert elapsed < 2.0, f"{elapsed:.2f} s of CPU"


def test_gc_is_restored_after_reading(path: Path) -> None:
    """Reading pauses the cyclic GC for speed and always switches it back on."""
    import gc

    _journal_with(path, 3)
    assert gc.isenabled()
    read_records(path)
    assert gc.isenabled()
    path.write_bytes(path.read_bytes().replace(b'"trial":1', b'"trial":#', 1))
    with pytest.raises(JournalCorruptError):
        read_records(path)
    assert gc.isenabled()
    assert journal_module.FORMAT_VERSION == 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_drops_the_journal(path: Path) -> None:
    """A forked child neither appends to the parent's journal nor keeps its flock alive."""
    journal = Journal.open(path)
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, then wait for the parent's word while still alive
        try:
            try:
                journal.append(_record(1))
                verdict = b"appended"
            except ValueError:
                verdict = b"closed" if journal.closed else b"odd"
            os.write(ready_w, verdict)
            os.read(go_r, 1)
        finally:
            os._exit(0)
    try:
        assert os.read(ready_r, 16) == b"closed"
        assert Path(f"{path}.lock").exists()  # the child left the parent's lock file alone
        journal.append(_record(2))
        journal.close()
        with Journal.open(path) as again:  # the live child holds no flock on it
            assert again.records == [_record(2)]
    finally:
        os.write(go_w, b"x")
        os.waitpid(pid, 0)
        for fd in (ready_r, ready_w, go_r, go_w):
            os.close(fd)
