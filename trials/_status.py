"""The status of a trial: the first five values are SMAC3's, so its users' code keeps working."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["StatusType"]


class StatusType(IntEnum):
    """How a trial ended (``RUNNING`` only while it has not)."""

    RUNNING = 0
    SUCCESS = 1
    CRASHED = 2
    TIMEOUT = 3
    MEMORYOUT = 4
    CANCELLED = 5
    STOPPED = 6
    """Ended early by a decision on its intermediate reports (cost: the last reported)."""
