"""What a journal, its lock or a history snapshot may be on disk: a regular file only. Paths are
checked before they are opened (a device is never opened), opened without blocking (a FIFO never
hangs), checked again on the open descriptor, and small files are read with a bound."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
from collections.abc import Mapping
from typing import Any

from trials._journal_errors import JournalFormatError

__all__ = ["check_replaceable", "kind_of", "open_regular", "read_small"]

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISLNK, "a symbolic link"),
)


def kind_of(mode: int) -> str:
    """What a file of ``st_mode`` ``mode`` is, in words (``"a FIFO"``)."""
    for test, name in _KINDS:
        if test(mode):
            return name
    return "a regular file" if stat.S_ISREG(mode) else "not a regular file"


def _refuse(path: str, kind: str, advice: str) -> JournalFormatError:
    return JournalFormatError(f"{path} is not a regular file (it is {kind}); {advice}")


def open_regular(path: str, flags: int, advice: str, *, follow: bool = True,
                 mode: int = 0o644) -> int:
    """``os.open`` that only ever opens a regular file, without blocking; ``advice`` ends the
    `JournalFormatError` raised for anything else. ``follow=False`` refuses a symlink."""
    try:
        st = os.stat(path) if follow else os.lstat(path)
    except FileNotFoundError:
        if not flags & os.O_CREAT:
            raise
    else:
        if not stat.S_ISREG(st.st_mode):  # never open a device: opening alone may act
            raise _refuse(path, kind_of(st.st_mode), advice)
    extra = os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow else getattr(os, "O_NOFOLLOW", 0))
    try:
        fd = os.open(path, flags | extra, mode)
    except IsADirectoryError:
        raise _refuse(path, "a folder", advice) from None
    except OSError as e:
        if e.errno == errno.ELOOP and not follow:
            raise _refuse(path, "a symbolic link", advice) from None
        raise
    try:
        st = os.fstat(fd)  # the path may have changed since the stat above
        if not stat.S_ISREG(st.st_mode):
            raise _refuse(path, kind_of(st.st_mode), advice)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_small(path: str, limit: int, advice: str) -> bytes:
    """At most ``limit + 1`` bytes of the regular file ``path`` (not followed if a symlink):
    a caller that gets more than ``limit`` knows the file is not what it expects."""
    fd = open_regular(path, os.O_RDONLY, advice, follow=False)
    try:
        return os.read(fd, limit + 1)
    finally:
        os.close(fd)


def check_replaceable(path: str, advice: str) -> str:
    """The real path an atomic ``os.replace`` may write for ``path``: symlinks are resolved (the
    link is kept, its target replaced); anything there that is not a regular file is refused, and
    so is a folder that does not exist."""
    real = os.path.realpath(path)
    with contextlib.suppress(FileNotFoundError):
        st = os.stat(real)
        if not stat.S_ISREG(st.st_mode):
            raise _refuse(path, kind_of(st.st_mode), advice)
    folder = os.path.dirname(real)
    if not os.path.isdir(folder):
        raise FileNotFoundError(errno.ENOENT, f"the folder of {path} does not exist", folder)
    return real


def dumps_record(record: Mapping[str, Any]) -> bytes:
    """One record as the journal's line: strict JSON, compact, newline-terminated."""
    try:
        line = json.dumps(record, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as e:
        raise type(e)(
            f"journal record is not strict JSON ({e}); encode values with trials.TrialInfo.to_dict"
            " / TrialValue.to_dict (which tag nan and inf) before appending"
        ) from e
    return (line + "\n").encode("utf-8")


def fsync_dir(path: str) -> None:
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
