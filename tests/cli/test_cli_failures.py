"""Failing trials on the command line: the failure-rate policy (`--max-failure-rate`,
`--failure-window`) and the warnings a user sees, each one line in the CLI's terms (issue 28)."""

from __future__ import annotations

from pathlib import Path

from tests.cli.clihelpers import cli, study_folder
from trials import read_header, read_records

BROKEN = '''\
def objective(config):
    raise ImportError("No module named 'torch'")
'''


def test_a_broken_target_stops_at_the_failure_rate(tmp_path: Path) -> None:
    """`--max-failure-rate 0.5 --failure-window 4`: a target that always raises stops after 3
    trials (of 40 asked for) with the summary, one line naming the options and the last error,
    exit code 1; the journal header records the policy for `resume`."""
    study_folder(tmp_path)
    (tmp_path / "broken.py").write_text(BROKEN)
    done = cli("run", "broken:objective", "--space", "space.toml", "--n-trials", "40",
               "--backend", "serial", "--seed", "1", "--max-failure-rate", "0.5",
               "--failure-window", "4", "--journal", "j.jsonl", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "trials: 3 finished" in done.stdout, done.stdout
    [line] = [ln for ln in done.stderr.splitlines() if "study stopped" in ln]
    assert line.startswith("trialrunner: study stopped: 3 of the last 3 trials failed (more "
                           "than --max-failure-rate 0.5 of --failure-window 4); the last, "
                           "trial 2: ImportError"), line
    finals = [r for r in read_records(tmp_path / "j.jsonl") if r.get("final")]
    assert len(finals) == 3
    command = read_header(tmp_path / "j.jsonl")["command"]
    assert (command["max_failure_rate"], command["failure_window"]) == (0.5, 4)


def test_a_crash_stops_the_run_as_in_python_unless_keep_going(tmp_path: Path) -> None:
    """One default for the CLI and Python (`raise_if_retries_exceeded=True`): a trial that
    crashed after its retries ends `run` with the summary and one line saying how to go on,
    exit code 1; `--keep-going` runs all trials and keeps the crashes as data."""
    study_folder(tmp_path)
    (tmp_path / "broken.py").write_text(BROKEN)
    done = cli("run", "broken:objective", "--space", "space.toml", "--n-trials", "5",
               "--backend", "serial", "--seed", "1", "--journal", "j.jsonl", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    [line] = [ln for ln in done.stderr.splitlines() if "study stopped" in ln]
    assert line.startswith("trialrunner: study stopped: trial 0 crashed on all 1 attempt(s) "
                           "(--retries 0): ImportError"), line
    assert "--keep-going" in line and "raise_if_retries_exceeded" not in line, line
    assert read_header(tmp_path / "j.jsonl")["command"]["keep_going"] is False
    done = cli("run", "broken:objective", "--space", "space.toml", "--n-trials", "5",
               "--backend", "serial", "--seed", "1", "--keep-going", "--journal", "k.jsonl",
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "trials: 5 finished" in done.stdout, done.stdout


def test_failure_rate_options_are_checked(tmp_path: Path) -> None:
    """A share outside (0, 1] or a window below 1 is one line naming the option, exit code 2."""
    study_folder(tmp_path)
    for option, value, message in (("--max-failure-rate", "1.5", "--max-failure-rate must be "
                                    "a share in (0, 1]"),
                                   ("--failure-window", "0", "--failure-window must be an int "
                                    "> 0, got 0")):
        done = cli("run", "quad:objective", "--keep-going", "--space", "space.toml", "--n-trials", "2",
                   option, value, cwd=tmp_path)
        assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
        assert message in done.stderr, done.stderr


def _warnings(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if "warning" in ln.lower()]


def test_a_memory_limit_in_bytes_is_one_warning_line_in_the_cli_terms(tmp_path: Path) -> None:
    """`--memory-limit 2147483648` (bytes for MB): one line naming the option and what to give;
    no Python source line (`sys.exit(main())`), no `memory_limit=` advice. On `resume`, the
    same once, saying the limit came from the journal."""
    study_folder(tmp_path)
    done = cli("run", "quad:objective", "--keep-going", "--space", "space.toml", "--n-trials", "2",
               "--backend", "serial", "--memory-limit", "2147483648", "--journal", "j.jsonl",
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    [line] = _warnings(done.stderr)
    assert line.startswith("trialrunner run: warning: --memory-limit 2147483648 (MB) is more "
                           "than this machine has"), line
    assert line.endswith("for 2 GiB give --memory-limit 2048"), line
    assert "memory_limit=" not in done.stderr and "MemoryLimitWarning" not in done.stderr
    done = cli("resume", "j.jsonl", cwd=tmp_path)
    [line] = _warnings(done.stderr)
    assert line.startswith("trialrunner resume: warning: the study's --memory-limit 2147483648 "
                           "(MB, from its journal)"), line


def test_a_stale_lock_on_resume_is_one_warning_line(tmp_path: Path) -> None:
    """Resuming a journal whose lock a dead process left: one line `trialrunner resume:
    warning: ... took over a lock left by process N, which no longer runs`, nothing else."""
    import json
    import socket

    study_folder(tmp_path)
    done = cli("run", "quad:objective", "--keep-going", "--space", "space.toml", "--n-trials", "2",
               "--backend", "serial", "--journal", "j.jsonl", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (tmp_path / "j.jsonl.lock").write_text(json.dumps(
        {"pid": 2**22 + 12345, "hostname": socket.gethostname(), "created": 1.0}))
    done = cli("resume", "j.jsonl", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        f"trialrunner resume: warning: {tmp_path / 'j.jsonl'}: took over a lock left by process "
        f"{2**22 + 12345}, which no longer runs ({tmp_path / 'j.jsonl.lock'})"], done.stderr


def test_a_stale_lock_warning_points_at_the_users_line(tmp_path: Path) -> None:
    """In Python, the warning names the line that built the loop, not the journal's internals."""
    import json
    import socket

    import pytest

    from runner import OptimizationLoop, SerialRunner
    from runner.optimizers import RandomSearch
    from trials import JournalStaleLockWarning

    journal = tmp_path / "j.jsonl"
    OptimizationLoop(RandomSearch({"x": (0.0, 1.0)}, seed=1), SerialRunner(lambda c: c["x"]),
                     n_trials_goal=1, journal=journal).run()
    (tmp_path / "j.jsonl.lock").write_text(json.dumps(
        {"pid": 2**22 + 12345, "hostname": socket.gethostname(), "created": 1.0}))
    with pytest.warns(JournalStaleLockWarning, match="which no longer runs") as rec:
        OptimizationLoop(RandomSearch({"x": (0.0, 1.0)}, seed=1),
                         SerialRunner(lambda c: c["x"]), n_trials_goal=1, journal=journal).run()
    assert rec[0].filename == __file__
