"""The crash-safe JSON-lines journal of a study: append-only, one ``write`` per record, tail checked
on open, guarded by a lock file holding the owner's pid (see docs/journal.md)."""

from __future__ import annotations

import contextlib
import errno
import gc
import json
import os
import socket
import stat
import threading
import time
import uuid
import warnings
import weakref
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any, Literal

__all__ = [
    "FORMAT_VERSION",
    "Journal",
    "JournalCorruptError",
    "JournalError",
    "JournalFormatError",
    "JournalLockedError",
    "JournalStaleLockWarning",
    "JournalTornTailWarning",
    "JournalWriteError",
    "read_records",
]

FORMAT_VERSION = 1
"""The journal format this version writes, and the highest it reads."""

FsyncPolicy = Literal["always", "never", "interval"]

_HEADER_START = '{"type":"header"'
_FSYNC_POLICIES = ("always", "never", "interval")
_LOCK_SETTLE_SECONDS = 5.0  # an unreadable lock file younger than this may still be being written
_CLOCK_SLACK_SECONDS = 2.0  # the boot time in /proc/stat is in whole seconds


class JournalError(Exception):
    """Base class of every journal error."""


class JournalWriteError(JournalError, OSError):
    """A record could not be appended (disk full, file size limit, file gone); none was left."""


class JournalCorruptError(JournalError, ValueError):
    """A line before the last is not a JSON record: the journal is refused, never silently cut."""


class JournalLockedError(JournalError, RuntimeError):
    """Another live process holds the journal's lock."""


class JournalFormatError(JournalError, ValueError):
    """The file is not a journal, is of a newer format, or belongs to another study."""


class JournalTornTailWarning(UserWarning):
    """The last line was torn by a crash mid-write; it was moved aside and cut off."""


class JournalStaleLockWarning(UserWarning):
    """A lock left by a process that no longer runs was taken over."""


