"""A ConfigSpace search space handed over as a trial's config is refused (issue #14, item 5)."""

from __future__ import annotations

import pytest

from trials import TrialInfo

ConfigSpace = pytest.importorskip("ConfigSpace")


def test_configuration_space_as_config_says_to_sample_one() -> None:
    """The space is a Mapping too; the error names it and says how to get a configuration."""
    space = ConfigSpace.ConfigurationSpace({"x": (0.0, 1.0)})
    with pytest.raises(TypeError, match=r"ConfigurationSpace.*sample_configuration\(\)"):
        TrialInfo(space)


def test_a_sampled_configuration_is_accepted() -> None:
    """What the message recommends works."""
    space = ConfigSpace.ConfigurationSpace({"x": (0.0, 1.0)}, seed=0)
    info = TrialInfo(space.sample_configuration())
    assert 0.0 <= info.config["x"] <= 1.0
