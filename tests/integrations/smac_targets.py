"""Targets of the SMAC3 tests, in a module that does not import SMAC3, so the worker processes
that import them start fast."""

from __future__ import annotations

import time
from typing import Any


def target(config: Any, seed: int, instance: str) -> tuple[float, dict]:
    """SMAC3's test target: x**2, with the seed and instance in the info."""
    return config["x"] ** 2, {"key": seed, "instance": instance}


def target_delayed(config: Any, seed: int, instance: str) -> tuple[float, dict]:
    """``target`` after 0.3 s."""
    time.sleep(0.3)
    return config["x"] ** 2, {"key": seed, "instance": instance}


def target_failed(config: Any, seed: int, instance: str) -> float:
    """Raises ``RuntimeError``."""
    raise RuntimeError("Failed.")


def two_objectives(config: Any) -> dict[str, float]:
    """Named objectives, so their order is the runner's business."""
    return {"a": 1.0, "b": 2.0}


def quadratic(config: Any, seed: int = 0) -> float:
    """A 2-D quadratic with its minimum 0 at (1, -2)."""
    return (config["x"] - 1.0) ** 2 + (config["y"] + 2.0) ** 2


def budgeted(config: Any, budget: float, seed: int = 0) -> float:
    """``quadratic`` plus noise that shrinks with the budget."""
    return quadratic(config) + 1.0 / budget


def crashes_on_a_fifth(config: Any, seed: int = 0) -> float:
    """``quadratic`` that raises on a fifth of the space (x > 3 of -5..5)."""
    if config["x"] > 3.0:
        raise ValueError(f"x={config['x']:.3f} is in the failing part of the space")
    return quadratic(config)
