"""``<journal>.lock``: one study per journal. The lock file holds its owner's pid and host; a
lock whose owner is gone (dead, or its pid reused by a newer process) is taken over with a
warning."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time
import uuid
import warnings
from typing import Any

from trials._journal_errors import (
    JournalFormatError,
    JournalLockedError,
    JournalStaleLockWarning,
)
from trials._journal_files import read_small

__all__ = ["LockFile", "create_exclusive"]

_LOCK_SETTLE_SECONDS = 5.0  # an unreadable lock file younger than this may still be being written
_CLOCK_SLACK_SECONDS = 2.0  # the boot time in /proc/stat is in whole seconds
_HELD: set[tuple[str, bytes]] = set()
"""``(lock path, content)`` of every lock this process holds now."""


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
    """Whether a lock of this process, still held, is the lock file with content ``raw``."""
    return (lock_path, raw) in _HELD



def create_exclusive(path: str, content: bytes) -> None:
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


_LOCK_MAX_BYTES = 4096  # ours is about 150 bytes: anything longer is not a lock we wrote
_LOCK_ADVICE = ("a journal's lock must be a regular file; remove it (no study can be using it) "
                "or use another journal path")


def _read_lock(path: str) -> tuple[bytes, dict[str, Any] | None]:
    raw = read_small(path, _LOCK_MAX_BYTES, _LOCK_ADVICE)
    if len(raw) > _LOCK_MAX_BYTES:
        return raw, None  # unreadable as a lock: judged by its age like a half-written one
    try:
        owner = json.loads(raw)
    except ValueError:
        return raw, None
    if not isinstance(owner, dict) or not isinstance(owner.get("pid"), int):
        return raw, None
    return raw, owner



class LockFile:
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
                create_exclusive(self.path, self.content)
                _HELD.add((self.path, self.content))
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
            moved = read_small(aside, _LOCK_MAX_BYTES, _LOCK_ADVICE)
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
            stacklevel=_outside_stacklevel(),
        )

    def release(self) -> None:
        """Remove the lock file if it is still ours (it guards nothing after this either way)."""
        _HELD.discard((self.path, self.content))
        try:
            if read_small(self.path, _LOCK_MAX_BYTES, _LOCK_ADVICE) != self.content:
                return
            os.unlink(self.path)
        except (OSError, JournalFormatError):  # gone, or replaced by something not ours
            pass




def _outside_stacklevel() -> int:
    """The stack level of the first frame outside ``trials`` and ``runner``, so a warning points
    at the user's line that opened the journal (a loop, a suite), not at our internals."""
    frame, level = sys._getframe(1), 1
    while frame is not None and str(frame.f_globals.get("__name__", "")).split(".")[0] in (
            "trials", "runner"):
        frame, level = frame.f_back, level + 1  # type: ignore[assignment]
    return level
