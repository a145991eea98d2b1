"""The incumbent of a multi-fidelity history is the best at the highest budget reached
(issue #14, item 3)."""

from __future__ import annotations

from trials import History, StatusType, TrialInfo, TrialValue


def _pair(cost: float, budget: float | None, x: int = 0,
          status: StatusType = StatusType.SUCCESS) -> tuple[TrialInfo, TrialValue]:
    return TrialInfo({"x": x}, budget=budget), TrialValue(cost, status=status)


def test_optimistic_low_budget_does_not_win() -> None:
    """A budget-1 trial at -4.6 loses to the best at the full budget, 0.04 (the issue's case)."""
    history = History([_pair(-4.6, 1.0, x=1), _pair(0.5, 9.0, x=2), _pair(0.04, 9.0, x=3),
                       _pair(-3.0, 3.0, x=4)])
    assert history.incumbent is not None
    info, value = history.incumbent
    assert (info.config["x"], info.budget, value.cost) == (3, 9.0, 0.04)


def test_first_success_at_a_higher_budget_takes_over() -> None:
    """Reaching a higher budget replaces the incumbent even with a worse cost."""
    history = History([_pair(0.1, 1.0, x=1)])
    history.append(*_pair(2.0, 3.0, x=2))
    assert history.incumbent is not None and history.incumbent[0].config["x"] == 2


def test_a_crash_at_a_higher_budget_does_not_count() -> None:
    """Only successful trials set the highest budget reached."""
    history = History([_pair(0.1, 1.0, x=1), _pair(-9.0, 27.0, x=2, status=StatusType.CRASHED)])
    assert history.incumbent is not None and history.incumbent[0].config["x"] == 1


def test_single_fidelity_is_unchanged() -> None:
    """Without budgets the lowest cost wins, the first on ties."""
    history = History([_pair(1.0, None, x=1), _pair(0.5, None, x=2), _pair(0.5, None, x=3)])
    assert history.incumbent is not None and history.incumbent[0].config["x"] == 2
