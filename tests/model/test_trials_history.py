"""History: order, incumbent, Pareto front, loading from a journal, memory."""

from __future__ import annotations

import math
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from trials import (
    History,
    Journal,
    JournalCorruptError,
    JournalTornTailWarning,
    StatusType,
    TrialInfo,
    TrialValue,
)


def _pair(cost: Any, status: StatusType = StatusType.SUCCESS, **config: Any) -> Any:
    return TrialInfo(config or {"x": 0}), TrialValue(cost, status=status)


def _result(trial: int, info: TrialInfo, value: TrialValue, *, final: bool = True) -> Any:
    return {
        "type": "result",
        "trial": trial,
        "attempt": 0,
        "final": final,
        "info": info.to_dict(),
        "value": value.to_dict(),
        "time": time.time(),
    }


def test_empty_history() -> None:
    """An empty history has no trials, no incumbent and an empty front."""
    history = History()
    assert len(history) == 0 and list(history) == []
    assert history.incumbent is None and history.pareto_front() == []


def test_len_and_iteration_keep_append_order() -> None:
    """len counts appended trials and iteration yields (info, value) pairs in order."""
    pairs = [_pair(float(c), x=i) for i, c in enumerate([3, 1, 2])]
    history = History()
    for info, value in pairs:
        history.append(info, value)
    assert len(history) == 3
    assert list(history) == pairs
    assert history[1] == pairs[1]
    assert list(History(pairs)) == pairs


def test_append_rejects_wrong_types() -> None:
    """append takes a TrialInfo and a TrialValue, nothing else."""
    with pytest.raises(TypeError, match="TrialInfo"):
        History().append({"x": 1}, TrialValue(1.0))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="TrialValue"):
        History().append(TrialInfo({}), 1.0)  # type: ignore[arg-type]


def test_incumbent_is_lowest_successful_cost_first_wins_ties() -> None:
    """The incumbent is the successful trial of lowest cost; among equals the first."""
    history = History()
    history.append(*_pair(5.0, x=0))
    assert history.incumbent is not None and history.incumbent[0].config == {"x": 0}
    first_best = _pair(1.0, x=1)
    history.append(*first_best)
    history.append(*_pair(1.0, x=2))
    history.append(*_pair(3.0, x=3))
    assert history.incumbent == first_best
    assert history.incumbent[0].config == {"x": 1}


def test_incumbent_ignores_failures_nan_and_multi_objective() -> None:
    """Crashed, NaN-cost and multi-objective trials never become the incumbent."""
    history = History()
    history.append(*_pair(math.nan, x=0))
    history.append(*_pair(-100.0, StatusType.CRASHED, x=1))
    history.append(*_pair(-50.0, StatusType.TIMEOUT, x=2))
    history.append(*_pair((-1.0, -1.0), x=3))
    assert history.incumbent is None
    history.append(*_pair(2.0, x=4))
    assert history.incumbent is not None and history.incumbent[0].config == {"x": 4}
    history.append(*_pair((1.0,), x=5))  # one objective given as a 1-tuple competes too
    assert history.incumbent[0].config == {"x": 5}


def test_pareto_front_keeps_non_dominated_successes_in_order() -> None:
    """The front holds the successful trials no other trial dominates, in append order."""
    history = History()
    costs = [(1.0, 5.0), (2.0, 2.0), (3.0, 3.0), (5.0, 1.0), (2.0, 2.0), (0.0, 9.0), (4.0, 1.5)]
    for i, cost in enumerate(costs):
        history.append(*_pair(cost, x=i))
    history.append(*_pair((0.0, 0.0), StatusType.CRASHED, x=99))
    history.append(*_pair((math.nan, 0.0), x=98))
    front = [info.config["x"] for info, _ in history.pareto_front()]
    assert front == [0, 1, 3, 4, 5, 6]


def test_pareto_front_three_objectives() -> None:
    """Dominance uses every objective."""
    history = History()
    for i, cost in enumerate([(1.0, 1.0, 1.0), (1.0, 1.0, 2.0), (0.0, 2.0, 2.0), (2.0, 0.0, 5.0)]):
        history.append(*_pair(cost, x=i))
    assert [info.config["x"] for info, _ in history.pareto_front()] == [0, 2, 3]


def test_pareto_front_refuses_mixed_objective_counts() -> None:
    """Costs with different numbers of objectives cannot be compared: a ValueError."""
    history = History([_pair((1.0, 2.0)), _pair((1.0, 2.0, 3.0))])
    with pytest.raises(ValueError, match="different numbers of objectives"):
        history.pareto_front()


def test_load_takes_final_results_in_file_order(tmp_path: Path) -> None:
    """History.load keeps the result records marked final, in file order, and nothing else."""
    path = tmp_path / "study.jsonl"
    a, b, c = _pair(3.0, x=1), _pair(math.inf, StatusType.CRASHED, x=2), _pair(1.0, x=3)
    with Journal.open(path, fsync="never") as journal:
        journal.append({"type": "submit", "trial": 1, "attempt": 0, "info": a[0].to_dict()})
        journal.append(_result(1, *a))
        journal.append(_result(2, *b, final=False))  # a retried attempt
        journal.append({"type": "note", "text": "ignored"})
        journal.append(_result(2, *b))
        journal.append(_result(3, *c))
        journal.append({"type": "submit", "trial": 4, "attempt": 0, "info": a[0].to_dict()})
        loaded = History.load(path)  # while the journal is open and locked
    assert list(loaded) == [a, b, c]
    assert loaded.incumbent == c
    assert list(History.load(str(path))) == [a, b, c]


def test_load_skips_torn_tail_with_warning(tmp_path: Path) -> None:
    """A torn last line is skipped with a warning when loading, and the file is left alone."""
    path = tmp_path / "study.jsonl"
    with Journal.open(path, fsync="never") as journal:
        journal.append(_result(1, *_pair(1.0)))
    with path.open("ab") as f:
        f.write(b'{"type":"result","trial":2,"fin')
    size = path.stat().st_size
    with pytest.warns(JournalTornTailWarning):
        assert len(History.load(path)) == 1
    assert path.stat().st_size == size


def test_load_reports_unreadable_result_record(tmp_path: Path) -> None:
    """A final result record that cannot be rebuilt is an error naming its line."""
    path = tmp_path / "study.jsonl"
    with Journal.open(path, fsync="never") as journal:
        journal.append(_result(1, *_pair(1.0)))
        journal.append({"type": "result", "trial": 2, "final": True, "info": {"config": {}}})
    with pytest.raises(JournalCorruptError, match=r"line 3 .*missing field 'value'"):
        History.load(path)


@pytest.mark.slow
def test_hundred_thousand_trials_fit_in_memory() -> None:
    """100,000 appended trials with small dict configs take well under 200 MB."""
    tracemalloc.start()
    try:
        history = History()
        for i in range(100_000):
            info = TrialInfo({"x": i * 0.5, "layers": i % 7, "act": "relu"}, seed=i)
            value = TrialValue(float(i % 1000), time=0.25, cpu_time=0.2, endtime=1.7e9)
            history.append(info, value)
        used, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(history) == 100_000
    assert used < 200 * 2**20, f"{used / 2**20:.0f} MB"
    assert history.incumbent is not None and history.incumbent[1].cost == 0.0
