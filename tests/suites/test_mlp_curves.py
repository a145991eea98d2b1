"""The real learning-curve problems (``mlp-<dataset>-lc``): an MLP trained epoch by epoch, which
reports after each epoch and continues from its checkpoint with the same weights."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import attrs
import pytest

pytest.importorskip("sklearn")

from runner import OptimizationLoop, SerialRunner  # noqa: E402
from runner.optimizers import ASHA  # noqa: E402
from runner.problems import get, names  # noqa: E402
from runner.problems._sklearn import MLP_SPACE, MODEL_FILE  # noqa: E402
from trials import StatusType  # noqa: E402

CONFIG = {"hidden_units": 32, "learning_rate_init": 0.003, "alpha": 1e-4, "batch_size": 64}


def _run(budget: float, seed: int | None = 0, checkpoint: Path | None = None,
         config: dict[str, Any] | None = None) -> tuple[float, list[tuple[int, float, float]]]:
    """(returned cost, reported curve (epoch, error, log_loss)) of one run on mlp-digits-lc."""
    curve: list[tuple[int, float, float]] = []

    def report(step: int, cost: float, **metrics: float) -> None:
        curve.append((step, cost, metrics["log_loss"]))

    cost = get("mlp-digits-lc").target(config or CONFIG, budget=budget, seed=seed,
                                       report=report, checkpoint=checkpoint)
    return cost, curve


def _weights(checkpoint: Path) -> list[Any]:
    with open(checkpoint / MODEL_FILE, "rb") as f:
        state = pickle.load(f)
    return [*state["model"].coefs_, *state["model"].intercepts_]


@pytest.mark.parametrize("name", ["mlp-digits-lc", "mlp-breast-cancer-lc"])
def test_registered_with_epochs_as_budget_and_an_unknown_optimum(name: str) -> None:
    problem = get(name)
    assert name in names() and problem.name == name
    assert problem.fidelity == (1.0, 27.0) and problem.optimum is None
    assert problem.space == MLP_SPACE and problem.runtime is None
    cost = problem.target(CONFIG, budget=2, seed=0)  # no report, no checkpoint
    assert isinstance(cost, float) and 0.0 <= cost < 0.5


def test_reports_each_epoch_after_saving_and_returns_the_last_error(tmp_path: Path) -> None:
    saved: list[int] = []

    def report(step: int, cost: float, **metrics: float) -> None:
        with open(tmp_path / MODEL_FILE, "rb") as f:
            saved.append(pickle.load(f)["epoch"])  # the checkpoint is written before the report

    cost = get("mlp-digits-lc").target(CONFIG, budget=3, seed=0, report=report,
                                       checkpoint=tmp_path)
    assert saved == [1, 2, 3]
    plain, curve = _run(3)
    assert [step for step, _, _ in curve] == [1, 2, 3]
    assert cost == plain == curve[-1][1] and curve[-1][2] > 0
    assert _run(3, seed=0)[0] == plain  # seeded: the same again


def test_a_continued_run_equals_an_uninterrupted_one(tmp_path: Path) -> None:
    whole, paused = tmp_path / "whole", tmp_path / "paused"
    whole.mkdir()
    paused.mkdir()
    cost, curve = _run(5, seed=7, checkpoint=whole)
    first_cost, first = _run(2, seed=7, checkpoint=paused)
    second_cost, second = _run(5, seed=7, checkpoint=paused)
    assert [step for step, _, _ in second] == [3, 4, 5]  # went on from the saved epoch
    assert first + second == curve and second_cost == cost and first_cost == curve[1][1]
    assert all((a == b).all() for a, b in zip(_weights(whole), _weights(paused), strict=True))


def test_a_checkpoint_of_another_configuration_or_seed_is_not_continued(tmp_path: Path) -> None:
    _run(2, seed=1, checkpoint=tmp_path, config={**CONFIG, "alpha": 0.01})
    assert _run(3, seed=1, checkpoint=tmp_path) == _run(3, seed=1)
    assert _run(4, seed=2, checkpoint=tmp_path)[1][0][0] == 1  # seed 1's model: start afresh


@pytest.mark.parametrize("change, match", [
    ({"hidden_units": 0}, "'hidden_units' must be an int >= 1, got 0"),
    ({"hidden_units": 2.5}, "'hidden_units' must be an int >= 1, got 2.5 \\(type float\\)"),
    ({"batch_size": True}, "'batch_size' must be an int >= 1, got True"),
    ({"learning_rate_init": 0.0}, "'learning_rate_init' must be a number > 0, got 0.0"),
    ({"learning_rate_init": "0.1"}, "'learning_rate_init' must be a number > 0, got '0.1'"),
    ({"alpha": -1e-3}, "'alpha' must be a number >= 0, got -0.001"),
    ({"alpha": float("nan")}, "'alpha' must be a number >= 0, got nan"),
])
def test_bad_configuration_values_are_named(change: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        get("mlp-digits-lc").target({**CONFIG, **change}, budget=1)


def test_a_missing_parameter_is_named() -> None:
    config = {k: v for k, v in CONFIG.items() if k != "batch_size"}
    with pytest.raises(ValueError, match="configuration has no 'batch_size'"):
        get("mlp-digits-lc").target(config, budget=1)


def test_a_small_promotion_asha_study_continues_from_checkpoints(tmp_path: Path) -> None:
    """ASHA of the promotion type, epochs 1 and 3 (a copy of the problem with max budget 3):
    promoted configurations continue at epoch 2 and end with the cost of an uninterrupted run."""
    problem = attrs.evolve(get("mlp-digits-lc"), fidelity=(1.0, 3.0))
    asha = ASHA(problem.space, 1, 3, eta=3, seed=0, n_configs=6, mode="promotion")
    loop = OptimizationLoop(asha, SerialRunner(problem.target), checkpoints=tmp_path)
    loop.run()
    assert all(value.status is StatusType.SUCCESS for _, value in loop.history)
    continued = [(info, value) for info, value in loop.history
                 if "continues_trial" in info.additional_info]
    assert len(continued) == 2 and len(loop.history) == 8
    for info, value in continued:
        assert info.budget == 3
        assert [r.step for r in loop.history.curve(info)] == [2, 3]
        assert value.cost == problem.target(info.config, budget=3, seed=info.seed)
    assert loop.incumbent is not None
