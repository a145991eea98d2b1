"""How a trial crosses the pipe to a worker process.

The worker needs only what the target is called with: ``config``, ``instance``, ``seed``,
``budget`` and the checkpoint directory (or ``None``), so that is all that travels, as a plain tuple (a pickled ``TrialInfo`` goes through
attrs' ``__getstate__``/``__setstate__`` in Python code on each side, on every trial's critical
path). A ConfigSpace ``Configuration`` pickles with its whole ``ConfigurationSpace`` (kilobytes,
about 3.7 ms per round trip here); so it travels as its vector, each space travels once per
worker process, and the worker rebuilds an equal ``Configuration`` (1.8 µs)."""

from __future__ import annotations

import pickle
from typing import Any, NamedTuple

from runner._core.checkpoints import checkpoint_dir
from trials import TrialInfo

__all__ = ["TrialEncoder", "TrialDecoder", "WireTrial"]

_PROTOCOL = pickle.HIGHEST_PROTOCOL
_PLAIN, _VECTOR = 0, 1


class WireTrial(NamedTuple):
    """The part of a ``TrialInfo`` a worker evaluates, as it arrives there."""

    config: Any
    instance: str | None
    seed: int | None
    budget: float | None
    checkpoint: str | None
    resources: Any = None
    """The trial's share (runner/_worker/assign.py), or ``None`` when nothing is allocated."""


class TrialEncoder:
    """Driver side, one per worker process: remembers which spaces that process already has."""

    def __init__(self) -> None:
        self._sent: dict[int, Any] = {}  # id(space) -> space (held, so the id stays unique)

    def reset(self) -> None:
        """Forget what was sent: a new worker process knows no space."""
        self._sent.clear()

    def encode(self, info: TrialInfo, resources: Any = None) -> bytes:
        """``resources``: the trial's share as plain data, or ``None``; like a space, each
        share travels once per worker process, then as a token."""
        if resources is not None:
            token = id(resources)
            if token in self._sent:
                resources = token
            else:
                self._sent[token] = resources
                resources = (token, resources)
        config = info.config
        space = getattr(config, "config_space", None)
        if space is None or not hasattr(config, "get_array"):
            return pickle.dumps((_PLAIN, config, info.instance, info.seed, info.budget,
                                 checkpoint_dir(info), resources), protocol=_PROTOCOL)
        token = id(space)
        new_space = None
        if token not in self._sent:
            self._sent[token] = new_space = space
        return pickle.dumps((_VECTOR, token, new_space, config.get_array(), info.instance,
                             info.seed, info.budget, checkpoint_dir(info), resources),
                            protocol=_PROTOCOL)


class TrialDecoder:
    """Worker side: rebuilds trials, keeping each space it was sent."""

    def __init__(self) -> None:
        self._spaces: dict[int, Any] = {}

    def decode(self, data: bytes) -> WireTrial:
        message = pickle.loads(data)
        resources = message[-1]
        if resources is not None:  # a share: its token, or the token and the share itself
            if isinstance(resources, tuple):
                self._spaces[resources[0]] = resources[1]
                resources = resources[1]
            else:
                resources = self._spaces[resources]
        if message[0] == _PLAIN:
            _, config, instance, seed, budget, checkpoint, _ = message
            return WireTrial(config, instance, seed, budget, checkpoint, resources)
        _, token, space, vector, instance, seed, budget, checkpoint, _ = message
        if space is not None:
            self._spaces[token] = space
        from ConfigSpace import Configuration

        return WireTrial(Configuration(self._spaces[token], vector=vector), instance, seed, budget,
                         checkpoint, resources)
