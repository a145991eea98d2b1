"""The target and space of `smac_on_our_runner.py`, in an importable module as SMAC3 users keep
them: worker processes import it (and ConfigSpace with it) once, when they load the target."""

from ConfigSpace import ConfigurationSpace

SPACE = ConfigurationSpace({"x": (-5.0, 5.0), "y": (-5.0, 5.0)}, seed=0)


def quadratic(config, seed=0):
    """A 2-D quadratic with its minimum 0 at (2, -1)."""
    return (config["x"] - 2) ** 2 + (config["y"] + 1) ** 2
