"""The trial data model: statuses, trials, their values, the history and the journal."""

from trials._history import History
from trials._journal import (
    Journal,
    JournalCorruptError,
    JournalError,
    JournalFormatError,
    JournalLockedError,
    JournalStaleLockWarning,
    JournalTornTailWarning,
    JournalWriteError,
    read_header,
    read_records,
)
from trials._report import Report
from trials._status import StatusType
from trials._trial import Cost, TrialInfo, TrialValue

__all__ = [
    "Cost",
    "History",
    "Journal",
    "JournalCorruptError",
    "JournalError",
    "JournalFormatError",
    "JournalLockedError",
    "JournalStaleLockWarning",
    "JournalTornTailWarning",
    "JournalWriteError",
    "Report",
    "StatusType",
    "TrialInfo",
    "TrialValue",
    "read_header",
    "read_records",
]
