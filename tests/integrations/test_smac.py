"""SMAC3 both ways, with the real SMAC3: SMAC3's own runner tests (ported from
``tests/test_runner/test_dask_runner.py`` and ``test_target_algorithm_runner.py`` of automl/SMAC3)
against ``SMACTargetRunner`` around our serial, process-pool and dask runners; SMAC3's HPO facade
optimizing through it; and ``SMACOptimizer`` on our loop."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest.importorskip("smac")

from ConfigSpace import Configuration, ConfigurationSpace  # noqa: E402
from smac import HyperparameterOptimizationFacade, MultiFidelityFacade, Scenario  # noqa: E402
from smac.runhistory import StatusType as SMACStatus  # noqa: E402
from smac.runhistory import TrialInfo as SMACTrialInfo  # noqa: E402
from smac.runhistory import TrialValue as SMACTrialValue  # noqa: E402

from runner import DaskRunner, OptimizationLoop, ProcessPoolRunner, SerialRunner  # noqa: E402
from runner.errors import RunnerError  # noqa: E402
from runner.integrations._smac_costs import FailureCosts  # noqa: E402
from runner.integrations.smac import SMACOptimizer, SMACTargetRunner  # noqa: E402
from trials import StatusType, TrialValue  # noqa: E402

from .smac_targets import (  # noqa: E402 - light: worker processes import it, not SMAC3
    budgeted,
    crashes_on_a_fifth,
    quadratic,
    target,
    target_delayed,
    target_failed,
    two_objectives,
)

pytestmark = pytest.mark.integration

SEED = 23

SPACE = ConfigurationSpace({"x": (-5.0, 5.0)}, seed=0)
SPACE2 = ConfigurationSpace({"x": (-5.0, 5.0), "y": (-5.0, 5.0)}, seed=0)


def scenario(tmp_path: Any, space: ConfigurationSpace = SPACE, **kwargs: Any) -> Scenario:
    return Scenario(space, deterministic=True, output_directory=tmp_path / "smac", **kwargs)


def trial(x: float) -> SMACTrialInfo:
    return SMACTrialInfo(config=Configuration(SPACE, values={"x": x}), instance="test", seed=0)


BACKENDS = ["serial", "process", pytest.param("dask", marks=pytest.mark.slow)]


@pytest.fixture(params=BACKENDS)
def make_smac_runner(request: pytest.FixtureRequest, tmp_path: Any
                     ) -> Iterator[Callable[..., SMACTargetRunner]]:
    """``make(target, smac_scenario=None, **runner_kwargs)``: a SMACTargetRunner around one of our backends with two
    workers (serial: one), closed after the test."""
    made: list[SMACTargetRunner] = []

    def make(fn: Callable[..., Any], smac_scenario: Scenario | None = None,
             **kwargs: Any) -> SMACTargetRunner:
        if request.param == "serial":
            ours: Any = SerialRunner(fn, **kwargs)
        elif request.param == "process":
            ours = ProcessPoolRunner(fn, n_workers=2, **kwargs)
        else:
            ours = DaskRunner(fn, client=request.getfixturevalue("dask_client"), **kwargs)
        runner = SMACTargetRunner(ours, smac_scenario or scenario(tmp_path))
        made.append(runner)
        return runner

    make.backend = request.param  # type: ignore[attr-defined]
    yield make
    for runner in made:
        runner.close()


def test_run(make_smac_runner) -> None:
    """SMAC3 test_run: submit, wait, then the result is SMAC3's own TrialInfo and a TrialValue
    with cost 4 and SUCCESS, the target's info dict passed through."""
    runner = make_smac_runner(target)
    info = trial(2.0)
    runner.submit_trial(info)
    if make_smac_runner.backend != "serial":
        assert next(runner.iter_results(), None) is None  # not finished so fast
    runner.wait()
    got_info, value = next(runner.iter_results())
    assert got_info is info
    assert isinstance(value, SMACTrialValue)
    assert value.cost == 4.0 and value.status == SMACStatus.SUCCESS
    assert value.additional_info == {"key": 0, "instance": "test"}
    assert value.starttime <= value.endtime and value.time >= 0.0
    assert not runner.is_running()


@pytest.mark.parametrize("make_smac_runner", [b for b in BACKENDS if b != "serial"],
                         indirect=True)  # serial: one worker, nothing runs in parallel
