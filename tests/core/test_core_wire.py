"""How trials cross to worker processes: ConfigSpace configurations as vectors, spaces once."""

from __future__ import annotations

import pytest

from runner import ProcessPoolRunner
from runner._worker.wire import TrialDecoder, TrialEncoder
from runner.testing import drain
from trials import StatusType, TrialInfo

ConfigSpace = pytest.importorskip("ConfigSpace")


def _space() -> object:
    cs = ConfigSpace.ConfigurationSpace(seed=3)
    cs.add([ConfigSpace.Float("lr", (1e-5, 1e-1), log=True), ConfigSpace.Float("x", (-5.0, 5.0)),
            ConfigSpace.Integer("n", (1, 100), log=True),
            ConfigSpace.Categorical("kind", ["a", "b", "c"])])
    return cs


def config_type_and_values(config, seed=None):
    """Report what the worker received."""
    return 0.0, {"type": type(config).__name__, "values": dict(config)}


def test_configuration_round_trips_exactly() -> None:
    """A Configuration rebuilt from its vector in the worker equals the original, value by value."""
    encoder, decoder = TrialEncoder(), TrialDecoder()
    for config in _space().sample_configuration(200):
        info = TrialInfo(config, instance="i1", seed=1, budget=2.0, additional_info={"k": 1})
        back = decoder.decode(encoder.encode(info))
        assert (back.instance, back.seed, back.budget) == ("i1", 1, 2.0)
        assert dict(back.config) == dict(config)
        assert type(back.config) is type(config)


def test_space_travels_once_per_worker() -> None:
    """The space is sent with the first configuration only, and again after a reset (new worker)."""
    encoder = TrialEncoder()
    a, b = _space().sample_configuration(2)
    first, second = encoder.encode(TrialInfo(a)), encoder.encode(TrialInfo(b))
    assert len(second) * 5 < len(first)
    encoder.reset()
    assert len(encoder.encode(TrialInfo(b))) > 5 * len(second)


def test_process_pool_target_gets_a_configuration() -> None:
    """On the process pool the target receives a Configuration with the driver's exact values."""
    configs = _space().sample_configuration(10)
    with ProcessPoolRunner(config_type_and_values, n_workers=2) as runner:
        for config in configs:
            runner.submit_trial(TrialInfo(config))
        results = drain(runner, len(configs))
    for info, value in results:
        assert value.status == StatusType.SUCCESS
        assert value.additional_info == {"type": "Configuration", "values": dict(info.config)}
