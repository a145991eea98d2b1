"""Optimizers that continue trials from their checkpoints (issue 19 part 2): successive halving
and Hyperband with ``continuation=True``, ASHA of the promotion type, ``drop_checkpoints()``,
and the learning-curve problems' ``checkpoint``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from runner import OptimizationLoop, SerialRunner, SimulatedRunner
from runner.optimizers import ASHA, Hyperband, SuccessiveHalving
from runner.problems import get
from trials import History, Report, StatusType, TrialInfo, TrialValue

SPACE = {"x": (0.0, 1.0)}


def x_cost(info: TrialInfo) -> float:
    """The cost of a trial: its ``x`` (the same at every budget, so the ranks are known)."""
    return float(info.config["x"])


class HandLoop:
    """Drives ask/tell by hand as the loop does with checkpoints: a trial gets a directory of
    its own at submit, a continuation the directory it continues; after each tell the optimizer
    is asked which checkpoints to drop."""

    def __init__(self, optimizer: Any) -> None:
        self.optimizer = optimizer
        self.submitted = 0
        self.pending: list[TrialInfo] = []
        self.told: list[tuple[TrialInfo, TrialValue]] = []
        self.dropped: list[str] = []

    def submit(self, info: TrialInfo) -> TrialInfo:
        path = info.additional_info.get("continues") or f"ckpt/trial-{self.submitted:06d}"
        assert path not in self.dropped, f"{info} continues a dropped checkpoint"
        self.submitted += 1
        info = TrialInfo(info.config, instance=info.instance, seed=info.seed, budget=info.budget,
                         additional_info={**info.additional_info, "checkpoint_dir": path})
        self.pending.append(info)
        return info

    def ask_all(self) -> list[TrialInfo]:
        """Everything the optimizer proposes now, submitted."""
        asked = []
        while (info := self.optimizer.ask()) is not None:
            asked.append(self.submit(info))
        return asked

    def tell(self, info: TrialInfo, cost: float | None = None) -> None:
        self.pending.remove(info)
        value = TrialValue(cost=x_cost(info) if cost is None else cost)
        self.optimizer.tell(info, value)
        self.told.append((info, value))
        self.dropped += [i.additional_info["checkpoint_dir"]
                         for i in self.optimizer.drop_checkpoints()]

    def run(self, n_tells: int | None = None) -> None:
        """Ask, then tell the oldest pending trial, until exhausted (or ``n_tells`` tells)."""
        while n_tells is None or n_tells > 0:
            self.ask_all()
            if not self.pending:
                return
            self.tell(self.pending[0])
            n_tells = None if n_tells is None else n_tells - 1


def labels(info: TrialInfo) -> tuple[int, int, int]:
    extra = info.additional_info
    return extra["bracket"], extra["rung"], extra["slot"]


def test_promoted_configurations_continue_their_previous_rung_trial():
    """With continuation a promoted configuration is asked as a continuation of its previous
    rung's trial (its checkpoint dir in "continues"), labelled and budgeted for the new rung."""
    hand = HandLoop(SuccessiveHalving(SPACE, min_budget=1, max_budget=9, eta=3, seed=0,
                                      continuation=True))
    rung0 = hand.ask_all()
    assert [labels(i) for i in rung0] == [(0, 0, j) for j in range(9)]
    assert not any("continues" in i.additional_info for i in rung0)
    for info in list(rung0):
        hand.tell(info)
    rung1 = hand.ask_all()
    best = sorted(rung0, key=x_cost)[:3]
    assert [i.config for i in rung1] == [i.config for i in best]
    assert [i.additional_info["continues"] for i in rung1] == \
        [i.additional_info["checkpoint_dir"] for i in best]
    assert [labels(i) for i in rung1] == [(0, 1, j) for j in range(3)]
    assert {i.budget for i in rung1} == {3.0}
    for info in list(rung1):
        hand.tell(info)
    [final] = hand.ask_all()
    assert labels(final) == (0, 2, 0) and final.budget == 9.0
    assert final.additional_info["continues"] == best[0].additional_info["checkpoint_dir"]


def test_without_continuation_promotions_start_afresh_and_every_trial_is_dropped_when_told():
    """continuation=False (the default): no "continues", and each told trial's checkpoint is
    listed at once, since nothing will continue it."""
    hand = HandLoop(SuccessiveHalving(SPACE, min_budget=1, max_budget=9, eta=3, seed=0))
    hand.run()
    assert len(hand.told) == 13
    assert not any("continues" in i.additional_info for i, _ in hand.told)
    assert hand.dropped == [i.additional_info["checkpoint_dir"] for i, _ in hand.told]


