"""The script protocol as SMAC3 2.x reads it: fields in any order, ``runtime=`` honoured, and an
error that shows what the script printed (issue #14, item 2)."""

from __future__ import annotations

import math
import stat
import sys
from pathlib import Path

import pytest

from runner import SerialRunner
from runner.testing import drain
from trials import StatusType, TrialInfo, TrialValue


def script(tmp_path: Path, body: str, name: str = "target.py") -> str:
    """An executable Python script with ``body``; returns its path."""
    path = tmp_path / name
    path.write_text(f"#!{sys.executable}\nimport sys\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def shell(tmp_path: Path, body: str, name: str = "target.sh") -> str:
    """An executable POSIX shell script with ``body``; returns its path."""
    path = tmp_path / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def run_one(target: str, info: TrialInfo | None = None, **kwargs: object) -> TrialValue:
    info = info or TrialInfo({"x0": 7})
    with SerialRunner(target, **kwargs) as runner:  # type: ignore[arg-type]
        runner.submit_trial(info)
        [(_, value)] = drain(runner, 1)
        return value


@pytest.mark.parametrize("line", [
    "status=SUCCESS; cost=0.3",
    "runtime=0.2; cost=0.3; status=SUCCESS",
    "cost=0.3",
    "additional_info=a b; status=SUCCESS ;cost = 0.3",
])
def test_fields_in_any_order(tmp_path: Path, line: str) -> None:
    """Each of these lines is cost 0.3, SUCCESS (SMAC3 accepts every one)."""
    value = run_one(script(tmp_path, f"print('noise = 1')\nprint({line!r})"))
    assert value.status is StatusType.SUCCESS, value.additional_info
    assert value.cost == 0.3


def test_runtime_is_the_trial_time_and_measured_time_is_kept(tmp_path: Path) -> None:
    """A reported runtime becomes TrialValue.time; our measurement stays in additional_info."""
    value = run_one(script(tmp_path, "print('runtime=12.5; cost=1; cpu_time=3')"))
    assert value.time == 12.5
    assert 0 < value.additional_info["measured_time"] < 12.5
    assert value.additional_info["cpu_time"] == 3.0


def test_no_cost_shows_stdout_and_stderr_tails(tmp_path: Path) -> None:
    """The error says what was expected and shows both ends of what the script printed."""
    body = "print('loss: 0.3')\nprint('warming up', file=sys.stderr)"
    value = run_one(script(tmp_path, body))
    assert value.status is StatusType.CRASHED
    error = value.additional_info["error"]
    assert "no result line with a 'cost=' field" in error
    assert "stdout tail:\nloss: 0.3" in error
    assert "stderr tail:\nwarming up" in error


def test_exit_status_error_shows_stdout_too(tmp_path: Path) -> None:
    """A failing script's error carries its stdout tail as well as its stderr tail."""
    value = run_one(script(tmp_path, "print('epoch 3')\nsys.exit(4)"))
    assert value.status is StatusType.CRASHED
    assert "exited with status 4" in value.additional_info["error"]
    assert "stdout tail:\nepoch 3" in value.additional_info["error"]


# The behaviours of SMAC3's tests/test_runner/files/ scripts (success, success_multi_objective,
# exit, crashed, python), with scripts of our own that print what theirs print.

PARSE_ARGS = ('for a in "$@"; do case "$a" in --x0=*) x0="${a#--x0=}";; esac; done')


def test_smac_success(tmp_path: Path) -> None:
    """cost=<x0>; status=SUCCESS; additional_info=blub -> SUCCESS, that cost, the info."""
    path = shell(tmp_path, PARSE_ARGS + '\necho "cost=$x0; status=SUCCESS; additional_info=blub"')
    value = run_one(path, TrialInfo({"x0": 7}, instance="i", seed=0))
    assert value.status is StatusType.SUCCESS
    assert value.cost == 7.0
    assert value.additional_info["additional_info"] == "blub"


def test_smac_success_multi_objective(tmp_path: Path) -> None:
    """cost=<x0>, <x0>; status=SUCCESS -> both costs."""
    path = shell(tmp_path, PARSE_ARGS + '\necho "cost=$x0, $x0; status=SUCCESS"')
    value = run_one(path, TrialInfo({"x0": 7}, seed=0), objectives=["a", "b"])
    assert value.status is StatusType.SUCCESS
    assert value.cost == (7.0, 7.0)


def test_smac_exit(tmp_path: Path) -> None:
    """Exit status 1 before printing anything -> CRASHED with an error."""
    value = run_one(shell(tmp_path, PARSE_ARGS + "\nexit 1"))
    assert value.status is StatusType.CRASHED
    assert "exited with status 1" in value.additional_info["error"]


def test_smac_crashed(tmp_path: Path) -> None:
    """cost=<x0>; status=CRASHED (no final newline) -> CRASHED at the crash cost."""
    value = run_one(shell(tmp_path, PARSE_ARGS + '\nprintf "cost=$x0; status=CRASHED"'))
    assert value.status is StatusType.CRASHED
    assert value.cost == math.inf


def test_smac_python(tmp_path: Path) -> None:
    """A Python script reading its arguments with argparse -> SUCCESS with its cost."""
    body = ("import argparse\np = argparse.ArgumentParser()\n"
            "p.add_argument('--seed', type=int)\np.add_argument('--instance')\n"
            "p.add_argument('--x0', type=int)\na = p.parse_args()\n"
            "print(f'cost={a.x0}; status=SUCCESS; additional_info=blub')")
    value = run_one(script(tmp_path, body), TrialInfo({"x0": 7}, instance="i", seed=0))
    assert value.status is StatusType.SUCCESS
    assert value.cost == 7.0
