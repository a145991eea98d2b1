"""The resource allocator on its own: parsing, allocation of specific ids, refusal, no
processes."""

from __future__ import annotations

import pytest

from runner._core.resources import (
    Allocator,
    Capacity,
    Need,
    TrialNeeds,
    parse_capacity,
    parse_need,
)
from trials import TrialInfo


def _alloc(cpu: int = 4, gpus: int = 4, memory: float | None = 1000.0) -> Allocator:
    return Allocator(Capacity(tuple(range(cpu)), tuple(str(i) for i in range(gpus)), memory))


def test_capacity_takes_counts_ids_and_defaults() -> None:
    """Cores as a count or ids, devices as ids (or a comma list), memory in MB."""
    cap = parse_capacity({"cpu": 3, "gpu": ["0", "1"], "memory": 64000})
    assert cap == Capacity((0, 1, 2), ("0", "1"), 64000.0)
    assert parse_capacity({"cpu": [5, 7], "gpu": "2,3"}).cpus == (5, 7)
    assert parse_capacity({"gpu": "2,3"}).gpus == ("2", "3")
    assert parse_capacity(None).cpus  # this machine's cores


@pytest.mark.parametrize(("value", "error", "match"), [
    ({"cpu": 1.5}, ValueError, r"resources\['cpu'\] must be a whole number"),
    ({"gpu": {"a": 1}}, TypeError, r"resources\['gpu'\] must be a list of device ids"),
    ({"disk": 1}, ValueError, r"resources has unknown key\(s\) \['disk'\]"),
    ({"memory": -1}, ValueError, r"resources\['memory'\] \(MB\) must be a finite number"),
    ([1, 2], TypeError, r"resources must be a dict"),
])
def test_bad_capacity_names_the_parameter(value: object, error: type, match: str) -> None:
    """A bad resources= fails with the parameter, the expectation and the value."""
    with pytest.raises(error, match=match):
        parse_capacity(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(("value", "match"), [
    ({"gpu": 1.5}, r"trial_resources\['gpu'\] must be a whole number of devices, or a fraction"),
    ({"cpu": 0.5}, r"trial_resources\['cpu'\] must be a whole number of cores"),
    ({"gpus": 1}, r"unknown key"),
])
def test_bad_need_names_the_parameter(value: dict[str, float], match: str) -> None:
    """A bad trial_resources= fails naming it."""
    with pytest.raises(ValueError, match=match):
        TrialNeeds(value)


def test_need_comes_from_additional_info_then_callable_then_dict() -> None:
    """The optimizer's additional_info['resources'] wins over the runner's trial_resources."""
    needs = TrialNeeds(lambda info: {"gpu": 3 if info.seed == 1 else 1})
    assert needs.of(TrialInfo({}, seed=1)) == Need(0, 3.0, 0.0)
    assert needs.of(TrialInfo({}, seed=2)) == Need(0, 1.0, 0.0)
    tagged = TrialInfo({}, seed=1, additional_info={"resources": {"GPU": 2}})
    assert needs.of(tagged) == Need(0, 2.0, 0.0)
    assert TrialNeeds({"cpu": 2}).of(TrialInfo({})) == Need(2, 0.0, 0.0)


def test_whole_devices_are_exclusive_and_come_back() -> None:
    """Each trial gets its own device ids until it frees them."""
    alloc = _alloc()
    a = alloc.allocate(Need(gpu=1))
    b = alloc.allocate(Need(gpu=3))
    assert a is not None and b is not None
    assert set(a.gpus).isdisjoint(b.gpus) and len(b.gpus) == 3
    assert alloc.allocate(Need(gpu=1)) is None
    alloc.free(b)
    c = alloc.allocate(Need(gpu=2))
    assert c is not None and set(c.gpus).isdisjoint(a.gpus)


def test_fractional_devices_share_one() -> None:
    """Two trials of 0.5 GPU share one device; a whole-device trial does not take it."""
    alloc = _alloc(gpus=2)
    a, b = alloc.allocate(Need(gpu=0.5)), alloc.allocate(Need(gpu=0.5))
    assert a is not None and b is not None and a.gpus == b.gpus and a.gpu_share == 0.5
    whole = alloc.allocate(Need(gpu=1))
    assert whole is not None and whole.gpus != a.gpus
    assert alloc.allocate(Need(gpu=0.5)) is None
    alloc.free(a)
    assert alloc.count_fitting(Need(gpu=0.5)) == 1


def test_cores_and_memory_are_counted() -> None:
    """Specific core ids, memory in MB; count_fitting says how many more fit."""
    alloc = _alloc(cpu=2, memory=1000)
    assert alloc.count_fitting(Need(cpu=1, memory=300)) == 2
    a = alloc.allocate(Need(cpu=1, memory=600))
    assert a is not None and a.cpus == (0,)
    assert alloc.allocate(Need(cpu=1, memory=600)) is None
    b = alloc.allocate(Need(cpu=1, memory=400))
    assert b is not None and b.cpus == (1,)
    assert a.environment()["OMP_NUM_THREADS"] == "1"


def test_assignment_environment_and_record() -> None:
    """Device ids go to the CUDA, ROCm and oneAPI variables; the record is JSON-safe."""
    alloc = _alloc()
    got = alloc.allocate(Need(cpu=2, gpu=2))
    assert got is not None
    env = got.environment()
    assert env["CUDA_VISIBLE_DEVICES"] == env["HIP_VISIBLE_DEVICES"] == "0,1"
    assert env["ZE_AFFINITY_MASK"] == env["ROCR_VISIBLE_DEVICES"] == "0,1"
    assert env["MKL_NUM_THREADS"] == "2"
    assert got.as_dict() == {"cpu": [0, 1], "gpu": ["0", "1"]}


def test_a_need_beyond_the_runner_names_both_numbers() -> None:
    """5 GPUs of 4: refused, naming both numbers."""
    alloc = _alloc()
    with pytest.raises(ValueError, match=r"trial 7 needs 5 GPUs but the runner has 4"):
        alloc.check(parse_need({"gpu": 5}, "trial_resources"), "trial 7")
    with pytest.raises(ValueError, match=r"needs 8 CPU cores but the runner has 4"):
        alloc.check(Need(cpu=8), "trial 7")
    with pytest.raises(ValueError, match=r"needs 2000 MB of memory but the runner has 1000 MB"):
        alloc.check(Need(memory=2000), "trial 7")
