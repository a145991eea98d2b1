"""Resources per trial (issue 30) under SMAC3: its HPO facade through ``SMACTargetRunner`` on a
ProcessPoolRunner sharing out 4 device ids, one per trial; and SMAC3's model on our loop, whose
journal records each trial's devices. No GPU here: the target reads its ids from the
environment (tests/resource_targets.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("smac")

from ConfigSpace import ConfigurationSpace  # noqa: E402
from resource_targets import what_i_got  # noqa: E402
from smac import HyperparameterOptimizationFacade, Scenario  # noqa: E402

from runner import OptimizationLoop, ProcessPoolRunner  # noqa: E402
from runner.integrations.smac import SMACOptimizer, SMACTargetRunner  # noqa: E402

pytestmark = pytest.mark.integration

GPUS = ["0", "1", "2", "3"]
SPACE = ConfigurationSpace({"x": (-5.0, 5.0)}, seed=0)  # the target sleeps 50 ms per trial


def _scenario(tmp_path: Path, n_trials: int) -> Scenario:
    return Scenario(SPACE, deterministic=True, output_directory=tmp_path / "smac",
                    n_trials=n_trials, seed=1)


def _optimize(tmp_path: Path, n_trials: int, need: dict[str, int], slots: int) -> Any:
    """SMAC3's HPO facade through SMACTargetRunner on a 4-worker pool sharing out ``GPUS``;
    the runner offers SMAC3 ``slots`` free workers at the start."""
    sc = _scenario(tmp_path, n_trials)
    with ProcessPoolRunner(what_i_got, n_workers=4, resources={"gpu": GPUS},
                           trial_resources=need) as ours:
        target = SMACTargetRunner(ours, sc)
        assert target.count_available_workers() == slots
        smac = HyperparameterOptimizationFacade(sc, target, overwrite=True, logging_level=40)
        smac.optimize()
    return smac


def _check_devices(seen: list[dict[str, Any]]) -> None:
    """Each trial saw one device id, the one recorded as its share; no two trials that ran at
    the same time (by their own start and end times) saw the same id."""
    assert all(len(s["devices"]) == 1 and s["devices"][0] in GPUS for s in seen), seen
    assert all(s["resources"]["gpu"] == s["devices"] for s in seen), seen
    overlapping = [(a, b) for i, a in enumerate(seen) for b in seen[i + 1:]
                   if a["t0"] < b["t1"] and b["t0"] < a["t1"]]
    assert overlapping, "no two trials ran at once: the test shows nothing"
    for a, b in overlapping:
        assert a["devices"] != b["devices"], (a, b)


@pytest.mark.slow
def test_smac_facade_on_a_pool_gives_each_trial_its_own_device(tmp_path: Path) -> None:
    """SMAC3's HPO facade, 16 trials through SMACTargetRunner on a 4-worker pool with
    resources={"gpu": 4 ids}, trial_resources={"gpu": 1}: SMAC3 asks only when a device is
    free, every trial sees its own id, and the assignment reaches SMAC3's run history."""
    smac = _optimize(tmp_path, 16, {"gpu": 1}, slots=4)
    assert smac.runhistory.finished == 16
    _check_devices([value.additional_info for value in smac.runhistory.values()])


@pytest.mark.slow
def test_smac_facade_with_two_devices_per_trial(tmp_path: Path) -> None:
    """{"gpu": 2} of 4 on 4 workers: SMACTargetRunner sees 2 free slots, not 4, and SMAC3
    never has more than two trials running, each on two distinct ids."""
    smac = _optimize(tmp_path, 8, {"gpu": 2}, slots=2)
    seen = [value.additional_info for value in smac.runhistory.values()]
    assert len(seen) == 8 and all(len(set(s["devices"])) == 2 for s in seen), seen
    for s in seen:
        at_once = [o for o in seen if o["t0"] <= s["t0"] < o["t1"]]
        assert len(at_once) <= 2
        assert len({d for o in at_once for d in o["devices"]}) == 2 * len(at_once)


@pytest.mark.slow
def test_smac_optimizer_on_our_loop_journals_the_devices(tmp_path: Path) -> None:
    """SMACOptimizer (SMAC3's model) on our loop with the same pool: the journal has each
    trial's device ids in its additional_info["resources"]."""
    sc = _scenario(tmp_path, 12)
    smac = HyperparameterOptimizationFacade(sc, _signature_only, overwrite=True,
                                            logging_level=40)
    journal = tmp_path / "j.jsonl"
    with ProcessPoolRunner(what_i_got, n_workers=4, resources={"gpu": GPUS},
                           trial_resources={"gpu": 1}) as ours:
        loop = OptimizationLoop(SMACOptimizer(smac), ours, journal=journal)
        loop.run()
    assert len(loop.history) == 12
    _check_devices([value.additional_info for _, value in loop.history])
    records = [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]
    journaled = [_find_resources(r) for r in records]
    journaled = [r for r in journaled if r is not None]
    assert len(journaled) == 12 and all(len(r["gpu"]) == 1 for r in journaled), records[:3]


def _signature_only(config: Any, seed: int = 0) -> float:
    """What SMAC3's facade checks for; our loop runs ``what_i_got`` on the pool instead."""
    raise AssertionError("SMACOptimizer asks and tells; the facade never runs its target")


def _find_resources(record: Any) -> Any:
    """The ``resources`` entry of a trial's additional_info anywhere in a journal record."""
    if isinstance(record, dict):
        info = record.get("additional_info")
        if isinstance(info, dict) and isinstance(info.get("resources"), dict):
            return info["resources"]
        for value in record.values():
            found = _find_resources(value)
            if found is not None:
                return found
    elif isinstance(record, list):
        for value in record:
            found = _find_resources(value)
            if found is not None:
                return found
    return None


def _modelled(config: Any, seed: int = 0) -> tuple[float, dict[str, float]]:
    """A quadratic whose trial takes 1 to 6 virtual seconds, by its x."""
    return config["x"] ** 2, {"runtime": 1.0 + abs(config["x"])}


@pytest.mark.slow
def test_smac_facade_on_the_simulated_runner_books_virtual_devices(tmp_path: Path) -> None:
    """SMAC3's facade through SMACTargetRunner on SimulatedRunner with 4 virtual devices and 4
    workers, {"gpu": 1}: every trial's device is recorded, and no two trials that overlap in
    simulated time hold the same one."""
    from runner import SimulatedRunner

    sc = _scenario(tmp_path, 20)
    with SimulatedRunner(_modelled, n_workers=4, resources={"gpu": GPUS},
                         trial_resources={"gpu": 1}) as ours:
        smac = HyperparameterOptimizationFacade(sc, SMACTargetRunner(ours, sc), overwrite=True,
                                                logging_level=40)
        smac.optimize()
    values = list(smac.runhistory.values())
    assert len(values) == 20
    spans = [(v.starttime, v.endtime, v.additional_info["resources"]["gpu"]) for v in values]
    assert all(len(g) == 1 and g[0] in GPUS for _, _, g in spans)
    overlapping = [(a, b) for i, a in enumerate(spans) for b in spans[i + 1:]
                   if a[0] < b[1] and b[0] < a[1]]
    assert overlapping and all(a[2] != b[2] for a, b in overlapping), spans
