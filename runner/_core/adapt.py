"""``as_target``: what a user passed as ``target`` (a callable, a ``Target`` or a command line)
turned into a ``Target``; apart from both kinds so that neither imports the other."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from runner._core.script import ScriptTarget
from runner._core.target import FunctionTarget, Target

__all__ = ["as_target"]


def as_target(target: Any) -> Target:
    """Adapt what a user passed as ``target`` (callable, ``Target`` or command line)."""
    if isinstance(target, Target):
        return target
    if isinstance(target, str) or (
        isinstance(target, Sequence) and not isinstance(target, (bytes, Mapping))
        and target and all(isinstance(a, str) for a in target)
    ):
        return ScriptTarget(target)
    return FunctionTarget(target)
