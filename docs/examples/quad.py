"""Targets for the command-line examples: `trialrunner run quad:objective --space space.toml`."""

import math
import time


def objective(config, seed=None):
    """A quadratic bowl with a categorical offset; crashes far out, as real targets do."""
    time.sleep(0.01)  # a (very) small experiment
    if config["x"] > 4.5:
        raise ValueError(f"x={config['x']:.3f} is out of the model's range")
    return (config["x"] - 2) ** 2 + (0.0 if config["kind"] == "a" else 1.0)


def with_budget(config, budget):
    """The same bowl seen through a budget: a bias that vanishes at the full budget (27)."""
    time.sleep(0.001 * budget)
    bias = (1 - budget / 27) * math.sin(3 * config["x"]) ** 2
    return (config["x"] - 2) ** 2 + (0.0 if config["kind"] == "a" else 1.0) + bias
