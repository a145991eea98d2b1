"""The trial data model: statuses, trials, their values, the history and the journal."""

from trials._status import StatusType
from trials._trial import Cost, TrialInfo, TrialValue

__all__ = ["Cost", "StatusType", "TrialInfo", "TrialValue"]