def _dumps(record: Mapping[str, Any]) -> bytes:
    try:
        line = json.dumps(record, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as e:
        raise type(e)(
            f"journal record is not strict JSON ({e}); encode values with trials.TrialInfo.to_dict"
            " / TrialValue.to_dict (which tag nan and inf) before appending"
        ) from e
    return (line + "\n").encode("utf-8")


# --------------------------------------------------------------------------------------- reading


class _Parsed:
    """What a journal file holds: its header, its records, and a torn tail if there is one."""

    __slots__ = ("header", "records", "good_end", "torn", "torn_reason")

    def __init__(self) -> None:
        self.header: dict[str, Any] | None = None
        self.records: list[dict[str, Any]] = []
        self.good_end = 0  # byte offset just past the last good line
        self.torn = b""
        self.torn_reason = ""


_raw_decode = json.JSONDecoder().raw_decode


def _loads_record(line: str) -> dict[str, Any] | None:
    """The JSON object on ``line``, or ``None`` if it holds none."""
    try:
        obj, end = _raw_decode(line)
        if end != len(line):
            raise ValueError("trailing characters")
    except ValueError:
        try:  # surrounding whitespace (a "\r" left by an editor) is fine
            obj = json.loads(line)
        except ValueError:
            return None
    return obj if isinstance(obj, dict) else None


def _looks_like_torn_header(line: str) -> bool:
    line = line.rstrip("\0\n")
    n = min(len(line), len(_HEADER_START))
    return line[:n] == _HEADER_START[:n]


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while building many small objects, which it would scan repeatedly."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _parse(data: bytes, path: str) -> _Parsed:
    """Split ``data`` into header and records; raise on anything but a torn last line."""
    out = _Parsed()
    if not data:
        return out
    lines = data.decode("utf-8", "surrogateescape").split("\n")
    unterminated = lines[-1] != ""
    if not unterminated:
        lines.pop()
    last = len(lines) - 1
    header = None if (unterminated and last == 0) else _loads_record(lines[0])
    if header is None or header.get("type") != "header":
        if last == 0 and header is None and _looks_like_torn_header(lines[0]):
            _set_torn(out, data, unterminated)  # a crash while creating the file
            return out
        raise _not_a_journal(path)
    _check_format(header, path)
    out.header = header
    records = out.records
    append = records.append
    loads = _loads_record
    with _gc_paused():
        for i in range(1, last):
            obj = loads(lines[i])
            if obj is None:
                raise _corrupt(path, lines, i)
            append(obj)
        if last >= 1:
            obj = None if unterminated else loads(lines[last])
            if obj is None:
                _set_torn(out, data, unterminated)
                return out
            append(obj)
    out.good_end = len(data)
    return out


def _set_torn(out: _Parsed, data: bytes, unterminated: bool) -> None:
    """Mark the last line of ``data`` as a torn tail."""
    stop = len(data) if unterminated else len(data) - 1
    out.good_end = data.rfind(b"\n", 0, stop) + 1
    out.torn = data[out.good_end :]
    out.torn_reason = "no newline at its end" if unterminated else "it is not a JSON object"


def _corrupt(path: str, lines: list[str], i: int) -> JournalCorruptError:
    offset = sum(len(line.encode("utf-8", "surrogateescape")) + 1 for line in lines[:i])
    line = lines[i]
    shown = repr(line[:80]) + ("..." if len(line) > 80 else "")
    return JournalCorruptError(
        f"{path}: line {i + 1} (byte {offset}) is not a valid JSON record: {shown}. A journal "
        "is never cut silently; repair or remove that line by hand, then open it again"
    )


def _not_a_journal(path: str) -> JournalFormatError:
    return JournalFormatError(
        f"{path} is not a trial journal: its first line is not a journal header "
        '({"type":"header","format":...})'
    )


def _check_format(header: Mapping[str, Any], path: str) -> None:
    version = header.get("format")
    if isinstance(version, bool) or not isinstance(version, int):
        raise JournalFormatError(f"{path}: the journal header has no valid format version")
    if version > FORMAT_VERSION:
        raise JournalFormatError(
            f"{path} is in journal format {version}, but this version of trials reads formats up "
            f"to {FORMAT_VERSION}; upgrade trialrunner to open it"
        )


def _warn_torn(path: str, parsed: _Parsed, action: str, stacklevel: int) -> None:
    warnings.warn(
        f"{path}: the last line, at byte {parsed.good_end} ({len(parsed.torn)} bytes), is a torn "
        f"write ({parsed.torn_reason}), left by a crash mid-append; {action}",
        JournalTornTailWarning,
        stacklevel=stacklevel,
    )


def _read_bytes(fd: int) -> bytes:
    size = os.fstat(fd).st_size
    chunks: list[bytes] = []
    pos = 0
    while True:
        chunk = os.pread(fd, max(size - pos, 1 << 16), pos)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        pos += len(chunk)


def read_records(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Records of the journal at ``path`` (header excluded), without locking it.

    A torn last line is skipped with a :class:`JournalTornTailWarning` (the file is not changed); a
    corrupt line before the last raises :class:`JournalCorruptError`.
    """
    spath = os.fspath(path)
    fd = os.open(spath, os.O_RDONLY | os.O_CLOEXEC)
    try:
        _check_regular(fd, spath)
        data = _read_bytes(fd)
    finally:
        os.close(fd)
    parsed = _parse(data, spath)
    if parsed.torn:
        _warn_torn(spath, parsed, "skipped it", stacklevel=3)
    return parsed.records


# --------------------------------------------------------------------------------------- locking


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    try:  # a zombie has exited: it holds nothing
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        return stat[stat.rindex(b")") + 2 : stat.rindex(b")") + 3] != b"Z"
    except (OSError, ValueError):
        return True


def _started_after(pid: int, moment: float) -> bool:
    """Whether process ``pid`` started clearly after the Unix time ``moment`` (Linux; else False).

    Such a process merely reuses the pid of a lock's dead owner (after a reboot or a container
    restart the new driver often gets the very same pid).
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        ticks = int(stat[stat.rindex(b")") + 2 :].split()[19])
        with open("/proc/stat", "rb") as f:
            btime = next(int(line.split()[1]) for line in f if line.startswith(b"btime "))
        started = btime + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return False
    return started > moment + _CLOCK_SLACK_SECONDS


def _held_in_this_process(lock_path: str, raw: bytes) -> bool:
    """Whether an open ``Journal`` of this process holds the lock file with content ``raw``."""
    return any(
        not j._closed and j._lock.path == lock_path and j._lock.content == raw
        for j in list(_OPEN_JOURNALS)
    )


def _check_regular(fd: int, path: str) -> None:
    """Refuse a device, pipe or directory: a journal must be a regular file to be cut back."""
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        raise JournalFormatError(
            f"{path} is not a regular file (a device, pipe or folder); a journal must be a "
            "regular file"
        )


def _create_exclusive(path: str, content: bytes) -> None:
    """Create ``path`` holding ``content``, atomically; ``FileExistsError`` if it exists."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, content)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    os.close(fd)


def _read_lock(path: str) -> tuple[bytes, dict[str, Any] | None]:
    with open(path, "rb") as f:
        raw = f.read()
    try:
        owner = json.loads(raw)
    except ValueError:
        return raw, None
    if not isinstance(owner, dict) or not isinstance(owner.get("pid"), int):
        return raw, None
    return raw, owner


class _LockFile:
    """``<journal>.lock``: created with O_EXCL, holding the owner's pid and hostname as JSON."""

    def __init__(self, path: str, journal: str) -> None:
        self.path = path
        self.journal = journal
        self.content = json.dumps(
            {
                "pid": os.getpid(),
                "hostname": socket.gethostname(),
                "created": time.time(),
                "token": uuid.uuid4().hex,
            }
        ).encode()

    def acquire(self) -> None:
        for _ in range(5):
            try:
                _create_exclusive(self.path, self.content)
                return
            except FileExistsError:
                pass
            try:
                raw, owner = _read_lock(self.path)
                age = time.time() - os.stat(self.path).st_mtime
            except FileNotFoundError:
                continue  # released meanwhile: try again
            self._take_over(raw, owner, age)
        raise JournalLockedError(
            f"{self.journal}: could not take the lock file {self.path}; other processes keep "
            "taking it"
        )

    def _take_over(self, raw: bytes, owner: dict[str, Any] | None, age: float) -> None:
        """Remove a stale lock file (warning), or raise if its owner may still be alive."""
        if owner is None:
            if age < _LOCK_SETTLE_SECONDS:
                raise JournalLockedError(
                    f"{self.journal} is locked: the lock file {self.path} is being written by "
                    "another process (or is damaged; remove it if no process uses the journal)"
                )
            what = "an unreadable lock file"
        else:
            pid, host = owner["pid"], owner.get("hostname")
            if host != socket.gethostname():
                raise JournalLockedError(
                    f"{self.journal} is locked by pid {pid} on host {host!r} (lock file "
                    f"{self.path}); if that process is gone, remove the lock file"
                )
            created = owner.get("created")
            reused = isinstance(created, (int, float)) and _started_after(pid, created)
            # Our own pid, but no journal open here holds it: an earlier Journal of this process
            # could not remove it (its folder had vanished), so it guards nothing now.
            orphaned = pid == os.getpid() and not _held_in_this_process(self.path, raw)
            if _pid_alive(pid) and not reused and not orphaned:
                raise JournalLockedError(
                    f"{self.journal} is in use by the live process {pid} (lock file {self.path}); "
                    "two studies cannot write one journal"
                )
            what = (
                f"a lock left by an earlier journal of this process ({pid}) that could not remove it"
                if orphaned and not reused
                else f"a lock left by process {pid}, which no longer runs"
                + (" (its pid now belongs to a newer process)" if reused else "")
            )
        # Move it aside, then check we moved what we judged: another process may have replaced it.
        aside = f"{self.path}.stale-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return
        try:
            with open(aside, "rb") as f:
                moved = f.read()
            if moved != raw:  # a fresh lock of someone else's: put it back, and look again
                with contextlib.suppress(OSError):
                    os.link(aside, self.path)
                return
        finally:
            with contextlib.suppress(OSError):
                os.unlink(aside)
        warnings.warn(
            f"{self.journal}: took over {what} ({self.path})",
            JournalStaleLockWarning,
            stacklevel=5,
        )

    def release(self) -> None:
        """Remove the lock file if it is still ours."""
        try:
            with open(self.path, "rb") as f:
                if f.read() != self.content:
                    return
            os.unlink(self.path)
        except OSError:
            pass


# --------------------------------------------------------------------------------------- writing


class Journal:
    """An open, locked journal: the records it held when opened, and ``append`` for new ones."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fsync: FsyncPolicy = "always",
        fsync_interval: float = 1.0,
        study: str | None = None,
    ) -> None:
        """Open or create the journal at ``path``; see :meth:`open`."""
        if fsync not in _FSYNC_POLICIES:
            raise ValueError(f"fsync must be one of {_FSYNC_POLICIES}, got {fsync!r}")
        if isinstance(fsync_interval, bool) or not (
            isinstance(fsync_interval, (int, float)) and fsync_interval > 0
        ):
            raise ValueError(f"fsync_interval must be a number > 0, got {fsync_interval!r}")
        if study is not None and not isinstance(study, str):
            raise TypeError(f"study must be a str or None, got {type(study).__name__}")
        self._path = os.fspath(path)
        self._abspath = os.path.abspath(self._path)  # immune to a later chdir
        self._fsync = fsync
        self._fsync_interval = float(fsync_interval)
        self._mutex = threading.Lock()
        self._closed = True
        self._unsynced = False
        self._last_sync = time.monotonic()
        self._lock = _LockFile(self._abspath + ".lock", self._path)
        self._lock.acquire()
        try:
            self._fd = os.open(
                self._path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644
            )
        except BaseException:
            self._lock.release()
            raise
        try:
            _check_regular(self._fd, self._path)
            self._flock()
            self._header, self._records = self._load(study)
        except BaseException:
            os.close(self._fd)
            self._lock.release()
            raise
        self._study: str | None = self._header.get("study")
        self._closed = False
        _OPEN_JOURNALS.add(self)

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        fsync: FsyncPolicy = "always",
        fsync_interval: float = 1.0,
        study: str | None = None,
    ) -> Journal:
        """Open or create the journal at ``path``, lock it, and read and check what it holds.

        ``fsync``: ``"always"`` syncs every record to disk before :meth:`append` returns,
        ``"interval"`` at most every ``fsync_interval`` seconds, ``"never"`` leaves it to the OS.
        ``study``: a name written into a new file's header; opening a file written by another
        study is refused.
        """
        return cls(path, fsync=fsync, fsync_interval=fsync_interval, study=study)

    def _flock(self) -> None:
        try:
            import fcntl
        except ImportError:  # not POSIX: the lock file alone guards the journal
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise JournalLockedError(
                f"{self._path} is in use by another process: one holds an flock on it, though the "
                f"lock file {self._lock.path} was missing or stale (the study, or a process forked "
                "from it, may still be running)"
            ) from None
        except OSError:
            pass  # a filesystem without flock: the lock file alone guards the journal

    def _load(self, study: str | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        parsed = _parse(_read_bytes(self._fd), self._path)
        if parsed.header is not None:
            theirs = parsed.header.get("study")
            if study is not None and theirs is not None and theirs != study:
                raise JournalFormatError(
                    f"{self._path} was written by another study ({theirs!r}), not by {study!r}; "
                    "use another journal path"
                )
        if parsed.torn:
            aside = self._move_aside(parsed.torn)
            os.ftruncate(self._fd, parsed.good_end)
            if self._fsync != "never":
                os.fsync(self._fd)
            _warn_torn(
                self._path, parsed, f"moved it to {aside} and cut it off", stacklevel=5
            )
        if parsed.header is None:
            header: dict[str, Any] = {
                "type": "header",
                "format": FORMAT_VERSION,
                "created": time.time(),
                "study": study,
            }
            self._write(_dumps(header))
            if self._fsync != "never":
                self._fsync_fd()
                _fsync_dir(self._path)
            return header, []
        return parsed.header, parsed.records

    def _move_aside(self, torn: bytes) -> str:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        for n in range(1000):
            aside = f"{self._path}.torn-{stamp}" + (f"-{n}" if n else "")
            try:
                _create_exclusive(aside, torn)
            except FileExistsError:
                continue
            return aside
        raise FileExistsError(f"{self._path}: too many .torn-{stamp} files")

    # ------------------------------------------------------------------------------- public

    @property
    def path(self) -> str:
        """The journal file's path."""
        return self._path

    @property
    def study(self) -> str | None:
        """The study named in the header (``None`` if it names none)."""
        return self._study

    @property
    def header(self) -> dict[str, Any]:
        """The header record (first line)."""
        return self._header

    @property
    def records(self) -> list[dict[str, Any]]:
        """The records the file held when it was opened, header excluded, in file order."""
        return self._records

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    @property
    def fsync(self) -> FsyncPolicy:
        """The fsync policy: ``"always"``, ``"interval"`` or ``"never"``."""
        return self._fsync

    def append(self, record: Mapping[str, Any]) -> None:
        """Append ``record`` as one line with one ``write``, synced by the fsync policy.

        On failure nothing is left of the record and :class:`JournalWriteError` is raised.
        """
        if not isinstance(record, Mapping):
            raise TypeError(f"a journal record must be a dict, got {type(record).__name__}")
        data = _dumps(record if isinstance(record, dict) else dict(record))
        with self._mutex:
            if self._closed:
                raise ValueError(f"journal {self._path} is closed")
            size = self._write(data)
            if self._fsync == "always" or (
                self._fsync == "interval"
                and time.monotonic() - self._last_sync >= self._fsync_interval
            ):
                try:
                    self._fsync_fd()
                except OSError as e:  # not known to be on disk: take it back, report
                    reason = f"fsync failed: {e.strerror}"
                    raise self._error(e.errno, self._cut(size, reason)) from e

    def sync(self) -> None:
        """Force what was appended so far to disk, whatever the policy."""
        with self._mutex:
            if self._closed or not self._unsynced:
                return
            try:
                self._fsync_fd()
            except OSError as e:
                raise self._error(e.errno, f"fsync failed: {e.strerror}") from e

    def close(self) -> None:
        """Sync (unless the policy is ``"never"``), close the file and release the lock."""
        with self._mutex:
            if self._closed:
                return
            self._closed = True
            try:
                if self._fsync != "never" and self._unsynced:
                    with contextlib.suppress(OSError):
                        self._fsync_fd()
            finally:
                os.close(self._fd)
                self._lock.release()
                _OPEN_JOURNALS.discard(self)

    def _forget_after_fork(self) -> None:
        """In a forked child: drop the inherited descriptor (and with it the flock), keep the lock
        file (it is the parent's), and refuse appends."""
        self._mutex = threading.Lock()  # another thread may have held it at the fork
        if not self._closed:
            self._closed = True
            with contextlib.suppress(OSError):
                os.close(self._fd)

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"fsync={self._fsync}"
        return f"<Journal {self._path!r} {state}>"

    # ------------------------------------------------------------------------------ helpers

    def _write(self, data: bytes) -> int:
        """One ``os.write``; on failure cut the file back to its size before it, and raise.

        Returns the file's size before the write.
        """
        fd = self._fd
        try:
            before = os.fstat(fd)
            current = os.stat(self._abspath)
        except FileNotFoundError:
            raise self._error(
                None, "the file or its folder no longer exists; nothing was written"
            ) from None
        except OSError as e:
            raise self._error(e.errno, f"{e.strerror}; nothing was written") from e
        if (current.st_ino, current.st_dev) != (before.st_ino, before.st_dev):
            raise self._error(
                None, "the file was replaced by another one at its path; nothing was written"
            )
        try:
            written = os.write(fd, data)
        except OSError as e:
            raise self._error(e.errno, self._cut(before.st_size, e.strerror)) from e
        if written != len(data):
            reason = (
                f"only {written} of {len(data)} bytes were written (the disk is full or a file "
                "size limit was reached)"
            )
            raise self._error(errno.ENOSPC, self._cut(before.st_size, reason))
        self._unsynced = True
        return before.st_size

    def _cut(self, size: int, reason: str | None) -> str:
        try:
            os.ftruncate(self._fd, size)
        except OSError as e:
            return (
                f"{reason}; cutting the partial record off failed too ({e.strerror}): it will be "
                "treated as a torn tail when the journal is next opened"
            )
        return f"{reason}; the file was cut back to {size} bytes, so no partial record is left"

    def _error(self, code: int | None, what: str) -> JournalWriteError:
        message = (
            f"could not append to the journal {self._path}: {what}. The journal holds every "
            "record appended before; once the problem is fixed the study can resume from it"
        )
        return JournalWriteError(code, message) if code is not None else JournalWriteError(message)

    def _fsync_fd(self) -> None:
        if hasattr(os, "fdatasync"):
            os.fdatasync(self._fd)
        else:  # pragma: no cover - macOS, Windows
            os.fsync(self._fd)
        self._unsynced = False
        self._last_sync = time.monotonic()


_OPEN_JOURNALS: weakref.WeakSet[Journal] = weakref.WeakSet()


def _forget_journals_after_fork() -> None:
    for journal in list(_OPEN_JOURNALS):
        journal._forget_after_fork()
    _OPEN_JOURNALS.clear()


if hasattr(os, "register_at_fork"):
    # A forked worker must not keep the study's journal (or its flock) alive after the study ends.
    os.register_at_fork(after_in_child=_forget_journals_after_fork)


def _fsync_dir(path: str) -> None:
    """Make a new file's directory entry durable (best effort: not every platform allows it)."""
    try:
        fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
