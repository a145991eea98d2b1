"""What a runner evaluates: the ``Target`` base class users subclass, and the adapter that calls a
plain function with only the keyword arguments its signature accepts."""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["Target", "FunctionTarget", "is_async_callable", "TRIAL_FIELDS", "PASSED_BY_NAME",
           "ASYNC_REFUSED"]

TRIAL_FIELDS = ("instance", "seed", "budget")
"""The trial fields a target may receive as keyword arguments."""

PASSED_BY_NAME = (*TRIAL_FIELDS, "report", "checkpoint")
"""Every keyword the runner passes when a target's signature names it (DESIGN §3), besides the
shared_data entries: a required argument of any other name can never be satisfied."""


class Target(ABC):
    """A custom target: subclass, implement `__call__`, pass an instance to a runner.

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

    report_optional = False
    """Whether the target also runs without a ``report`` (a script's report lines are then
    ignored): a runner that carries no reports runs it instead of refusing it."""

    @property
    def wants_report(self) -> bool:
        """Whether the target's signature names ``report``: then it is passed the trial's
        ``report(step, cost, **metrics)`` callable (runner/_core/reporting.py)."""
        return _names(type(self).__call__, "report")

    @property
    def wants_checkpoint(self) -> bool:
        """Whether the target's signature names ``checkpoint``: then it is passed the trial's
        checkpoint directory (runner/_core/checkpoints.py)."""
        return _names(type(self).__call__, "checkpoint")

    def check(self, shared_data: Mapping[str, Any]) -> None:  # noqa: B027 - optional hook
        """Pre-flight check at the runner's construction; raise a clear error if unusable."""

    def check_trial(self, info: Any) -> None:  # noqa: B027 - optional hook
        """Check one ``TrialInfo`` at ``submit_trial``, before it runs; raise ``ValueError``
        for a trial this target can never evaluate (so the mistake surfaces at once)."""


class FunctionTarget(Target):
    """A plain callable: ``fn(config, **kwargs)`` with the trial fields its signature accepts."""

    def __init__(self, fn: Callable[..., Any], *, allow_async: bool = False) -> None:
        """``allow_async``: accept an ``async def`` target (only a runner that awaits it may)."""
        if not callable(fn):
            raise TypeError(
                f"target must be a callable, a runner.Target or a command line, got {fn!r} "
                f"(type {type(fn).__name__})"
            )
        if not allow_async and is_async_callable(fn):
            raise TypeError(ASYNC_REFUSED.format(name=_name(fn)))
        self.fn = fn
        self.accepts, self.var_kwargs, self.required = _accepted_keywords(fn)

    @property
    def name(self) -> str:
        return _name(self.fn)

    @property
    def wants_report(self) -> bool:
        return "report" in self.accepts

    @property
    def wants_checkpoint(self) -> bool:
        return "checkpoint" in self.accepts

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
        never = [k for k in self.required if k not in PASSED_BY_NAME and k not in shared_data]
        if never:
            raise TypeError(
                f"target {self.name} requires the argument(s) {never}, which the runner never "
                f"passes: it calls target(config, ...) with only {list(PASSED_BY_NAME)} (those "
                "the signature names) and the shared_data entries; give them a default or pass "
                "them in shared_data"
            )
        if not self.var_kwargs:
            missing = sorted(k for k in shared_data if k not in self.accepts)
            if missing:
                raise TypeError(
                    f"target {self.name} does not accept the shared_data keyword(s) {missing}; "
                    "add them to its signature or give it **kwargs"
                )


def _names(fn: Any, name: str) -> bool:
    """Whether ``fn``'s signature names the parameter ``name`` (``**kwargs`` does not count)."""
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _name(fn: Any) -> str:
    return getattr(fn, "__qualname__", None) or type(fn).__name__


def is_async_callable(fn: Any) -> bool:
    """Whether calling ``fn`` gives a coroutine: an ``async def`` function (also behind
    ``functools.partial``) or an object whose ``__call__`` is one."""
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        type(fn).__call__)  # a class: its __call__ is type.__call__, not async


ASYNC_REFUSED = (
    "target {name} is an `async def` function: this runner would get a coroutine object, not a "
    "cost, from every trial; run it on runner.AsyncioRunner, or wrap it in a plain function "
    "that calls asyncio.run(...)"
)


def _accepted_keywords(fn: Callable[..., Any]) -> tuple[frozenset[str], bool, tuple[str, ...]]:
    """The keyword names ``fn`` accepts besides its config, whether it takes ``**kwargs``, and
    the names it requires (no default) besides its config."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return frozenset(), True, ()  # a builtin we cannot inspect: pass everything
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
    for p in positional[1:]:
        if p.kind is p.POSITIONAL_ONLY and p.default is p.empty:
            raise TypeError(
                f"target {_name(fn)} requires the positional-only argument {p.name!r} after the "
                "config, which the runner never passes (it passes the config positionally and "
                "everything else by keyword); give it a default or make it a keyword argument"
            )
    required = tuple(p.name for p in sig.parameters.values()
                     if p.name in names and p.default is p.empty)
    return frozenset(names), var_kwargs, required