@pytest.mark.parametrize("make", [
    lambda: SuccessiveHalving(SPACE, min_budget=1, max_budget=27, eta=3, seed=1,
                              continuation=True),
    lambda: Hyperband(SPACE, min_budget=1, max_budget=27, eta=3, seed=1, n_iterations=2,
                      continuation=True),
], ids=["successive-halving", "hyperband"])
def test_each_checkpoint_is_dropped_once_when_its_configuration_is_out(make):
    """Every checkpoint directory is listed exactly once: when its rung is decided without it,
    or when its bracket ends; never while a continuation of it may still be asked."""
    opt = make()
    hand = HandLoop(opt)
    hand.run()
    dirs = {i.additional_info["checkpoint_dir"] for i, _ in hand.told}
    assert sorted(hand.dropped) == sorted(dirs)  # each once (HandLoop: none continued after)
    assert hand.submitted == sum(n for plan in opt.brackets for n, _ in plan) * \
        (2 if isinstance(opt, Hyperband) else 1)


def test_a_decided_rung_drops_exactly_its_unpromoted_configurations():
    """Once rung 0 of a 9-configuration bracket is decided, its 6 unpromoted trials are listed,
    and a second call lists nothing more."""
    opt = SuccessiveHalving(SPACE, min_budget=1, max_budget=9, eta=3, seed=2, continuation=True)
    hand = HandLoop(opt)
    rung0 = hand.ask_all()
    for info in rung0[:-1]:
        hand.tell(info)
    assert hand.dropped == []  # undecided until the last result
    hand.tell(rung0[-1])
    worst = sorted(rung0, key=x_cost)[3:]
    assert sorted(hand.dropped) == sorted(i.additional_info["checkpoint_dir"] for i in worst)
    assert opt.drop_checkpoints() == []


@pytest.mark.parametrize("n_tells", [5, 9, 12, 30, 40])
def test_restore_from_a_history_gives_the_same_next_asks(n_tells):
    """A fresh optimizer restored from the told trials (and shown the pending ones) asks the same
    continuations, with the same labels and the same "continues", as the one it replaces."""
    def make() -> Hyperband:
        return Hyperband(SPACE, min_budget=1, max_budget=27, eta=3, seed=3, continuation=True)

    assert_resumes_alike(make, n_tells)


def assert_resumes_alike(make: Any, n_tells: int) -> None:
    """Runs ``make()`` for ``n_tells`` tells, restores a second ``make()`` from what was told
    and pending, and checks both then ask the same trials to the end."""
    first = HandLoop(make())
    first.run(n_tells)
    history = History()
    for info, value in first.told:
        history.append(info, value)
    second = make()
    second.restore(history)
    for info in first.pending:
        second.restore_pending(info)
    resumed = HandLoop(second)
    resumed.submitted, resumed.pending = first.submitted, list(first.pending)
    while first.pending:
        a, b = first.ask_all(), resumed.ask_all()
        assert [(i.config, i.budget, i.additional_info) for i in a] == \
            [(i.config, i.budget, i.additional_info) for i in b]
        first.tell(first.pending[0])
        resumed.tell(resumed.pending[0])
    assert resumed.told and first.told[-len(resumed.told):] == resumed.told


def test_continuation_must_be_a_bool():
    """A non-bool continuation is refused, naming the parameter."""
    with pytest.raises(TypeError, match="continuation must be True or False, got 'yes'"):
        Hyperband(SPACE, min_budget=1, max_budget=9, continuation="yes")


# -- ASHA, promotion type ----------------------------------------------------------------------


def promotion(n_trials: int | None = None, max_budget: float = 9, seed: int = 0) -> ASHA:
    return ASHA(SPACE, 1, max_budget, eta=3, seed=seed, n_configs=n_trials, mode="promotion")


def test_asha_mode_is_validated_naming_the_parameter():
    """mode is "stopping" or "promotion"; anything else is refused at construction."""
    with pytest.raises(ValueError, match="mode must be 'stopping' or 'promotion', got 'pause'"):
        ASHA(SPACE, 1, 9, mode="pause")


