"""A subclass that overrides ``run`` is a target on every backend: its state travels, and its
``(status, cost, runtime, additional_info)`` is classified like any return."""

from __future__ import annotations

import pytest

from runner.testing import drain
from trials import StatusType, TrialInfo


def _run(self, config, instance=None, budget=None, seed=None):
    mode = config["mode"]
    if mode == "raise":
        raise KeyError("no such thing")
    if mode == "timeout":
        return StatusType.TIMEOUT, 1.0, 0.5, {"why": "slow"}
    return StatusType.SUCCESS, config["x"] * self.scale, 0.01, {"seed": seed}


async def _arun(self, config, instance=None, budget=None, seed=None):
    return _run(self, config, instance, budget, seed)


def _subclass(make_runner):
    base = make_runner.cls

    def __init__(self, scale, **kwargs):
        self.scale = scale
        base.__init__(self, **kwargs)

    run = _arun if make_runner.backend.async_targets else _run
    return type(f"Scaled{base.__name__}", (base,), {"__init__": __init__, "run": run})


def test_overridden_run_is_the_target(make_any_runner):
    """run's 4-tuple is SUCCESS with its cost; a reported TIMEOUT is TIMEOUT with crash_cost and
    its info; a raise is CRASHED with a traceback; state set before super().__init__ travels."""
    cls = _subclass(make_any_runner)
    runner = make_any_runner.build(cls, scale=3.0, crash_cost=50.0)
    infos = {
        "ok": TrialInfo({"mode": "ok", "x": 2.0}, seed=5),
        "timeout": TrialInfo({"mode": "timeout"}),
        "raise": TrialInfo({"mode": "raise"}),
    }
    for info in infos.values():
        runner.submit_trial(info)
    got = {info.config["mode"]: value for info, value in drain(runner, 3)}
    assert got["ok"].status == StatusType.SUCCESS and got["ok"].cost == 6.0, got["ok"]
    assert got["ok"].additional_info["seed"] == 5
    assert got["timeout"].status == StatusType.TIMEOUT and got["timeout"].cost == 50.0
    assert got["timeout"].additional_info["why"] == "slow"
    assert got["raise"].status == StatusType.CRASHED and got["raise"].cost == 50.0
    assert "KeyError" in got["raise"].additional_info["traceback"]


def test_subclass_without_target_or_run_is_refused(make_runner):
    """A runner built with no target and no run override is a TypeError at construction."""
    with pytest.raises(TypeError, match="needs a target"):
        make_runner.cls(**make_runner.kwargs)