def test_parallel_runs(make_smac_runner) -> None:
    """SMAC3 test_parallel_runs: two workers go 2 -> 1 -> 0, then back to 2 as results are
    collected; the two trials overlap in time."""
    runner = make_smac_runner(target_delayed)
    assert runner.count_available_workers() == 2
    runner.submit_trial(trial(2.0))
    assert runner.count_available_workers() == 1
    runner.submit_trial(trial(3.0))
    assert runner.count_available_workers() == 0
    runner.wait()
    first = next(runner.iter_results(), None)
    assert first is not None
    assert runner.count_available_workers() >= 1
    runner.wait()
    second = next(runner.iter_results(), None)
    assert second is not None
    assert runner.count_available_workers() == 2
    assert int(first[1].starttime) <= int(second[1].endtime)


def test_additional_info_crash_msg(make_smac_runner, tmp_path) -> None:
    """SMAC3 test_additional_info_crash_msg: a crash's traceback is in additional_info (with a
    finite crash_cost: with SMAC3's default inf, a failure before any success is held back)."""
    runner = make_smac_runner(target_failed, scenario(tmp_path, crash_cost=100.0))
    runner.submit_trial(trial(2.0))
    runner.wait()
    _, value = next(runner.iter_results())
    assert (value.status, value.cost) == (SMACStatus.CRASHED, 100.0)
    assert "traceback" in value.additional_info
    assert "RuntimeError" in value.additional_info["traceback"]


def test_call(make_smac_runner) -> None:
    """SMAC3 test_call: run() returns SMAC3 2.4's (status, cost, runtime, cpu_time, info)."""
    runner = make_smac_runner(target)
    status, cost, runtime, cpu_time, info = runner.run(Configuration(SPACE, values={"x": 3.0}),
                                                       instance="i", seed=SEED)
    assert status == SMACStatus.SUCCESS and isinstance(status, SMACStatus)
    assert cost == 9.0 and info == {"key": SEED, "instance": "i"}
    assert runtime >= 0.0 and cpu_time >= 0.0


def test_serial_runs_in_order(tmp_path) -> None:
    """SMAC3 test_serial_runs: on the serial runner trials run one after the other."""
    runner = SMACTargetRunner(SerialRunner(target_delayed), scenario(tmp_path))
    runner.submit_trial(trial(2.0))
    runner.submit_trial(trial(3.0))
    runner.wait()
    first, second = (v for _, v in runner.iter_results())
    assert first.endtime <= second.starttime
    assert first.time >= first.cpu_time


def test_multi_objective_in_scenario_order(tmp_path) -> None:
    """SMAC3 test_multi_objective: a cost list in the scenario's objective order, whatever the
    runner's order."""
    sc = scenario(tmp_path, objectives=["a", "b"])
    with SMACTargetRunner(SerialRunner(two_objectives, objectives=["b", "a"]), sc) as runner:
        runner.submit_trial(trial(1.0))
        [(_, value)] = list(runner.iter_results())
        assert value.cost == [1.0, 2.0]
        assert runner.run(Configuration(SPACE, values={"x": 1.0}))[1] == [1.0, 2.0]


def test_submit_blocks_until_a_worker_is_free(tmp_path) -> None:
    """submit_trial waits while no worker is free, so SMAC3 asks when one can take the trial;
    the finished trial's result is kept for iter_results."""
    runner = SMACTargetRunner(ProcessPoolRunner(target_delayed, n_workers=1), scenario(tmp_path))
    with runner:
        runner.submit_trial(trial(2.0))
        t0 = time.monotonic()
        runner.submit_trial(trial(3.0))
        assert time.monotonic() - t0 > 0.2, "the second submit did not wait for the worker"
        assert [v.cost for _, v in runner.iter_results()] == [4.0]
        runner.wait()
        assert [v.cost for _, v in runner.iter_results()] == [9.0]


def test_construction_errors(tmp_path) -> None:
    """n_workers > 1, a scenario limit the runner lacks, objectives that do not match, a
    non-runner and data_to_scatter are refused with messages that say what to do."""
    ours = SerialRunner(target)
    with pytest.raises(ValueError, match=r"scenario.n_workers=2.*ProcessPoolRunner\(f, n_workers=2\)"):
        SMACTargetRunner(ours, scenario(tmp_path, n_workers=2))
    with pytest.raises(ValueError, match=r"trial_walltime_limit=5.*walltime_limit=5"):
        SMACTargetRunner(ours, scenario(tmp_path, trial_walltime_limit=5))
    with pytest.raises(ValueError, match=r"objectives=\['a', 'b'\]"):
        SMACTargetRunner(ours, scenario(tmp_path, objectives=["a", "b"]))
    with pytest.raises(TypeError, match="runner must be one of trialrunner's runners"):
        SMACTargetRunner(target, scenario(tmp_path))
    runner = SMACTargetRunner(SerialRunner(target, walltime_limit=5),
                              scenario(tmp_path, trial_walltime_limit=5))
    with pytest.raises(ValueError, match="shared_data"):
        runner.submit_trial(trial(1.0), data_to_scatter={"x": 1})
    runner.close()