def test_asha_promotion_promotes_the_top_third_of_a_rung_once_each():
    """New configurations start at min_budget; once rung 0 holds 3 results its best is asked
    as a continuation at the next rung budget, once; then new configurations again."""
    hand = HandLoop(promotion())
    first = [hand.submit(hand.optimizer.ask()) for _ in range(3)]
    assert [i.budget for i in first] == [1.0] * 3
    assert [i.additional_info["asha_rung"] for i in first] == [0, 0, 0]
    for info, cost in zip(first, (0.5, 0.2, 0.9), strict=True):
        hand.tell(info, cost)
    promoted = hand.submit(hand.optimizer.ask())
    assert promoted.config == first[1].config and promoted.budget == 3.0
    assert promoted.additional_info["asha_rung"] == 1
    assert promoted.additional_info["asha_index"] == first[1].additional_info["asha_index"]
    assert promoted.additional_info["continues"] == first[1].additional_info["checkpoint_dir"]
    fresh = hand.optimizer.ask()
    assert fresh.budget == 1.0 and fresh.additional_info["asha_index"] == 3
    assert "continues" not in fresh.additional_info


def test_asha_promotion_looks_at_the_top_rung_first():
    """With a promotable configuration at rung 1 and another at rung 0, rung 1's goes first."""
    opt = promotion(max_budget=27)
    hand = HandLoop(opt)
    rung0 = [hand.submit(opt.ask()) for _ in range(12)]
    for j, info in enumerate(rung0[:9]):  # costs 0.0 .. 0.8: indices 0, 1, 2 the top third
        hand.tell(info, j / 10)
    rung1 = [hand.submit(opt.ask()) for _ in range(3)]
    assert [i.additional_info["asha_index"] for i in rung1] == [0, 1, 2]
    assert {i.budget for i in rung1} == {3.0}
    for info, cost in zip(rung0[9:], (0.05, 0.9, 0.9), strict=True):  # index 9 joins rung 0's top 4
        hand.tell(info, cost)
    for info in rung1:
        hand.tell(info, info.additional_info["asha_index"] / 10)
    asked = [opt.ask(), opt.ask()]
    assert [(i.additional_info["asha_index"], i.additional_info["asha_rung"], i.budget)
            for i in asked] == [(0, 2, 9.0), (9, 1, 3.0)]


def test_asha_promotion_costs_come_from_the_told_value_not_from_reports():
    """A promotion-type ASHA never stops on reports and ranks by the final cost it is told."""
    opt = promotion()
    infos = [opt.ask() for _ in range(3)]
    assert opt.on_report(infos[0], Report(step=1, cost=99.0)) == "continue"
    for info, cost in zip(infos, (0.3, 0.1, 0.2), strict=True):
        opt.tell(info, TrialValue(cost=cost))
    assert opt.ask().config == infos[1].config and opt.n_stopped == 0


def test_asha_promotion_drops_max_budget_trials_and_the_rest_when_exhausted():
    """A trial at max_budget is listed when told; once n_trials configurations are told and
    none is left to promote, every unpromoted trial is listed; each directory once."""
    hand = HandLoop(promotion(n_trials=12))
    hand.run()
    tops = [i for i, _ in hand.told if i.budget == 9.0]
    assert tops and {i.additional_info["asha_index"] for i, _ in hand.told} == set(range(12))
    dirs = {i.additional_info["checkpoint_dir"] for i, _ in hand.told}
    assert sorted(hand.dropped) == sorted(dirs)
    assert hand.dropped[0] == tops[0].additional_info["checkpoint_dir"]


@pytest.mark.parametrize("n_tells", [4, 10, 14])
def test_asha_promotion_restored_from_a_history_asks_the_same(n_tells):
    """A fresh promotion-type ASHA restored from told trials and shown the pending ones asks
    the same continuations and new configurations as the one it replaces."""
    assert_resumes_alike(lambda: promotion(n_trials=15, seed=4), n_tells)


# -- the learning-curve problems' checkpoint ---------------------------------------------------


