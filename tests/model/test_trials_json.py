"""The JSON encoding of trials: lossless round trips and explicit errors."""

from __future__ import annotations

import datetime as dt
import enum
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from trials import StatusType, TrialInfo, TrialValue
from trials._json import from_jsonable, to_jsonable


def _through_json(data: Any) -> Any:
    return json.loads(json.dumps(data, allow_nan=False))


def _plain_types(obj: Any) -> set[type]:
    if isinstance(obj, dict):
        return {dict}.union(*(_plain_types(v) for v in obj.values()), {type(k) for k in obj})
    if isinstance(obj, list):
        return {list}.union(*(_plain_types(v) for v in obj))
    return {type(obj)}


@pytest.mark.parametrize(
    "cost", [math.inf, -math.inf, math.nan, (1.0, math.inf), (math.nan, -math.inf, 2.0)]
)
def test_non_finite_costs_round_trip(cost: Any) -> None:
    """inf, -inf and nan costs survive strict JSON and come back as the same floats."""
    value = TrialValue(cost, status=StatusType.CRASHED)
    back = TrialValue.from_dict(_through_json(value.to_dict()))
    assert back == value
    assert type(back.cost) is type(value.cost)


def test_tuple_of_costs_round_trips_as_tuple() -> None:
    """Several objectives come back as a tuple of floats."""
    value = TrialValue((0.25, 3.0), time=1.5, cpu_time=1.25, starttime=10.0, endtime=11.5)
    back = TrialValue.from_dict(_through_json(value.to_dict()))
    assert back == value and back.cost == (0.25, 3.0)


def test_non_finite_time_fields_round_trip() -> None:
    """Non-finite timing fields are tagged too, so to_dict is always strict JSON."""
    value = TrialValue(1.0, time=math.inf, endtime=math.nan)
    back = TrialValue.from_dict(_through_json(value.to_dict()))
    assert back.time == math.inf and math.isnan(back.endtime)


def test_numpy_scalars_become_python_numbers() -> None:
    """numpy scalars and arrays in configs and info come out as plain Python builtins."""
    info = TrialInfo(
        {"i": np.int64(3), "f": np.float32(0.5), "b": np.bool_(True), "s": np.str_("a")},
        seed=np.int32(4),
        budget=np.float64(2.0),
        additional_info={"arr": np.arange(3), "nan": np.float64("nan")},
    )
    data = info.to_dict()
    assert data["config"] == {"i": 3, "f": 0.5, "b": True, "s": "a"}
    assert _plain_types(data) <= {dict, list, str, int, float, bool, type(None)}
    assert data["additional_info"] == {"arr": [0, 1, 2], "nan": {"$float": "nan"}}
    back = TrialInfo.from_dict(_through_json(data))
    assert back == info and back.seed == 4 and back.budget == 2.0


def test_configspace_configuration_round_trips() -> None:
    """A ConfigSpace Configuration as config round-trips to an equal TrialInfo."""
    configspace = pytest.importorskip("ConfigSpace")
    cs = configspace.ConfigurationSpace({"x": (0.0, 1.0), "c": ["a", "b"]})
    info = TrialInfo(cs.sample_configuration(), seed=1, budget=3.0, instance="i1")
    data = info.to_dict()
    assert _plain_types(data) <= {dict, list, str, int, float, bool, type(None)}
    back = TrialInfo.from_dict(_through_json(data))
    assert back == info
    assert back.config == dict(info.config)


def test_object_without_encoding_in_config_is_a_type_error() -> None:
    """An object with no JSON encoding in a config fails in to_dict, naming where it sits."""
    info = TrialInfo({"opt": {"inner": object()}})
    with pytest.raises(TypeError, match=r"TrialInfo\.config\['opt'\]\['inner'\] holds"):
        info.to_dict()


def test_result_info_without_encoding_becomes_its_repr() -> None:
    """What a target returned in additional_info is kept as its repr, never lost."""

    class Opaque:
        def __repr__(self) -> str:
            return "<Opaque thing>"

    value = TrialValue(1.0, additional_info={"model": Opaque(), "kind": np.float64, "n": 3})
    data = value.to_dict()
    assert data["additional_info"] == {"model": "<Opaque thing>", "kind": repr(np.float64), "n": 3}
    json.dumps(data, allow_nan=False)


class Colour(enum.Enum):
    RED = "red"


def test_documented_conversions() -> None:
    """Path, datetime, date, Enum, tuples and sets get their documented encodings."""
    moment = dt.datetime(2024, 1, 2, 3, 4, 5)
    data = to_jsonable(
        {
            "path": Path("/tmp/x"),
            "when": moment,
            "day": moment.date(),
            "colour": Colour.RED,
            "pair": (1, 2),
            "set": {3, 1, 2},
            1: "int key",
        }
    )
    assert data == {
        "path": "/tmp/x",
        "when": "2024-01-02T03:04:05",
        "day": "2024-01-02",
        "colour": "red",
        "pair": [1, 2],
        "set": [1, 2, 3],
        "1": "int key",
    }


def test_user_dict_that_looks_like_a_tag_round_trips() -> None:
    """A user's own {"$float": ...} or {"$dict": ...} mapping is escaped and comes back as is."""
    for original in ({"$float": "inf"}, {"$dict": {"a": 1}}, {"$float": "nope"}):
        assert from_jsonable(_through_json(to_jsonable(original))) == original


def test_self_containing_value() -> None:
    """A structure that contains itself is a clear error when strict and its repr when lenient."""
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="contains itself"):
        to_jsonable({"loop": loop}, where="config")
    assert to_jsonable({"loop": loop}, strict=False) == repr({"loop": loop})


def test_nesting_stops_at_a_fixed_depth_well_above_real_configs() -> None:
    """100 levels encode; 101 are refused by depth, not by Python's recursion limit."""
    deep: Any = 1
    for _ in range(100):
        deep = [deep]
    assert from_jsonable(_through_json(to_jsonable(deep))) == deep
    with pytest.raises(ValueError, match="more than 100 levels"):
        to_jsonable([deep], where="config")


def test_colliding_keys_are_an_error_when_strict() -> None:
    """Keys 1 and "1" would collide in JSON: an error rather than silently dropping one."""
    for mapping in ({"1": "a", 1: "b"}, {1: "b", "1": "a"}):
        with pytest.raises(TypeError, match="equal as strings"):
            to_jsonable(mapping)
