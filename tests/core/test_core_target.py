"""Target adaptation (``runner/_core/target.py``, ``runner/_core/evaluator.py``): what a target receives
and how what it returns or raises becomes a ``TrialValue``."""

from __future__ import annotations

import functools
import math

import pytest

from runner import ProcessPoolRunner, SerialRunner, Target
from runner._core.target import FunctionTarget
from runner.testing import drain
from trials import StatusType, TrialInfo

INFO = TrialInfo({"x": 2.0}, instance="i", seed=3, budget=1.5)


def evaluate(target, info: TrialInfo = INFO, **kwargs):
    """One trial on a SerialRunner."""
    with SerialRunner(target, **kwargs) as runner:
        runner.submit_trial(info)
        [(_, value)] = drain(runner, 1)
        return value


def config_only(config):
    return config["x"]


def seed_keyword_only(config, *, seed):
    return 0.0, {"seed": seed}


def budget_with_default(config, budget=None, other=5):
    return 0.0, {"budget": budget, "other": other}


def positional_only(config, /, seed):
    return 0.0, {"seed": seed}


def var_kwargs(config, seed=None, **kwargs):
    return 0.0, {"seed": seed, "rest": sorted(kwargs)}


def var_args(*args, **kwargs):
    return 0.0, {"n_args": len(args), "keys": sorted(kwargs)}


def with_shared(config, table, seed):
    return float(sum(table)), {"seed": seed}


class Callable:
    """A callable object: its ``__call__`` signature is inspected."""

    def __call__(self, config, instance):
        return 0.0, {"instance": instance}


class MyTarget(Target):
    """A custom target receives every field as keywords."""

    @property
    def name(self) -> str:
        return "my-target"

    def __call__(self, config, *, instance=None, seed=None, budget=None, **shared):
        return config["x"] * 10, {"seed": seed, "shared": sorted(shared)}


@pytest.mark.parametrize(("target", "info"), [
    (config_only, {}),
    (seed_keyword_only, {"seed": 3}),
    (budget_with_default, {"budget": 1.5, "other": 5}),
    (positional_only, {"seed": 3}),
    (var_kwargs, {"seed": 3, "rest": ["budget", "instance"]}),
    (var_args, {"n_args": 1, "keys": ["budget", "instance", "seed"]}),
    (Callable(), {"instance": "i"}),
    (functools.partial(budget_with_default, other=1), {"budget": 1.5, "other": 1}),
])
def test_fields_follow_the_signature(target, info):
    """seed/instance/budget are passed only if the signature names them or has **kwargs."""
    value = evaluate(target)
    assert value.status == StatusType.SUCCESS, value
    assert value.additional_info == info


def test_target_subclass_gets_everything():
    """A runner.Target subclass is called with every field and the shared data."""
    value = evaluate(MyTarget(), shared_data={"t": 1})
    assert value.cost == 20.0 and value.additional_info == {"seed": 3, "shared": ["t"]}


def test_shared_data_is_passed_as_keywords():
    """shared_data entries arrive as keyword arguments next to the accepted fields."""
    value = evaluate(with_shared, shared_data={"table": [1, 2, 3]})
    assert value.cost == 6.0 and value.additional_info == {"seed": 3}


@pytest.mark.parametrize("key", ["seed", "instance", "budget"])
def test_shared_data_colliding_with_a_field_is_refused(key):
    """A shared_data key named like a trial field fails at construction, naming it."""
    with pytest.raises(ValueError, match=f"shared_data keys \\['{key}'\\] collide"):
        SerialRunner(var_kwargs, shared_data={key: 1})


def test_shared_data_the_target_does_not_accept_is_refused():
    """A shared_data key the target's signature does not accept fails at construction."""
    with pytest.raises(TypeError, match=r"does not accept the shared_data keyword\(s\) \['tabel'\]"):
        SerialRunner(with_shared, shared_data={"table": [], "tabel": []})


@pytest.mark.parametrize(("shared", "error", "match"), [
    ([("table", 1)], TypeError, "shared_data must be a dict"),
    ({"not an identifier": 1}, TypeError, "valid keyword-argument names"),
    ({1: 2}, TypeError, "valid keyword-argument names"),
])
def test_shared_data_must_be_a_dict_of_names(shared, error, match):
    """shared_data must map valid keyword names to objects."""
    with pytest.raises(error, match=match):
        SerialRunner(var_kwargs, shared_data=shared)


def test_target_without_positional_parameter_is_refused():
    """A callable that cannot take the config positionally fails at construction."""
    def no_config(*, seed):
        return 0.0

    with pytest.raises(TypeError, match="takes no positional argument"):
        SerialRunner(no_config)


@pytest.mark.parametrize("target", [42, None, 3.5, b"bytes", {"a": 1}])
def test_non_callable_target_is_refused(target):
    """A target that is neither callable, a Target nor a command line is a TypeError."""
    with pytest.raises(TypeError, match="needs a target|must be a callable"):
        SerialRunner(target)


class Opaque:
    """A callable whose signature cannot be inspected."""

    __signature__ = "not a signature"

    def __call__(self, config, **kwargs):
        return 0.0, {"keys": sorted(kwargs)}


def test_callable_without_signature_gets_everything():
    """A callable whose signature cannot be inspected gets every field (it must cope)."""
    assert FunctionTarget(Opaque()).var_kwargs
    value = evaluate(Opaque())
    assert value.additional_info == {"keys": ["budget", "instance", "seed"]}


@pytest.mark.parametrize(("raw", "status", "cost"), [
    (1, StatusType.SUCCESS, 1.0),
    (True, StatusType.CRASHED, 9.0),
    (math.nan, StatusType.CRASHED, 9.0),
    ((StatusType.TIMEOUT, 1.0, 0.5, {"why": "slow"}), StatusType.TIMEOUT, 9.0),
    ((StatusType.SUCCESS, 0.5, 0.1, None), StatusType.SUCCESS, 0.5),
])
def test_run_returns_the_four_tuple(raw, status, cost):
    """runner.run(config) returns (status, cost, runtime, additional_info) in this process."""
    def echo(config):
        return config["ret"]

    with SerialRunner(echo, crash_cost=9.0) as runner:
        outcome = runner.run({"ret": raw})
    assert outcome.status == status and outcome.cost == cost, outcome
    assert isinstance(outcome.additional_info, dict)
    if status != StatusType.SUCCESS:
        assert outcome.additional_info["error"]


def test_closure_and_lambda_travel_to_worker_processes():
    """A lambda and a closure work on the process pool (FAULTS C1)."""
    offset = 10.0

    def closure(config):
        return config["x"] + offset

    for target in (closure, lambda config: config["x"] * 3):
        with ProcessPoolRunner(target, n_workers=1) as runner:
            runner.submit_trial(TrialInfo({"x": 2.0}))
            [(_, value)] = drain(runner, 1)
            assert value.status == StatusType.SUCCESS, value
            assert value.cost in (12.0, 6.0)


def test_meta_names_the_target():
    """meta names the target: a function by qualified name, a Target by its name property."""
    with SerialRunner(config_only) as runner:
        assert runner.meta["target"] == "config_only"
    with SerialRunner(MyTarget()) as runner:
        assert runner.meta["target"] == "my-target"


def test_system_exit_in_the_target_is_crashed():
    """sys.exit() inside an inline target is CRASHED, not the end of the driver."""
    def exits(config):
        raise SystemExit(4)

    value = evaluate(exits)
    assert value.status == StatusType.CRASHED
    assert "SystemExit" in value.additional_info["error"]