def test_no_worker_timeout(tmp_path) -> None:
    """A runner with no worker and nothing running makes submit_trial raise after the timeout,
    naming the runner, instead of blocking forever."""

    class NoWorkers(SerialRunner):
        def count_available_workers(self) -> int:
            return 0

    runner = SMACTargetRunner(NoWorkers(target), scenario(tmp_path), no_worker_timeout=0.3)
    with pytest.raises(RunnerError, match="NoWorkers had no free worker for 0.3 s"):
        runner.submit_trial(trial(1.0))


def _hpo(tmp_path: Any, runner: Any, n_trials: int = 24) -> tuple[Any, Any]:
    sc = scenario(tmp_path, space=SPACE2, n_trials=n_trials, seed=1)
    smac = HyperparameterOptimizationFacade(sc, SMACTargetRunner(runner, sc), overwrite=True,
                                            logging_level=40)
    return smac, smac.optimize()


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["process", "dask"])
def test_hpo_facade_reaches_the_optimum(backend: str, tmp_path, request) -> None:
    """SMAC3's HPO facade, 24 trials of a 2-D quadratic through SMACTargetRunner on the process
    pool and on dask: every trial is in SMAC3's run history and the incumbent is its best."""
    ours = (ProcessPoolRunner(quadratic, n_workers=2) if backend == "process"
            else DaskRunner(quadratic, client=request.getfixturevalue("dask_client")))
    with ours:
        smac, incumbent = _hpo(tmp_path, ours)
    assert smac.runhistory.finished == 24
    # SMAC3's proposals depend on which of two workers finishes first, so the incumbent's cost
    # varies from run to run (CI once drew 1.1 where this machine draws < 0.5): it must be the
    # best SMAC3 saw, and far below a random configuration's (about 22 on average here).
    costs = [value.cost for value in smac.runhistory.values()]
    assert quadratic(incumbent) == min(costs) < 5.0, dict(incumbent)


@pytest.mark.slow
def test_smac_optimizer_on_our_loop(tmp_path) -> None:
    """SMACOptimizer: SMAC3's model on our loop for the scenario's 24 trials, with a journal;
    SMAC3's run history holds what the loop's history holds."""
    sc = scenario(tmp_path, space=SPACE2, n_trials=24, seed=1)
    smac = HyperparameterOptimizationFacade(sc, quadratic, overwrite=True, logging_level=40)
    with ProcessPoolRunner(quadratic, n_workers=2) as ours:
        loop = OptimizationLoop(SMACOptimizer(smac), ours, journal=tmp_path / "j.jsonl")
        loop.run()
    assert len(loop.history) == 24 == smac.runhistory.finished
    # Which configurations SMAC3 proposes depends on the order two workers finish in, so the
    # incumbent's cost is not fixed; what is fixed is that it is the best the history holds.
    assert loop.incumbent is not None
    assert loop.incumbent[1].cost == min(value.cost for _, value in loop.history)
    assert dict(smac.intensifier.get_incumbent()) == dict(loop.incumbent[0].config)


def test_smac_optimizer_passes_budgets_through(tmp_path) -> None:
    """Budgets chosen by SMAC3's multi-fidelity facade reach the target and come back."""
    sc = scenario(tmp_path, space=SPACE2, n_trials=12, seed=1, min_budget=1, max_budget=9)
    smac = MultiFidelityFacade(sc, budgeted, overwrite=True, logging_level=40)
    loop = OptimizationLoop(SMACOptimizer(smac), SerialRunner(budgeted))
    loop.run()
    budgets = {info.budget for info, _ in loop.history}
    assert len(loop.history) == 12 and len(budgets) > 1 and budgets <= {1.0, 3.0, 9.0}
    assert all(v.cost >= 1.0 / i.budget for i, v in loop.history)


