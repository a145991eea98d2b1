"""The journal's errors and warnings, and its format version."""

from __future__ import annotations

__all__ = [
    "FORMAT_VERSION",
    "JournalCorruptError",
    "JournalError",
    "JournalFormatError",
    "JournalLockedError",
    "JournalStaleLockWarning",
    "JournalTornTailWarning",
    "JournalWriteError",
]

FORMAT_VERSION = 1
"""The journal format this version writes, and the highest it reads."""


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