def test_a_curve_target_continues_from_its_checkpoint_with_the_same_costs(tmp_path):
    """An -mf-lc target given the checkpoint of its run at budget 3 goes on from step 4: the
    same costs as a run from scratch, the runtime only the increment."""
    problem = get("ackley-5d-mf-lc")
    config = {name: 1.5 for name in problem.space}
    scratch_cost, scratch = problem.target(config, budget=9, seed=2)
    low_cost, low = problem.target(config, budget=3, seed=2, checkpoint=tmp_path)
    cost, resumed = problem.target(config, budget=9, seed=2, checkpoint=tmp_path)
    assert cost == scratch_cost
    assert [row[0] for row in resumed["curve"]] == [4, 5, 6, 7, 8, 9]
    assert [row[1] for row in resumed["curve"]] == [row[1] for row in scratch["curve"][3:]]
    assert resumed["runtime"] == pytest.approx(scratch["runtime"] - low["runtime"])
    assert [row[2] for row in resumed["curve"]] == pytest.approx(
        [row[2] - low["runtime"] for row in scratch["curve"][3:]])
    assert low_cost == scratch["curve"][2][1]


@pytest.mark.parametrize("other", [{"seed": 3}, {"config": "other"}, {"budget": 2}])
def test_a_curve_target_restarts_on_a_checkpoint_it_cannot_continue(tmp_path, other):
    """A state of another seed or configuration, or at a budget not below the asked one, is
    not continued: the target starts at step 1, as without a checkpoint."""
    problem = get("branin-mf-lc")
    config = {"x0": 1.0, "x1": 2.0}
    problem.target(config, budget=3, seed=2, checkpoint=tmp_path)
    asked = {"seed": 2, "budget": 9, **other}
    if asked.pop("config", None):
        config = {"x0": 2.0, "x1": 2.0}
    _, fresh = problem.target(config, **asked)
    _, again = problem.target(config, **asked, checkpoint=tmp_path)
    assert again["curve"][0][0] == 1 and again == fresh


def test_a_curve_target_ignores_an_unreadable_state(tmp_path):
    """A torn or foreign state file is not continued (the target starts at step 1)."""
    (tmp_path / "curve-state.json").write_text("{not json")
    problem = get("branin-mf-lc")
    _, info = problem.target({"x0": 1.0, "x1": 2.0}, budget=3, seed=0, checkpoint=tmp_path)
    assert [row[0] for row in info["curve"]] == [1, 2, 3]


# -- through the loop --------------------------------------------------------------------------


def epochs(config: Any, budget: float, checkpoint: Path) -> Any:
    """Trains from the step saved in ``checkpoint`` up to ``budget``; says where it started."""
    state = checkpoint / "step.json"
    start = json.loads(state.read_text())["step"] if state.exists() else 0
    step = max(start, int(budget))
    state.write_text(json.dumps({"step": step}))
    return config["x"] + 1.0 / step, {"started": start}


class Watched:
    """Delegates to an optimizer; checks at each ask that the directories it dropped are gone
    and the ones a continuation asks for are still there."""

    def __init__(self, optimizer: Any) -> None:
        self.optimizer, self.dropped = optimizer, []

    def ask(self) -> TrialInfo | None:
        assert not any(Path(path).exists() for path in self.dropped)
        info = self.optimizer.ask()
        if info is not None and "continues" in info.additional_info:
            assert Path(info.additional_info["continues"], "step.json").exists()
        return info

    def tell(self, info: TrialInfo, value: TrialValue) -> None:
        self.optimizer.tell(info, value)

    def drop_checkpoints(self) -> list[TrialInfo]:
        dropped = self.optimizer.drop_checkpoints()
        self.dropped += [i.additional_info["checkpoint_dir"] for i in dropped]
        return dropped


@pytest.mark.parametrize("make", [
    lambda: Hyperband(SPACE, min_budget=1, max_budget=9, eta=3, seed=6, continuation=True),
    lambda: ASHA(SPACE, 1, 9, eta=3, seed=6, n_configs=20, mode="promotion"),
], ids=["hyperband", "asha-promotion"])
def test_promoted_trials_resume_from_their_checkpoint_through_the_loop(tmp_path, make):
    """OptimizationLoop + SerialRunner, a target that saves its step: every continuation starts
    at the step its previous trial reached (never at 0), dropped directories are removed as
    they are listed, and a finished study leaves none."""
    watched = Watched(make())
    root = tmp_path / "checkpoints"
    loop = OptimizationLoop(watched, SerialRunner(epochs), checkpoints=root)
    loop.run()
    assert loop.status() == "finished"
    by_dir: dict[str, list[TrialInfo]] = {}
    continued = 0
    for info, value in loop.history:
        assert value.status is StatusType.SUCCESS, value
        earlier = by_dir.setdefault(info.additional_info["checkpoint_dir"], [])
        if "continues" in info.additional_info:
            continued += 1
            assert value.additional_info["started"] == int(earlier[-1].budget) > 0
        else:
            assert not earlier and value.additional_info["started"] == 0
        earlier.append(info)
    assert continued > 3 and len(set(watched.dropped)) == len(watched.dropped)
    assert not list(root.glob("trial-*"))


