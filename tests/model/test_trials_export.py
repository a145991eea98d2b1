"""History export: one flat record per trial, and a pandas DataFrame of the same rows."""

from __future__ import annotations

import sys

import pytest

from trials import History, Journal, StatusType, TrialInfo, TrialValue, read_header


def _history() -> History:
    return History([
        (TrialInfo({"x": 1.0, "opt": {"lr": 0.1}}, seed=3, budget=9.0),
         TrialValue(0.5, time=1.5, starttime=10.0, endtime=11.5)),
        (TrialInfo({"x": 2.0, "kind": "b"}),
         TrialValue(float("inf"), status=StatusType.CRASHED, additional_info={"error": "boom"})),
    ])


def test_records_are_flat_with_status_names_budgets_and_times() -> None:
    """Each trial becomes one dict: config.<name> columns (nested ones dotted), status names."""
    rows = _history().to_records()
    assert rows[0] == {
        "trial": 0, "status": "SUCCESS", "cost": 0.5, "budget": 9.0, "instance": None,
        "seed": 3, "time": 1.5, "cpu_time": 0.0, "starttime": 10.0, "endtime": 11.5,
        "error": None, "config.x": 1.0, "config.opt.lr": 0.1,
    }
    assert rows[1]["status"] == "CRASHED" and rows[1]["error"] == "boom"
    assert rows[1]["config.kind"] == "b" and "config.opt.lr" not in rows[1]


def test_several_objectives_get_one_cost_column_each() -> None:
    """A tuple cost becomes cost.0, cost.1, ..."""
    rows = History([(TrialInfo({"x": 1}), TrialValue((1.0, 2.0)))]).to_records()
    assert rows[0]["cost.0"] == 1.0 and rows[0]["cost.1"] == 2.0 and "cost" not in rows[0]


def test_dataframe_has_one_row_per_trial_and_the_union_of_columns() -> None:
    """to_dataframe: the same rows, columns in first-seen order."""
    pytest.importorskip("pandas")
    frame = _history().to_dataframe()
    assert len(frame) == 2
    assert list(frame.columns)[:3] == ["trial", "status", "cost"]
    assert {"config.x", "config.opt.lr", "config.kind"} <= set(frame.columns)


def test_dataframe_without_pandas_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without pandas the ImportError says which extra installs it."""
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"trialrunner\[pandas\]"):
        _history().to_dataframe()


def test_journal_command_lands_in_a_new_header_only(tmp_path) -> None:
    """Journal(command=...) writes the header field once; reopening keeps the first one."""
    path = tmp_path / "j.jsonl"
    with Journal.open(path, command={"argv": ["run", "m:f"], "workers": 2}) as journal:
        assert journal.command == {"argv": ["run", "m:f"], "workers": 2}
    assert read_header(path)["command"] == {"argv": ["run", "m:f"], "workers": 2}
    with Journal.open(path, command={"other": 1}) as journal:
        assert journal.command == {"argv": ["run", "m:f"], "workers": 2}


def test_journal_command_must_be_a_json_dict(tmp_path) -> None:
    """A non-dict or non-JSON command is refused before the file is created."""
    with pytest.raises(TypeError, match="command must be a dict"):
        Journal.open(tmp_path / "a.jsonl", command=["x"])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not strict JSON"):
        Journal.open(tmp_path / "b.jsonl", command={"x": float("nan")})
    assert not (tmp_path / "a.jsonl").exists() and not (tmp_path / "b.jsonl").exists()


def test_read_header_refuses_a_file_that_is_no_journal(tmp_path) -> None:
    """read_header names the file that holds no header."""
    path = tmp_path / "x.jsonl"
    path.write_text('{"type": "result"}\n')
    with pytest.raises(Exception, match="is not a journal"):
        read_header(path)