@pytest.mark.slow
def test_multi_fidelity_facade_through_the_runner(tmp_path) -> None:
    """SMAC3's multi-fidelity facade (successive halving) through SMACTargetRunner: every trial
    finishes and SMAC3's budgets reach the target."""
    sc = scenario(tmp_path, space=SPACE2, n_trials=20, seed=1, min_budget=1, max_budget=9)
    with ProcessPoolRunner(budgeted, n_workers=2) as ours:
        smac = MultiFidelityFacade(sc, SMACTargetRunner(ours, sc), overwrite=True,
                                   logging_level=40)
        smac.optimize()
    assert smac.runhistory.finished == 20
    assert {key.budget for key in smac.runhistory} == {1.0, 3.0, 9.0}


@pytest.mark.slow
def test_a_study_with_crashes_runs_to_its_end_through_the_target_runner(tmp_path) -> None:
    """SMAC3's HPO facade with its default crash_cost=inf through SMACTargetRunner, on a target
    that raises on a fifth of the space: all trials finish (SMAC3's random forest would see NaN
    and end the study at its first failure), the failures CRASHED with a finite cost above
    every success."""
    with SerialRunner(crashes_on_a_fifth) as ours:
        smac, incumbent = _hpo(tmp_path, ours, n_trials=20)
    values = list(smac.runhistory.values())
    crashed = [v.cost for v in values if v.status == SMACStatus.CRASHED]
    succeeded = [v.cost for v in values if v.status == SMACStatus.SUCCESS]
    assert smac.runhistory.finished == 20 and crashed and succeeded
    assert all(c > max(succeeded) and c < float("inf") for c in crashed)
    assert dict(incumbent)["x"] <= 3.0


@pytest.mark.slow
def test_a_study_with_crashes_runs_to_its_end_on_our_loop(tmp_path) -> None:
    """SMACOptimizer on our loop, same target: the loop finishes all 20 trials, our history
    keeps CRASHED with the runner's crash cost, SMAC3 was told a finite one."""
    sc = scenario(tmp_path, space=SPACE2, n_trials=20, seed=1)
    smac = HyperparameterOptimizationFacade(sc, crashes_on_a_fifth, overwrite=True,
                                            logging_level=40)
    loop = OptimizationLoop(SMACOptimizer(smac), SerialRunner(crashes_on_a_fifth),
                            raise_if_retries_exceeded=False)
    loop.run()
    assert loop.status() == "finished" and len(loop.history) == 20 == smac.runhistory.finished
    ours = [v.cost for _, v in loop.history if v.status == StatusType.CRASHED]
    theirs = [v.cost for v in smac.runhistory.values() if v.status == SMACStatus.CRASHED]
    assert ours and ours == [float("inf")] * len(ours)
    assert len(theirs) == len(ours) and all(c < float("inf") for c in theirs)


def test_failure_costs_use_the_scenario_crash_cost_or_derive_one() -> None:
    """A finite scenario crash_cost is used as is; otherwise a failure costs the worst cost
    seen plus the spread; a failure before any cost was seen is held and told after it."""
    crashed = TrialValue(float("inf"), status=StatusType.CRASHED)
    fixed: FailureCosts[str] = FailureCosts(7.0, None)
    assert [(k, v.cost, v.status) for k, v in fixed.convert("a", crashed)] == \
        [("a", 7.0, SMACStatus.CRASHED)]
    derived: FailureCosts[str] = FailureCosts(float("inf"), None)
    assert derived.convert("a", crashed) == []
    told = derived.convert("b", TrialValue(2.0))
    assert [(k, v.cost) for k, v in told] == [("b", 2.0), ("a", 4.0)]  # 2 + |2|
    derived.convert("c", TrialValue(5.0))
    timeout = TrialValue(float("inf"), status=StatusType.TIMEOUT)
    [(_, value)] = derived.convert("d", timeout)
    assert (value.cost, value.status) == (8.0, SMACStatus.TIMEOUT)  # 5 + (5 - 2)
    two: FailureCosts[str] = FailureCosts([float("inf"), 3.0], [1, 0])
    two.convert("a", TrialValue((1.0, 10.0)))
    [(_, value)] = two.convert("b", TrialValue((float("inf"),) * 2, status=StatusType.CRASHED))
    assert value.cost == [20.0, 3.0]  # SMAC3's order: b's objective first


def test_a_runner_class_is_refused(tmp_path) -> None:
    """SMACTargetRunner(ProcessPoolRunner, ...) (the class): a TypeError naming runner."""
    with pytest.raises(TypeError, match="runner must be an instance, got the class "
                                        "ProcessPoolRunner itself"):
        SMACTargetRunner(ProcessPoolRunner, scenario(tmp_path))
