"""The runtime model of the built-in problems: a deterministic per-configuration number and
the simulated duration of a trial.

Its own module (not `_synthetic`'s) so that `_multifidelity` can use it without importing the
registry, which imports `_multifidelity` for the ``-mf`` names (issue 29 item 11).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["BASE_SECONDS", "config_unit", "timed_runtime"]

BASE_SECONDS = 10.0
"""What one full-budget trial of a synthetic problem "takes" in the runtime model."""


def config_unit(config: Mapping[str, Any], *salt: Any) -> float:
    """A number in [0, 1) that depends only on ``config`` (and ``salt``), stable across runs:
    from the SHA-256 of ``json.dumps([sorted (key, repr(value)) pairs, [repr(salt)...]])``."""
    try:
        head = _config_json(tuple(config.items()))
    except TypeError:  # an unhashable value: not cached
        head = _config_json.__wrapped__(tuple(config.items()))
    text = f"[{head}, {json.dumps(list(map(repr, salt)))}]"  # json.dumps of the pair, as is
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") / 2.0**64


@functools.lru_cache(maxsize=4096)
def _config_json(items: tuple[tuple[Any, Any], ...]) -> str:
    """The configuration's part of `config_unit`'s text (a learning curve asks it for the
    same configuration at every step, a few times each)."""
    return json.dumps(sorted((str(k), repr(v)) for k, v in items))


def timed_runtime(config: Mapping[str, Any], budget: float | None = None, *,
                  base: float = BASE_SECONDS, max_budget: float | None = None) -> float:
    """The runtime model: ``base`` x budget fraction x a config factor in [0.5, 1.5)."""
    fraction = 1.0 if budget is None or max_budget is None else float(budget) / max_budget
    return base * fraction * (0.5 + config_unit(config, "runtime"))