def test_hyperband_continuation_on_the_simulated_runner_costs_less_for_the_same_trials():
    """A curve problem on SimulatedRunner: Hyperband with continuation runs the same
    configurations at the same budgets with the same costs as restarting, each continuation
    taking only the time from its previous rung's budget to its own, its curve starting after
    the step its previous trial reached."""
    problem = get("branin-mf-lc")
    lo, hi = problem.fidelity
    runs = {}
    for continuation in (False, True):
        hb = Hyperband(problem.space, min_budget=lo, max_budget=hi, eta=3, seed=0,
                       continuation=continuation)
        with SimulatedRunner(problem.target, n_workers=4) as runner:
            loop = OptimizationLoop(hb, runner)
            loop.run()
        runs[continuation] = loop
    key = lambda pair: (labels(pair[0]), pair[1].cost)  # noqa: E731
    assert sorted(map(key, runs[True].history)) == sorted(map(key, runs[False].history))
    time = {c: sum(v.time for _, v in loop.history) for c, loop in runs.items()}
    saved = sum(problem.runtime(i.config, i.budget / 3) for i, _ in runs[True].history
                if "continues" in i.additional_info)  # a continuation skips its earlier rung
    assert saved > 0 and time[True] == pytest.approx(time[False] - saved)
    for info, _ in runs[True].history:
        steps = [r.step for r in runs[True].history.curve(info)]
        if "continues" in info.additional_info:
            assert steps[0] > 1 and steps[-1] == int(info.budget)


@pytest.mark.parametrize("make", [
    lambda: Hyperband(SPACE, min_budget=1, max_budget=9, eta=3, seed=7, continuation=True),
    lambda: ASHA(SPACE, 1, 9, eta=3, seed=7, n_configs=20, mode="promotion"),
], ids=["hyperband", "asha-promotion"])
def test_a_study_cancelled_midway_resumes_its_continuations_from_the_journal(tmp_path, make):
    """Cancelled after 12 results (checkpoints kept for the resume), then resumed from its
    journal: the same trials as an uninterrupted study, and the resumed session's continuations
    still start from what their previous trial saved, never from step 0."""
    whole = OptimizationLoop(make(), SerialRunner(epochs), checkpoints=tmp_path / "whole")
    whole.run()
    journal = tmp_path / "study.jsonl"
    first = OptimizationLoop(make(), SerialRunner(epochs), journal=journal,
                             goal=lambda loop: len(loop.history) >= 12 and loop.cancel())
    first.run()
    assert first.status() == "cancelled"
    resumed = OptimizationLoop(make(), SerialRunner(epochs), journal=journal)
    resumed.run()
    assert resumed.status() == "finished"

    def key(pair: tuple[TrialInfo, TrialValue]) -> tuple[Any, ...]:
        info, value = pair
        return (json.dumps(dict(info.config)), info.budget, value.cost,
                "continues" in info.additional_info)

    assert sorted(map(key, resumed.history)) == sorted(map(key, whole.history))
    later = list(resumed.history)[len(first.history):]
    resumed_continuations = [(i, v) for i, v in later if "continues" in i.additional_info]
    assert resumed_continuations
    # at least the previous rung's step: a trial cancelled in flight re-runs where it got to
    assert all(v.additional_info["started"] >= int(i.budget) // 3 > 0
               for i, v in resumed_continuations)


def test_resuming_with_continuation_switched_is_refused(tmp_path):
    """Whether Hyperband continues promoted trials is part of its study: a journal written with
    it on does not resume with it off (the continued trials' directories would mean nothing)."""
    from runner.errors import StudyMismatchError

    journal = tmp_path / "study.jsonl"
    first = OptimizationLoop(
        Hyperband(SPACE, min_budget=1, max_budget=9, eta=3, seed=7, continuation=True),
        SerialRunner(epochs), journal=journal,
        goal=lambda loop: len(loop.history) >= 5 and loop.cancel())
    first.run()
    with pytest.raises(StudyMismatchError, match="continuation: True in the journal, False now"):
        OptimizationLoop(Hyperband(SPACE, min_budget=1, max_budget=9, eta=3, seed=7),
                         SerialRunner(epochs), journal=journal)
