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


def test_failure_rate_options_are_checked(tmp_path: Path) -> None:
    """A share outside (0, 1] or a window below 1 is one line naming the option, exit code 2."""
    study_folder(tmp_path)
    for option, value, message in (("--max-failure-rate", "1.5", "--max-failure-rate must be "
                                    "a share in (0, 1]"),
                                   ("--failure-window", "0", "--failure-window must be an int "
                                    "> 0, got 0")):
        done = cli("run", "quad:objective", "--space", "space.toml", "--n-trials", "2",
                   option, value, cwd=tmp_path)
        assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
        assert message in done.stderr, done.stderr
