"""TrialInfo and TrialValue: validation at construction, with errors naming the field."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trials import StatusType, TrialInfo, TrialValue


@pytest.mark.parametrize("config", [None, [("x", 1)], "x=1", 3])
def test_non_mapping_config_is_a_type_error(config: object) -> None:
    """A config that is not a mapping fails with a TypeError naming TrialInfo.config."""
    with pytest.raises(TypeError, match=r"TrialInfo\.config must be a mapping"):
        TrialInfo(config)


def test_config_key_that_is_not_a_name_is_a_type_error() -> None:
    """A config key that is not a str fails with a TypeError naming TrialInfo.config."""
    with pytest.raises(TypeError, match=r"TrialInfo\.config keys must be parameter names"):
        TrialInfo({1: 2})


@pytest.mark.parametrize("seed", [1.5, "1", 1.0, [1]])
def test_non_integer_seed_is_a_type_error(seed: object) -> None:
    """A seed that is not an integer fails with a TypeError naming TrialInfo.seed."""
    with pytest.raises(TypeError, match=r"TrialInfo\.seed must be an int"):
        TrialInfo({}, seed=seed)


@pytest.mark.parametrize("seed", [True, False])
def test_bool_seed_is_a_type_error(seed: bool) -> None:
    """A bool is not accepted as a seed even though it is an int subclass."""
    with pytest.raises(TypeError, match=r"TrialInfo\.seed must be an int.*bool"):
        TrialInfo({}, seed=seed)


def test_numpy_integer_seed_becomes_int() -> None:
    """A numpy integer seed is stored as a plain int."""
    info = TrialInfo({}, seed=np.int64(7))
    assert info.seed == 7 and type(info.seed) is int


@pytest.mark.parametrize("budget", [0, -1, 0.0, math.inf, -math.inf, math.nan])
def test_budget_not_finite_positive_is_a_value_error(budget: float) -> None:
    """A budget that is not a finite number > 0 fails with a ValueError naming TrialInfo.budget."""
    with pytest.raises(ValueError, match=r"TrialInfo\.budget must be a finite number > 0"):
        TrialInfo({}, budget=budget)


@pytest.mark.parametrize("budget", ["10", True, [1]])
def test_budget_not_a_number_is_a_type_error(budget: object) -> None:
    """A budget that is not a number fails with a TypeError naming TrialInfo.budget."""
    with pytest.raises(TypeError, match=r"TrialInfo\.budget must be a number"):
        TrialInfo({}, budget=budget)


def test_instance_not_a_string_is_a_type_error() -> None:
    """An instance that is not a str fails with a TypeError naming TrialInfo.instance."""
    with pytest.raises(TypeError, match=r"TrialInfo\.instance must be a str"):
        TrialInfo({}, instance=3)


def test_config_dict_is_copied() -> None:
    """Editing the caller's dict afterwards does not change the frozen TrialInfo."""
    config = {"x": 1}
    info = TrialInfo(config)
    config["x"] = 2
    assert info.config == {"x": 1}


@pytest.mark.parametrize("cost", ["0.5", None, object(), {"a": 1.0}])
def test_non_number_cost_is_a_type_error(cost: object) -> None:
    """A cost that is neither a number nor a sequence of numbers names TrialValue.cost."""
    with pytest.raises(TypeError, match=r"TrialValue\.cost must be a number"):
        TrialValue(cost)


def test_non_number_in_cost_sequence_names_its_index() -> None:
    """A non-number inside a cost sequence is reported with its index."""
    with pytest.raises(TypeError, match=r"TrialValue\.cost\[1\] must be a number"):
        TrialValue((1.0, "x"))


@pytest.mark.parametrize("cost", [(), []])
def test_empty_cost_sequence_is_a_value_error(cost: object) -> None:
    """An empty cost sequence fails with a ValueError naming TrialValue.cost."""
    with pytest.raises(ValueError, match=r"TrialValue\.cost must not be an empty sequence"):
        TrialValue(cost)


def test_costs_become_floats_and_tuples() -> None:
    """A numeric cost becomes a float, a list of costs a tuple of floats."""
    assert TrialValue(np.int32(3)).cost == 3.0 and type(TrialValue(np.int32(3)).cost) is float
    assert TrialValue([1, np.float32(2.5)]).cost == (1.0, 2.5)


@pytest.mark.parametrize("status", [99, -1, "BOGUS", True, None, 1.5])
def test_bad_status_is_a_value_error(status: object) -> None:
    """A status that is no StatusType fails with a ValueError naming TrialValue.status."""
    with pytest.raises(ValueError, match=r"TrialValue\.status must be a StatusType"):
        TrialValue(1.0, status=status)


def test_status_accepts_member_value_and_name() -> None:
    """A status may be given as a member, its int value or its name."""
    assert TrialValue(1.0, status=StatusType.TIMEOUT).status is StatusType.TIMEOUT
    assert TrialValue(1.0, status=3).status is StatusType.TIMEOUT
    assert TrialValue(1.0, status="TIMEOUT").status is StatusType.TIMEOUT


@pytest.mark.parametrize("field", ["time", "cpu_time", "starttime", "endtime"])
def test_non_number_seconds_name_the_field(field: str) -> None:
    """A time field that is not a number fails with a TypeError naming that field."""
    with pytest.raises(TypeError, match=rf"TrialValue\.{field} must be a number"):
        TrialValue(1.0, **{field: "soon"})


@pytest.mark.parametrize("cls", [TrialInfo, TrialValue])
def test_non_mapping_additional_info_is_a_type_error(cls: type) -> None:
    """additional_info that is not a mapping fails with a TypeError naming the class and field."""
    first: object = {} if cls is TrialInfo else 1.0
    with pytest.raises(TypeError, match=rf"{cls.__name__}\.additional_info must be a mapping"):
        cls(first, additional_info=["x"])


def test_trial_info_equality_ignores_additional_info_and_hashes_consistently() -> None:
    """Equal TrialInfos (additional_info aside) hash equally, so they can key a dict."""
    a = TrialInfo({"x": 1}, seed=1, additional_info={"note": "a"})
    b = TrialInfo({"x": 1}, seed=1, additional_info={"note": "b"})
    assert a == b and hash(a) == hash(b)
    assert a != TrialInfo({"x": 2}, seed=1)
