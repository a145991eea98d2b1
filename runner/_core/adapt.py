"""``as_target``: what a user passed as ``target`` (a callable, a ``Target`` or a command line)
turned into a ``Target``; apart from both kinds so that neither imports the other."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from runner._core.script import ScriptTarget
from runner._core.target import ASYNC_REFUSED, FunctionTarget, Target, is_async_callable

__all__ = ["as_target"]


def as_target(target: Any, *, allow_async: bool = False) -> Target:
    """Adapt what a user passed as ``target`` (callable, ``Target`` or command line);
    ``async def`` targets only with ``allow_async`` (a runner that awaits them)."""
    if isinstance(target, Target):
        if not allow_async and is_async_callable(target):
            raise TypeError(ASYNC_REFUSED.format(name=target.name))
        return target
    if isinstance(target, str) or (
        isinstance(target, Sequence) and not isinstance(target, (bytes, Mapping))
        and target and all(isinstance(a, str) for a in target)
    ):
        return ScriptTarget(target)
    return FunctionTarget(target, allow_async=allow_async)
