"""The crash-safe JSON-lines journal of a study: append-only, one ``write`` per record, tail checked
on open (``_journal_read``), guarded by a lock file holding the owner's pid (``_journal_lock``);
see docs/journal.md."""

from __future__ import annotations

import contextlib
import errno
import os
import threading
import time
import weakref
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Literal

from trials._journal_errors import (
    FORMAT_VERSION,
    JournalCorruptError,
    JournalError,
    JournalFormatError,
    JournalLockedError,
    JournalStaleLockWarning,
    JournalTornTailWarning,
    JournalWriteError,
)
from trials._journal_files import dumps_record, fsync_dir, open_regular
from trials._journal_lock import LockFile, create_exclusive
from trials._journal_read import (
    MAX_HEADER_BYTES,
    _parse,
    _read_bytes,
    _warn_torn,
    read_header,
    read_records,
)
from trials._numbers import real_to_float

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
    "read_header",
    "read_records",
]

FsyncPolicy = Literal["always", "never", "interval"]

_FSYNC_POLICIES = ("always", "never", "interval")

_ADVICE = "a journal must be a regular file (it is cut back after a failed write)"


class Journal:
    """An open, locked journal: the records it held when opened, and ``append`` for new ones."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fsync: FsyncPolicy = "always",
        fsync_interval: float = 1.0,
        study: str | None = None,
        fingerprint: Mapping[str, Any] | None = None,
        command: Mapping[str, Any] | None = None,
    ) -> None:
        """Open or create the journal at ``path``; see `open`."""
        if fsync not in _FSYNC_POLICIES:
            raise ValueError(f"fsync must be one of {_FSYNC_POLICIES}, got {fsync!r}")
        interval = real_to_float(fsync_interval, "fsync_interval", "a number of seconds > 0")
        if not interval > 0:
            raise ValueError(f"fsync_interval must be a number > 0, got {fsync_interval!r}")
        if study is not None and not isinstance(study, str):
            raise TypeError(f"study must be a str or None, got {type(study).__name__}")
        if fingerprint is not None and not isinstance(fingerprint, Mapping):
            raise TypeError(f"fingerprint must be a dict or None, got {type(fingerprint).__name__}")
        self._fingerprint = None if fingerprint is None else dict(fingerprint)
        if command is not None and not isinstance(command, Mapping):
            raise TypeError(f"command must be a dict or None, got {type(command).__name__}")
        self._command = dict(command) if command is not None else None
        if self._command is not None:
            dumps_record(self._command)  # strict JSON, checked before the file is touched
        self._path = os.fspath(path)
        self._abspath = os.path.abspath(self._path)  # immune to a later chdir
        self._fsync = fsync
        self._fsync_interval = interval
        self._mutex = threading.Lock()
        self._closed = True
        self._unsynced = False
        self._last_sync = time.monotonic()
        self._lock = LockFile(self._abspath + ".lock", self._path)
        self._lock.acquire()
        try:
            self._fd = open_regular(self._path, os.O_RDWR | os.O_CREAT | os.O_APPEND, _ADVICE)
        except BaseException:
            self._lock.release()
            raise
        try:
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
        fingerprint: Mapping[str, Any] | None = None,
        command: Mapping[str, Any] | None = None,
    ) -> Journal:
        """Open or create the journal at ``path``, lock it, and read and check what it holds.

        ``fsync``: ``"always"`` syncs every record to disk before `append` returns,
        ``"interval"`` at most every ``fsync_interval`` seconds, ``"never"`` leaves it to the OS.
        ``study``: a name written into a new file's header; opening a file written by another
        study is refused. ``fingerprint``: JSON-safe data written into a new file's header as
        ``"fingerprint"`` (what must match to resume; comparing it is the caller's business).
        ``command``: a JSON-safe dict written into a new file's header as ``"command"`` (what
        ``trialrunner resume`` rebuilds the study from); ignored when the file exists.
        """
        return cls(path, fsync=fsync, fsync_interval=fsync_interval, study=study,
                   fingerprint=fingerprint, command=command)

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
            if self._fingerprint is not None:
                header["fingerprint"] = self._fingerprint
            if self._command is not None:
                header["command"] = self._command
            line = dumps_record(header)
            if len(line) > MAX_HEADER_BYTES:  # read_header would refuse it: fail before trial 1
                raise JournalFormatError(
                    f"{self._path}: its header would take {len(line) / 2**20:.1f} MiB, over the "
                    f"{MAX_HEADER_BYTES >> 20} MiB a journal header may hold (the command and "
                    "fingerprint hold the search space: is it that large?)"
                )
            self._write(line)
            if self._fsync != "never":
                self._fsync_fd()
                fsync_dir(self._path)
            return header, []
        return parsed.header, parsed.records

    def _move_aside(self, torn: bytes) -> str:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        for n in range(1000):
            aside = f"{self._path}.torn-{stamp}" + (f"-{n}" if n else "")
            try:
                create_exclusive(aside, torn)
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
    def command(self) -> dict[str, Any] | None:
        """The header's ``"command"`` (how the study was started), or ``None``."""
        command = self._header.get("command")
        return command if isinstance(command, dict) else None

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
        """Whether `close` was called."""
        return self._closed

    @property
    def fsync(self) -> FsyncPolicy:
        """The fsync policy: ``"always"``, ``"interval"`` or ``"never"``."""
        return self._fsync

    def append(self, record: Mapping[str, Any]) -> None:
        """Append ``record`` as one line with one ``write``, synced by the fsync policy.

        On failure nothing is left of the record and `JournalWriteError` is raised.
        """
        if not isinstance(record, Mapping):
            raise TypeError(f"a journal record must be a dict, got {type(record).__name__}")
        data = dumps_record(record if isinstance(record, dict) else dict(record))
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
