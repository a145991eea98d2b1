"""`trialrunner run` and `resume` as a user runs them: a journal whose header holds the whole
command, a summary, and a study that continues exactly after the driver is killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runner.testing import wait_until
from tests.cli.clihelpers import ROOT, cli, env, study_folder
from trials import History, read_header, read_records


def _finals(path: Path) -> list[dict]:
    return [r for r in read_records(path) if r.get("type") == "result" and r.get("final")]


def test_run_writes_the_command_into_the_header_and_prints_a_summary(tmp_path: Path) -> None:
    """A finished `run`: N trials in the journal, crashes as data, the command in the header."""
    study_folder(tmp_path)
    done = cli("run", "quad:objective", "--keep-going", "--space", "space.toml", "--n-trials", "12",
               "--backend", "thread", "--workers", "2", "--seed", "3", "--retries", "1",
               "--keep-going", "--journal", "j.jsonl", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "trials: 12 finished" in done.stdout and "best trials:" in done.stdout
    assert "trialrunner report" in done.stdout
    command = read_header(tmp_path / "j.jsonl")["command"]
    assert command["target"] == {"function": "quad:objective"}
    assert command["optimizer"] == {"name": "random", "seed": 3, "options": {}}
    assert command["space"]["spec"]["kind"] == {"choices": ["a", "b"]}
    assert command["backend"] == {"name": "thread", "workers": 2, "scheduler": None}
    assert command["retries"] == 1 and command["cwd"] == str(tmp_path)
    assert len(History.load(tmp_path / "j.jsonl")) == 12


def test_the_default_journal_goes_under_runs(tmp_path: Path) -> None:
    """Without --journal the study is journaled to runs/<target>-<time>.jsonl."""
    study_folder(tmp_path)
    done = cli("run", "quad:objective", "--keep-going", "--space", "space.toml", "--n-trials", "3",
               "--backend", "serial", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (journal,) = (tmp_path / "runs").glob("quad-objective-*.jsonl")
    assert f"journal: {journal}" in done.stdout


def test_script_target_and_hyperband(tmp_path: Path) -> None:
    """--script runs a command line target; hyperband sets budgets between the given bounds."""
    study_folder(tmp_path)
    (tmp_path / "train.py").write_text(
        "import sys\n"
        "args = dict(a[2:].split('=', 1) for a in sys.argv[1:])\n"
        "cost = (float(args['x']) - 2) ** 2 + 1 / float(args['budget'])\n"
        "print(f'cost={cost}; runtime=0.01; status=SUCCESS; additional_info=ok')\n")
    done = cli("run", "--script", f"{sys.executable} train.py", "--space", "space.toml",
               "--optimizer", "hyperband", "--min-budget", "1", "--max-budget", "9",
               "--backend", "thread", "--workers", "2", "--seed", "1", "--journal", "h.jsonl",
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    history = History.load(tmp_path / "h.jsonl")
    assert {info.budget for info, _ in history} == {1.0, 3.0, 9.0}
    assert all(value.status.name == "SUCCESS" for _, value in history)


@pytest.mark.slow
def test_resume_after_the_driver_is_killed_continues_exactly(tmp_path: Path) -> None:
    """SIGKILL mid-study, then `resume JOURNAL` alone: N trials in the end, none finished twice,
    and the same random-search indices an uninterrupted run would have used."""
    study_folder(tmp_path)
    journal = tmp_path / "study.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "runner", "run", "quad:objective", "--keep-going", "--space", "space.toml",
         "--n-trials", "24", "--workers", "2", "--seed", "5", "--journal", str(journal)],
        cwd=tmp_path, env=env(TRIAL_SLEEP="0.05"), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_until(lambda: journal.exists() and len(_finals(journal)) >= 6, 60,
                   "six finished trials in the journal")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    before = len(_finals(journal))
    assert before < 24
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = cli("resume", str(journal), cwd=elsewhere)  # the header knows the study's folder
    assert done.returncode == 0, done.stderr
    finals = _finals(journal)
    trials = [r["trial"] for r in finals]
    assert len(trials) == len(set(trials)) == 24
    indices = sorted(r["info"]["additional_info"]["random_search_index"] for r in finals)
    assert indices == list(range(24))
    assert "trials: 24 finished" in done.stdout


def test_resume_refuses_a_new_run_on_an_old_journal(tmp_path: Path) -> None:
    """`run --journal` on a journal that holds a study points at `resume` (exit 2)."""
    study_folder(tmp_path)
    args = ("run", "quad:objective", "--keep-going", "--space", "space.toml", "--n-trials", "2",
            "--backend", "serial", "--journal", "j.jsonl")
    assert cli(*args, cwd=tmp_path).returncode == 0
    again = cli(*args, cwd=tmp_path)
    assert again.returncode == 2
    assert "already holds a study: continue it with `trialrunner resume" in again.stderr
    header = json.loads((tmp_path / "j.jsonl").read_text().splitlines()[0])
    assert header["command"]["goals"]["n_trials"] == 2


@pytest.mark.slow
def test_configspace_space_file_and_resume(tmp_path: Path) -> None:
    """A ConfigSpace JSON file (ConfigurationSpace.to_json) is a space, sampled as plain dicts on
    the process pool; it is kept in the header, so resume needs no file."""
    from ConfigSpace import ConfigurationSpace

    study_folder(tmp_path)
    ConfigurationSpace({"x": (-5.0, 5.0), "kind": ["a", "b"]}, seed=0).to_json(
        tmp_path / "cs.json")
    done = cli("run", "quad:objective", "--keep-going", "--space", "cs.json", "--n-trials", "6", "--workers",
               "2", "--journal", "cs.jsonl", "--progress", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert read_header(tmp_path / "cs.jsonl")["command"]["space"]["format"] == "configspace"
    history = History.load(tmp_path / "cs.jsonl")
    # configurations travel as plain dicts: no worker imports ConfigSpace mid-trial, which its
    # hygiene check took for the trial's threads (recycled workers, then CRASHED trials)
    assert all(value.status.name == "SUCCESS" or "too far" in str(value.additional_info)
               for _, value in history)
    assert not any("worker_recycled" in value.additional_info for _, value in history)
    (tmp_path / "cs.json").unlink()
    again = cli("resume", "cs.jsonl", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "trials: 6 finished" in again.stdout


@pytest.mark.slow
def test_an_unreachable_scheduler_is_one_line_naming_the_address(tmp_path: Path) -> None:
    """--scheduler with nothing listening: exit 2 after the connect timeout, no journal left."""
    study_folder(tmp_path)
    done = cli("run", "quad:objective", "--keep-going", "--space", "space.toml", "--n-trials", "2",
               "--scheduler", "tcp://127.0.0.1:9", "--journal", "d.jsonl", cwd=tmp_path)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert "tcp://127.0.0.1:9" in line and line.startswith("trialrunner run: error: ")
    assert not (tmp_path / "d.jsonl").exists()


@pytest.mark.slow
def test_demo_then_report_on_the_journal_it_wrote(tmp_path: Path) -> None:
    """`trialrunner demo` (what `make run` runs), then `report --plot` on each journal it kept."""
    started = time.time()
    done = cli("demo", "--trials", "40", "--iterations", "1", cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    kept = [p for p in (ROOT / "runs").rglob("*.jsonl") if p.stat().st_mtime >= started]
    journals = sorted(tmp_path.rglob("*.jsonl")) + kept  # under the folder it ran in, or ours
    assert journals, "the demo kept no journal (it keeps them in runs/demo/)"
    for journal in journals:
        png = journal.with_suffix(".png")
        report = cli("report", str(journal), "--plot", str(png), cwd=tmp_path)
        assert report.returncode == 0, report.stderr
        assert png.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_dask_backend_with_its_own_local_cluster(tmp_path: Path) -> None:
    """--backend dask --workers 2 starts a local cluster, runs the study, and closes it."""
    study_folder(tmp_path)
    done = cli("run", "quad:objective", "--keep-going", "--space", "space.toml", "--n-trials", "6", "--backend",
               "dask", "--workers", "2", "--journal", "d.jsonl", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(History.load(tmp_path / "d.jsonl")) == 6


def test_resume_of_a_journal_in_use_is_one_line(tmp_path: Path) -> None:
    """While another process holds the journal, `resume` says so: one line, exit 2."""
    from trials import Journal

    study_folder(tmp_path)
    assert cli("run", "quad:objective", "--keep-going", "--space", "space.toml", "--n-trials", "2",
               "--backend", "serial", "--journal", "j.jsonl", cwd=tmp_path).returncode == 0
    with Journal.open(tmp_path / "j.jsonl"):
        done = cli("resume", "j.jsonl", cwd=tmp_path)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert "in use" in line or "locked" in line, line


@pytest.mark.slow
def test_hyperband_resumed_after_sigkill_ends_with_the_uninterrupted_trials(
        tmp_path: Path) -> None:
    """The same (config, budget) pairs as a run that was never killed: promotions and brackets
    continue from the journal, nothing is lost or added."""
    study_folder(tmp_path)
    args = ["run", "quad:with_budget", "--space", "space.toml", "--optimizer", "hyperband",
            "--min-budget", "1", "--max-budget", "9", "--seed", "4", "--backend", "thread",
            "--workers", "2"]

    def pairs(journal: Path) -> list[tuple[str, float]]:
        return sorted((json.dumps(i.to_dict()["config"], sort_keys=True), i.budget)
                      for i, _ in History.load(journal))

    whole = tmp_path / "whole.jsonl"
    assert cli(*args, "--journal", str(whole), cwd=tmp_path).returncode == 0
    killed = tmp_path / "killed.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "runner", *args, "--journal", str(killed)],
                            cwd=tmp_path, env=env(TRIAL_SLEEP="0.03"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        wait_until(lambda: killed.exists() and len(_finals(killed)) >= 8, 60,
                   "eight finished trials")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    assert len(_finals(killed)) < len(pairs(whole))
    assert cli("resume", str(killed), cwd=tmp_path).returncode == 0
    assert pairs(killed) == pairs(whole)


def test_optuna_tpe_from_the_command_line(tmp_path: Path) -> None:
    """--optimizer optuna (where Optuna and its integration import): TPE proposes, seeded."""
    pytest.importorskip("optuna")
    pytest.importorskip("runner.integrations.optuna")
    study_folder(tmp_path)
    done = cli("run", "quad:objective", "--keep-going", "--space", "space.toml", "--optimizer", "optuna",
               "--seed", "0", "--n-trials", "8", "--backend", "serial", "--journal", "o.jsonl",
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    history = History.load(tmp_path / "o.jsonl")
    assert len(history) == 8
    assert all("optuna_trial" in info.additional_info for info, _ in history)
