"""What a runner evaluates: the ``Target`` base class users subclass, and the adapter that calls a
plain function with only the keyword arguments its signature accepts."""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["Target", "FunctionTarget", "TRIAL_FIELDS"]

TRIAL_FIELDS = ("instance", "seed", "budget")
"""The trial fields a target may receive as keyword arguments."""


class Target(ABC):
    """A custom target: subclass, implement :meth:`__call__`, pass an instance to a runner.

    Instances travel to worker processes with cloudpickle, so keep them to plain data.
    """

    @property
    def name(self) -> str:
        """A short name for ``meta``, logs and progress displays."""
        return type(self).__name__

    @abstractmethod
    def __call__(self, config: Mapping[str, Any], *, instance: str | None = None,
                 seed: int | None = None, budget: float | None = None,
                 **shared_data: Any) -> Any:
        """Evaluate ``config``; return any of the return forms of the design (DESIGN §3)."""

    def check(self, shared_data: Mapping[str, Any]) -> None:  # noqa: B027 - optional hook
        """Pre-flight check at the runner's construction; raise a clear error if unusable."""

    def check_trial(self, info: Any) -> None:  # noqa: B027 - optional hook
        """Check one ``TrialInfo`` at ``submit_trial``, before it runs; raise ``ValueError``
        for a trial this target can never evaluate (so the mistake surfaces at once)."""


class FunctionTarget(Target):
    """A plain callable: ``fn(config, **kwargs)`` with the trial fields its signature accepts."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        if not callable(fn):
            raise TypeError(
                f"target must be a callable, a runner.Target or a command line, got {fn!r} "
                f"(type {type(fn).__name__})"
            )
        self.fn = fn
        self.accepts, self.var_kwargs = _accepted_keywords(fn)

    @property
    def name(self) -> str:
        return getattr(self.fn, "__qualname__", None) or type(self.fn).__name__

    def __call__(self, config: Mapping[str, Any], *, instance: str | None = None,
                 seed: int | None = None, budget: float | None = None,
                 **shared_data: Any) -> Any:
        kwargs = shared_data
        if self.var_kwargs:
            kwargs = {"instance": instance, "seed": seed, "budget": budget, **shared_data}
        else:
            for key, value in (("instance", instance), ("seed", seed), ("budget", budget)):
                if key in self.accepts:
                    kwargs[key] = value
        return self.fn(config, **kwargs)

    def check(self, shared_data: Mapping[str, Any]) -> None:
        clash = sorted(set(shared_data) & set(TRIAL_FIELDS))
        if clash:
            raise ValueError(
                f"shared_data keys {clash} collide with the trial fields {list(TRIAL_FIELDS)}; "
                "rename them"
            )
        if not self.var_kwargs:
            missing = sorted(k for k in shared_data if k not in self.accepts)
            if missing:
                raise TypeError(
                    f"target {self.name} does not accept the shared_data keyword(s) {missing}; "
                    "add them to its signature or give it **kwargs"
                )


def _accepted_keywords(fn: Callable[..., Any]) -> tuple[frozenset[str], bool]:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return frozenset(), True  # a builtin we cannot inspect: pass everything
    names = set()
    var_kwargs = False
    for p in sig.parameters.values():
        if p.kind is p.VAR_KEYWORD:
            var_kwargs = True
        elif p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            names.add(p.name)
    positional = [p for p in sig.parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if not positional and not any(p.kind is p.VAR_POSITIONAL for p in sig.parameters.values()):
        raise TypeError(
            f"target {getattr(fn, '__qualname__', fn)!r} takes no positional argument; it must "
            "accept the config as its first argument"
        )
    if positional and positional[0].name in names:
        names.discard(positional[0].name)
    return frozenset(names), var_kwargs
