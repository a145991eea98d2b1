"""Resources per trial on dask (issue 30): a real ``dask scheduler`` and two ``dask worker
--resources GPU=2`` processes, 4 device ids in all; each trial gets specific ids within its
worker, never one a concurrent trial holds, and a trial needing more than the largest worker
has is refused at submit."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import dask_helpers as h
import pytest

from runner import DaskRunner
from runner._backends.dask.devices import DaskNeeds, check_fits, largest, tags_of
from runner._core.resources import Need
from trials import StatusType, TrialInfo

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster() -> Iterator[h.ProcessCluster]:
    """A scheduler and two workers of two threads and two GPUs each, stopped by pid."""
    procs = h.ProcessCluster()
    try:
        procs.scheduler()
        for name in ("gpu-a", "gpu-b"):
            procs.worker(name, "--resources", "GPU=2", nthreads=2)
        procs.wait_workers(2)
        yield procs
    finally:
        procs.close()


def _spans(results: list[Any]) -> list[tuple[float, float, int, list[str]]]:
    out = []
    for _, value in results:
        assert value.status == StatusType.SUCCESS, value.additional_info
        extra = value.additional_info
        ids = extra["cuda"].split(",")
        assert extra["rocr"] == extra["cuda"]  # the ROCm equivalent says the same
        assert extra["resources"]["gpu"] == ids  # the assignment is recorded as seen
        out.append((extra["start"], extra["end"], extra["worker_pid"], ids))
    return out


def _overlap(a: tuple[float, float, int, list[str]],
             b: tuple[float, float, int, list[str]]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


@pytest.mark.parametrize("streaming", [True, False], ids=["streaming", "tasks"])
def test_one_gpu_each_never_shared(cluster: h.ProcessCluster, streaming: bool) -> None:
    """{"gpu": 1}: no two concurrent trials saw the same (worker, device id); all 4 used."""
    with DaskRunner(h.devices, client=cluster.address, trial_resources={"gpu": 1},
                    streaming=streaming) as runner:
        assert runner.count_available_workers() == 4
        for i in range(24):
            runner.submit_trial(TrialInfo({"i": i, "sleep": 0.05}))
        spans = _spans(h.drain(runner, 120))
    assert len(spans) == 24
    assert all(len(ids) == 1 for *_, ids in spans)
    for k, a in enumerate(spans):
        for b in spans[k + 1:]:
            if _overlap(a, b) and a[2] == b[2]:
                assert a[3] != b[3], (a, b)
    assert len({(pid, ids[0]) for _, _, pid, ids in spans}) == 4  # every device was used
    assert max(sum(_overlap(a, b) for b in spans) for a in spans) > 1  # they did overlap


def test_two_gpus_each_distinct(cluster: h.ProcessCluster) -> None:
    """{"gpu": 2}: each trial saw two distinct ids, at most one trial per worker at once."""
    with DaskRunner(h.devices, client=cluster.address, trial_resources={"gpu": 2}) as runner:
        assert runner.count_available_workers() == 2
        for i in range(8):
            runner.submit_trial(TrialInfo({"i": i, "sleep": 0.05}))
        spans = _spans(h.drain(runner, 120))
    assert all(len(set(ids)) == 2 for *_, ids in spans)
    for k, a in enumerate(spans):
        assert not any(_overlap(a, b) and a[2] == b[2] for b in spans[k + 1:]), a


def test_mixed_and_fractional_needs(cluster: h.ProcessCluster) -> None:
    """A callable mixing 1- and 2-device trials and half-device trials: every trial ran with
    its own ids, a half share is recorded as such, and threads follow the cores."""
    def need(info: TrialInfo) -> dict[str, float]:
        return {"gpu": [1, 2, 0.5][info.config["i"] % 3]}

    with DaskRunner(h.devices, client=cluster.address, trial_resources=need) as runner:
        for i in range(12):
            runner.submit_trial(TrialInfo({"i": i, "sleep": 0.05}))
        results = h.drain(runner, 120)
    spans = _spans(results)
    by_i = {info.config["i"]: value for info, value in results}
    for i, value in by_i.items():
        record = value.additional_info["resources"]
        assert len(record["gpu"]) == [1, 2, 1][i % 3]
        assert record.get("gpu_share") == (0.5 if i % 3 == 2 else None)
        assert record["worker"] in ("gpu-a", "gpu-b")
    whole = [s for s, (info, _) in zip(spans, results, strict=True)
             if info.config["i"] % 3 != 2]
    for k, a in enumerate(whole):  # whole devices: never two trials on one at once
        for b in whole[k + 1:]:
            if _overlap(a, b) and a[2] == b[2]:
                assert not set(a[3]) & set(b[3]), (a, b)


def test_more_than_the_largest_worker_is_refused_at_submit(cluster: h.ProcessCluster) -> None:
    """5 GPUs of 4 (2 per worker): a ValueError at submit naming both numbers, not a wait."""
    with DaskRunner(h.devices, client=cluster.address, trial_resources={"gpu": 1}) as runner:
        with pytest.raises(ValueError, match=r"needs 5 GPUs but the largest dask worker has "
                                             r"2 GPUs \(GPU=2; 4 in all over 2 workers\)"):
            runner.submit_trial(TrialInfo({"i": 0}, additional_info={"resources": {"gpu": 5}}))
        with pytest.raises(ValueError, match="needs 4 CPUs but none of the 2 dask workers"):
            runner.submit_trial(TrialInfo({"i": 0}, additional_info={"resources": {"cpu": 4}}))
        assert not runner.is_running()
    with pytest.raises(ValueError, match="trial_resources needs 3 GPUs but the largest"):
        DaskRunner(h.devices, client=cluster.address, trial_resources={"gpu": 3})


def test_old_resources_keyword_still_works_with_a_warning(cluster: h.ProcessCluster) -> None:
    """resources={"GPU": 1} (raw dask tags) runs for one more release, with a
    DeprecationWarning pointing to trial_resources."""
    with pytest.warns(DeprecationWarning, match="trial_resources"):
        runner = DaskRunner(h.devices, client=cluster.address, resources={"GPU": 1})
    with runner:
        assert runner.count_available_workers() == 4
        runner.submit_trial(TrialInfo({"i": 0}))
        with pytest.warns(DeprecationWarning, match="raw dask resource tags"), \
                pytest.raises(ValueError, match="none of the 2 dask workers has the resource X"):
            runner.submit_trial(TrialInfo({"i": 1}, additional_info={"resources": {"X": 1}}))
        with pytest.raises(ValueError, match="not both"):
            DaskNeeds({"GPU": 1}, {"gpu": 1})
        value = h.drain(runner, 60)[0][1]
    assert value.status == StatusType.SUCCESS
    assert "resources" not in value.additional_info  # tags only: no ids assigned


def test_tags_and_fit_check_without_a_cluster() -> None:
    """The mapping (cpu->CPU, gpu->GPU, memory MB->MEMORY bytes) and the submit check."""
    assert tags_of(Need(2, 0.5, 100)) == {"CPU": 2.0, "GPU": 0.5, "MEMORY": 100 * 2**20}
    assert tags_of(Need()) is None
    top = largest([{"resources": {"GPU": 4}}, {"resources": {"GPU": 2}}])
    check_fits({"GPU": 4}, top, 2, "x")
    with pytest.raises(ValueError, match="x needs 5 GPUs but the largest dask worker has 4"):
        check_fits({"GPU": 5}, top, 2, "x")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_fits({"GPU": 5}, {}, 0, "x")  # no worker read yet: nothing to say


def test_command_line_options_reach_dask_as_trial_resources() -> None:
    """--trial-gpus/--trial-cpus go to DaskRunner as trial_resources; --gpus is refused."""
    from runner.cli._common import UsageError
    from runner.cli._resources import resource_kwargs

    entry = {"resources": {"resources": None, "trial_resources": {"gpu": 1, "cpu": 2}}}
    for backend in ("dask", "slurm"):
        assert resource_kwargs(entry, backend) == {"trial_resources": {"gpu": 1, "cpu": 2}}
    with pytest.raises(UsageError, match="--gpus does not apply to --backend dask"):
        resource_kwargs({"resources": {"resources": {"gpu": ["0"]}}}, "dask")


def test_runner_resources_are_shared_out_over_its_own_cluster() -> None:
    """DaskRunner(resources={"gpu": [4 ids]}) with no client: its LocalCluster's two workers
    get two of the runner's ids each, as dask resources (GPU=2) and as their devices; a trial
    needing two sees exactly one worker's two ids, and both workers' ids are used."""
    ids = ["3", "5", "7", "9"]
    with DaskRunner(h.devices, n_workers=2, resources={"gpu": ids},
                    trial_resources={"gpu": 2}) as runner:
        for i in range(12):
            runner.submit_trial(TrialInfo({"i": i, "sleep": 0.05}))
        spans = _spans(h.drain(runner, 120))
    assert len(spans) == 12
    assert {tuple(sorted(seen)) for *_, seen in spans} == {("3", "5"), ("7", "9")}


def test_runner_resources_with_a_cluster_of_its_own_say_so(cluster: h.ProcessCluster) -> None:
    """A cluster's workers say what the runner has: resources= in the runner's vocabulary
    with client= is refused at construction, naming what to give instead."""
    with pytest.raises(ValueError, match="resources=.*client=None.*trial_resources"):
        DaskRunner(h.devices, client=cluster.address, resources={"gpu": ["0", "1"]},
                   trial_resources={"gpu": 1})
