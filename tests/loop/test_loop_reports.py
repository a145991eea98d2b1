"""The loop and intermediate reports: each report journaled (compactly) and added to the
trial's learning curve in History, the optimizer's on_report asked, a stop passed on; curves
come back from the journal on resume; ASHA and the median stopping rule stop trials."""

from __future__ import annotations

import json

import pytest

from runner import OptimizationLoop, SerialRunner, SimulatedRunner
from runner.optimizers import ASHA, MedianStopping, RandomSearch
from trials import History, Report, StatusType, TrialInfo


def curve_target(config, budget):  # type: ignore[no-untyped-def]
    """A multi-fidelity learning curve: cost x + 1/step, one second per step."""
    x, n = config["x"], int(budget)
    return x + 1.0 / n, {"runtime": float(n),
                         "curve": [(s, x + 1.0 / s, float(s)) for s in range(1, n + 1)]}


def live_target(config, report):  # type: ignore[no-untyped-def]
    for step in range(1, 11):
        report(step, config["x"] + 1.0 / step)
    return config["x"]


class StopAt:
    """Asks ``n`` trials; stops each at ``step``."""

    def __init__(self, n: int, step: int) -> None:
        self.n, self.step, self.reports, self.told = n, step, [], []

    def ask(self) -> TrialInfo | None:
        if self.n == 0:
            return None
        self.n -= 1
        return TrialInfo({"x": float(self.n)})

    def tell(self, info, value):  # type: ignore[no-untyped-def]
        self.told.append(value)

    def on_report(self, info, report):  # type: ignore[no-untyped-def]
        self.reports.append(report)
        return "stop" if report.step >= self.step else "continue"


def test_reports_are_journaled_curved_and_decided(tmp_path) -> None:
    """Every report reaches on_report, the journal (one compact record) and the trial's
    curve; a stop ends the trial STOPPED at that step with its cost."""
    journal = tmp_path / "j.jsonl"
    opt = StopAt(2, 4)
    with SerialRunner(live_target) as runner:
        loop = OptimizationLoop(opt, runner, journal=str(journal))
        loop.run()
    assert [v.status for v in opt.told] == [StatusType.STOPPED] * 2
    assert [v.additional_info["stopped_at_step"] for v in opt.told] == [4, 4]
    for info, value in loop.history:
        assert [r.step for r in loop.history.curve(info)] == [1, 2, 3, 4]
        assert value.cost == loop.history.curve(info)[-1].cost
    records = [json.loads(line) for line in journal.read_text().splitlines()[1:]]
    reports = [r for r in records if r["type"] == "report"]
    assert len(reports) == 8 and set(reports[0]) == {"type", "trial", "attempt", "step", "cost",
                                                     "t"}
    loaded = History.load(journal)
    assert [[r.step for r in loaded.curve(i)] for i, _ in loaded] == [[1, 2, 3, 4]] * 2


def test_resume_restores_curves_and_asha_rungs(tmp_path) -> None:
    """A resumed study's history holds the finished trials' curves, and ASHA's restore
    rebuilds its rung records from them."""
    journal = str(tmp_path / "j.jsonl")
    space = {"x": (0.0, 1.0)}
    first = ASHA(space, 1, 9, eta=3, seed=3, n_configs=6)
    with SimulatedRunner(curve_target, n_workers=2) as runner:
        OptimizationLoop(first, runner, journal=journal).run()
    second = ASHA(space, 1, 9, eta=3, seed=3, n_configs=6)
    with SimulatedRunner(curve_target, n_workers=2) as runner:
        loop = OptimizationLoop(second, runner, journal=journal)
        loop.run()
    assert len(loop.history) == 6
    assert all(loop.history.curve(info) for info, _ in loop.history)
    assert second._recorded == first._recorded and second.n_stopped == first.n_stopped


def test_asha_stops_the_worse_trials_at_each_rung() -> None:
    """ASHA asks every trial at max_budget and stops a trial at a rung unless it is in the
    best 1/eta of what reached that rung; the best configuration runs to the end."""
    asha = ASHA({"x": (0.0, 1.0)}, 1, 27, eta=3, seed=0, n_configs=40)
    assert asha.rungs == [1.0, 3.0, 9.0]
    with SimulatedRunner(curve_target, n_workers=4) as runner:
        loop = OptimizationLoop(asha, runner)
        loop.run()
    statuses = [v.status for _, v in loop.history]
    assert statuses.count(StatusType.STOPPED) == asha.n_stopped >= 20
    assert all(i.budget == 27 for i, _ in loop.history)
    best = min(i.config["x"] for i, _ in loop.history)
    assert loop.incumbent is not None and loop.incumbent[0].config["x"] == best
    for _, value in loop.history:
        if value.status is StatusType.STOPPED:
            assert value.additional_info["stopped_at_step"] in (1, 3, 9)


def test_asha_checks_its_arguments() -> None:
    """Bad budgets and eta fail at construction, naming the argument."""
    with pytest.raises(ValueError, match="min_budget must be <= max_budget"):
        ASHA({"x": (0.0, 1.0)}, 10, 1)
    with pytest.raises(TypeError, match="eta must be an int"):
        ASHA({"x": (0.0, 1.0)}, 1, 10, eta=2.5)  # type: ignore[arg-type]


def test_median_stopping_wraps_any_optimizer() -> None:
    """The median rule stops a trial whose best cost is worse than the median of the others'
    running means at its step; asks and tells go to the wrapped optimizer."""
    inner = RandomSearch({"x": (0.0, 1.0)}, seed=2, n_trials=30, budget=20)
    rule = MedianStopping(inner, min_step=2, min_trials=3)
    with SimulatedRunner(curve_target, n_workers=3) as runner:
        loop = OptimizationLoop(rule, runner)
        loop.run()
    stopped = [v for _, v in loop.history if v.status is StatusType.STOPPED]
    assert len(stopped) == rule.n_stopped >= 5 and inner.n_told == 30
    assert rule.fingerprint() == inner.fingerprint()
    with pytest.raises(TypeError, match="must have ask"):
        MedianStopping(object())


def test_a_bad_simulated_curve_is_crashed() -> None:
    """A curve whose rows are not (step, cost, runtime) makes the trial CRASHED, saying so."""
    def bad(config):  # type: ignore[no-untyped-def]
        return 1.0, {"runtime": 3.0, "curve": [(1, 0.5, 2.0), (2, 0.4, 1.0)]}

    with SimulatedRunner(bad) as runner:
        _, value = _one(runner)
    assert value.status == StatusType.CRASHED and "must not decrease" in value.additional_info[
        "error"]


def _one(runner):  # type: ignore[no-untyped-def]
    info = TrialInfo({})
    runner.submit_trial(info)
    runner.wait()
    [pair] = list(runner.iter_results())
    return pair


def test_report_record_in_history_needs_a_report() -> None:
    """History.add_report takes a trials.Report and keeps curves per TrialInfo object."""
    history = History()
    info = TrialInfo({"x": 1})
    history.add_report(info, Report(1, 0.5))
    assert history.curve(info) == [Report(1, 0.5)] and history.curve(TrialInfo({"x": 1})) == []
    with pytest.raises(TypeError, match="report must be a trials.Report"):
        history.add_report(info, (1, 0.5))  # type: ignore[arg-type]
