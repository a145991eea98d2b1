"""FAULTS C: values and serialisation (lambdas and closures, invalid costs, a huge result,
values JSON has no type for), on every backend."""

from __future__ import annotations

import json
import math
import resource

import faults_targets as ft
import pytest
import targets

from faults.conftest import FaultMaker, ListOptimizer, one, runs, shared_code
from runner import OptimizationLoop
from runner.testing import drain, echo
from trials import History, StatusType, TrialInfo, read_records


def test_C1_lambda_and_closure(every_backend: FaultMaker) -> None:
    """C1: a lambda and a closure over a local variable work as targets on every backend."""
    maker = every_backend
    factor = 3.0
    if maker.is_async:
        async def closure(config):
            return config["x"] * factor

        made = [maker.build(maker.cls, closure)]
    else:
        def closure(config):
            return config["x"] * factor

        made = [maker(lambda config: config["x"] + 1.0), maker(closure)]
    for runner, expected in zip(made, ([9.0] if maker.is_async else [4.0, 9.0]), strict=True):
        with runner:
            value = one(runner, {"x": 3.0})
            assert value.status == StatusType.SUCCESS and value.cost == expected, value


@shared_code("any_config", "cost, word", [(math.nan, "NaN"), (math.inf, "+inf"),
                                          (-math.inf, "-inf")], ids=["nan", "+inf", "-inf"])
def test_C4_non_finite_cost(any_config: FaultMaker, cost: float, word: str) -> None:
    """C4: a NaN, +inf or -inf cost is CRASHED with the crash cost, the error saying which
    (``runner._core.returns`` decides: every value on one backend, one on each other)."""
    with any_config(echo, crash_cost=5.0) as runner:
        value = one(runner, {"ret": cost})
    assert value.status == StatusType.CRASHED and value.cost == 5.0, value
    assert value.additional_info["error"] == f"the returned cost is {word}"


C5_CASES = [
    ([1.0], "returned 1 cost(s) [1.0] (type list); expected 2 cost(s) for objectives "
            "['acc', 'time']"),
    ({"acc": 1.0, "size": 2.0}, "unknown objective name(s) ['size']; expected 2 cost(s) for "
                                "objectives ['acc', 'time']"),
    (None, "returned None (type NoneType); expected 2 cost(s) for objectives ['acc', 'time']"),
    ("0.5", "returned '0.5' (type str); expected 2 cost(s) for objectives ['acc', 'time']"),
]


def test_C5_wrong_objectives(any_config: FaultMaker) -> None:
    """C5: the wrong number of objectives, an unknown objective name, None or a string is
    CRASHED with the crash costs, the error saying what was expected and what came."""
    with any_config(echo, objectives=["acc", "time"], crash_cost=[1.0, 2.0]) as runner:
        for ret, _ in C5_CASES:
            runner.submit_trial(TrialInfo({"ret": ret}))
        got = drain(runner, len(C5_CASES))
    errors = {json.dumps(info.config["ret"]): value for info, value in got}
    for ret, needle in C5_CASES:
        value = errors[json.dumps(ret)]
        assert value.status == StatusType.CRASHED and value.cost == (1.0, 2.0), value
        assert needle in value.additional_info["error"], value.additional_info["error"]


def test_C5_single_objective_none_and_string(every_backend: FaultMaker) -> None:
    """C5 with one objective: None and a string are CRASHED saying a number was expected."""
    with every_backend(echo) as runner:
        none = one(runner, {"ret": None})
        text = one(runner, {"ret": "fast"})
    assert none.status == text.status == StatusType.CRASHED
    assert none.additional_info["error"] == ("the returned cost is None; the target must "
                                             "return a number")
    assert text.additional_info["error"] == ("the returned cost must be a number, got 'fast' "
                                             "(type str)")


@pytest.mark.slow
def test_C6_one_gigabyte_result(any_config: FaultMaker) -> None:
    """C6: a 1 GB result is refused by the documented 256 MB cap (CRASHED naming size and cap)
    where it would cross a process boundary, returned as is where the trial ran in the driver;
    the driver's memory does not grow by the gigabyte and it does not hang."""
    maker = any_config
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MB
    with maker(targets.big_result) as runner:
        value = one(runner, {"mb": 1024}, timeout=120)
        if maker.isolates:
            grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before
            assert value.status == StatusType.CRASHED, value
            assert "1024 MB pickled, over the 256 MB cap" in value.additional_info["error"]
            assert grew < 300, f"the driver's peak memory grew by {grew:.0f} MB"
        else:
            assert value.status == StatusType.SUCCESS
            assert len(value.additional_info.pop("blob")) == 2**30
        assert one(runner, {"mb": 1}).status == StatusType.SUCCESS  # not hung, not broken


def test_C7_odd_values_in_the_journal(every_backend: FaultMaker, tmp_path) -> None:
    """C7: numpy scalars, a tuple, a Path, a datetime and NaN in the config and in the returned
    info are journaled with the documented JSON encoding (docs/json-encoding.md); an object with
    no encoding is kept as its repr when the target returned it."""
    np = pytest.importorskip("numpy")
    import datetime
    import pathlib

    config = {"x": np.float64(0.5), "n": np.int64(3), "flag": np.bool_(False), "t": (1, 2),
              "p": pathlib.Path("/data/set"), "when": datetime.date(2024, 5, 6), "nan": math.nan}
    journal = tmp_path / "study.jsonl"
    opt = ListOptimizer([config])
    with every_backend(ft.odd_values) as runner:
        OptimizationLoop(opt, runner, journal=journal).run()
    [(_, value)] = opt.told
    assert value.status == StatusType.SUCCESS and value.cost == 0.5
    records = {r["type"]: r for r in read_records(journal)}
    assert records["submit"]["info"]["config"] == records["result"]["info"]["config"] == {
        "x": 0.5, "n": 3, "flag": False, "t": [1, 2], "p": "/data/set", "when": "2024-05-06",
        "nan": {"$float": "nan"}}
    assert records["result"]["value"]["additional_info"] == {
        "np_int": 7, "np_float": 0.5, "np_bool": True, "tuple": [1, 2], "path": "/tmp/x",
        "when": "2024-01-02T03:04:05", "nan": {"$float": "nan"}, "thing": "<opaque>"}
    [(info, loaded)] = list(History.load(journal))
    assert math.isnan(info.config["nan"]) and loaded.additional_info["tuple"] == [1, 2]


def test_C7_unencodable_config_fails_at_submit(every_backend: FaultMaker, tmp_path) -> None:
    """C7: a config value with no JSON encoding fails the loop with a TypeError naming where it
    sits, at submit, before the target ever runs; nothing is told."""
    d = str(tmp_path)
    opt = ListOptimizer([{"id": 0, "dir": d, "model": object()}])
    with every_backend(ft.run_count) as runner:
        loop = OptimizationLoop(opt, runner, journal=tmp_path / "study.jsonl")
        with pytest.raises(TypeError, match=r"TrialInfo\.config\['model'\] holds <object "):
            loop.run()
    assert loop.status() == "failed" and opt.told == []
    assert runs(d, 0) == 0, "the target ran although its trial could not be journaled"
    assert [r["type"] for r in read_records(tmp_path / "study.jsonl")] == []
