"""The command line's surface: help on every verb, the version, and argument errors as one line
with exit code 2 and no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.cli import main
from tests.cli.clihelpers import cli, study_folder

VERBS = ["run", "resume", "report"]


@pytest.mark.parametrize("verb", VERBS)
def test_every_verb_has_help(verb: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`VERB --help` prints a usage and exits 0."""
    with pytest.raises(SystemExit) as exit_info:
        main([verb, "--help"])
    assert exit_info.value.code == 0
    assert f"usage: trialrunner {verb}" in capsys.readouterr().out


def test_version_and_top_level_help(capsys: pytest.CaptureFixture[str]) -> None:
    """--version names the program; --help lists every verb."""
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.startswith("trialrunner ")
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert all(verb in out for verb in [*VERBS, "suite", "demo"])


def test_demo_help_is_the_demos(capsys: pytest.CaptureFixture[str]) -> None:
    """`demo --help` shows the demo's own options (it runs benchmarks/demo.py)."""
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--help"])
    assert exit_info.value.code == 0
    assert "--folder" in capsys.readouterr().out


BAD = [
    (["bogus"], "invalid choice: 'bogus'"),
    (["run", "quad:objective"], "required: --space"),
    (["run", "--space", "space.toml", "--n-trials", "3"], "MODULE:FUNCTION or --script"),
    (["run", "quad", "--space", "space.toml", "--n-trials", "3"], "expected MODULE:FUNCTION"),
    (["run", "nosuchmodule:f", "--space", "space.toml", "--n-trials", "3"],
     "cannot import 'nosuchmodule'"),
    (["run", "quad:nothing", "--space", "space.toml", "--n-trials", "3"],
     "has no attribute 'nothing'"),
    (["run", "quad:objective", "--keep-going", "--space", "missing.toml", "--n-trials", "3"],
     "--space: no such file"),
    (["run", "quad:objective", "--keep-going", "--space", "bad.toml", "--n-trials", "3"], "not valid TOML"),
    (["run", "quad:objective", "--keep-going", "--space", "space.toml"], "never ends by itself"),
    (["run", "quad:objective", "--keep-going", "--space", "space.toml", "--n-trials", "0"],
     "--n-trials must be an int > 0"),
    (["run", "quad:objective", "--keep-going", "--space", "space.toml", "--n-trials", "2", "--workers", "x"],
     "argument --workers: invalid int value"),
    (["run", "quad:objective", "--keep-going", "--space", "space.toml", "--n-trials", "2", "--optimizer",
      "nope"], "unknown optimizer 'nope'"),
    (["run", "quad:objective", "--keep-going", "--space", "space.toml", "--optimizer", "hyperband"],
     "needs --min-budget and --max-budget"),
    (["run", "quad:objective", "--keep-going", "--space", "space.toml", "--n-trials", "2",
      "--walltime-limit", "-1"], "--walltime-limit must be a number > 0"),
    (["resume", "missing.jsonl"], "no such file"),
    (["resume", "plain.jsonl"], "not written by `trialrunner run`"),
    (["report", "missing.jsonl"], "no such file"),
    (["report", "plain.jsonl", "--plot", "x.jpg"], "expected a .png file name"),
]


@pytest.mark.parametrize(("argv", "message"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_argument_errors_are_one_line_and_exit_2(
        argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A bad argument: one line on stderr naming it, exit code 2, nothing written."""
    study_folder(tmp_path)
    (tmp_path / "bad.toml").write_text("[x\nlow = 1")
    (tmp_path / "plain.jsonl").write_text('{"type":"header","format":1,"created":1.0,'
                                          '"study":null}\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert message in err, err
    assert not (tmp_path / "runs").exists()


def test_suite_without_the_suites_says_so(capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """`suite` hands over to runner.suites; without it: one line, exit 2."""
    import sys

    monkeypatch.setitem(sys.modules, "runner.suites", None)
    with pytest.raises(SystemExit) as exit_info:
        main(["suite", "file.toml"])
    assert exit_info.value.code == 2
    assert "suites are not installed" in capsys.readouterr().err


def test_a_user_error_in_a_subprocess_has_no_traceback(tmp_path: Path) -> None:
    """As a user sees it: `python -m runner run` with a bad target prints one line, exit 2."""
    study_folder(tmp_path)
    done = cli("run", "quad:missing", "--space", "space.toml", "--n-trials", "2", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "trialrunner run: error: target quad:missing: 'quad' has no attribute 'missing'"]


def test_verbose_logs_at_info_on_stderr(tmp_path: Path) -> None:
    """-v shows the library's INFO records (here: the resumed trials), quiet without it."""
    study_folder(tmp_path)
    args = ("run", "quad:objective", "--keep-going", "--space", "space.toml", "--n-trials", "3", "--backend",
            "serial", "--journal", "j.jsonl")
    assert cli(*args, cwd=tmp_path).returncode == 0
    quiet = cli("resume", "j.jsonl", cwd=tmp_path)
    loud = cli("resume", "j.jsonl", "-v", cwd=tmp_path)
    assert quiet.returncode == loud.returncode == 0
    assert "INFO" not in quiet.stderr
    assert "INFO runner._loop.loop: journal" in loud.stderr and "3 finished" in loud.stderr


def test_no_verb_prints_the_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """`trialrunner` alone lists the verbs (exit 2: nothing was done)."""
    assert main([]) == 2
    assert "verbs:" in capsys.readouterr().out


def test_a_cost_goal_of_zero_is_a_goal() -> None:
    """--cost-goal 0 counts as a goal for random search (a falsy goal is still a goal)."""
    from runner.cli._common import UsageError
    from runner.cli.run import check_it_ends

    command = {"optimizer": {"name": "random", "options": {}},
               "goals": {"n_trials": None, "cost": 0.0, "duration": None}}
    check_it_ends(command)
    command["goals"]["cost"] = None
    with pytest.raises(UsageError, match="never ends by itself"):
        check_it_ends(command)


def test_default_journals_started_in_the_same_second_do_not_collide(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two `run`s without --journal in one second get two journals under runs/."""
    study_folder(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    for _ in range(2):
        assert main(["run", "quad:objective", "--keep-going", "--space", "space.toml", "--n-trials", "2",
                     "--backend", "serial", "--keep-going"]) == 0
    assert len(list((tmp_path / "runs").glob("*.jsonl"))) == 2


def test_suite_hands_its_arguments_over(capsys: pytest.CaptureFixture[str]) -> None:
    """Where the suites are installed, `suite --help` is theirs and a bad file is one line."""
    pytest.importorskip("runner.suites")
    with pytest.raises(SystemExit) as exit_info:
        main(["suite", "--help"])
    assert exit_info.value.code == 0
    assert "--backend" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        main(["suite", "missing.toml", "--backend", "serial"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing.toml" in err


def test_duration_goal_is_the_loops_word_and_duration_still_works(tmp_path: Path) -> None:
    """--duration-goal S ends a study after S seconds, as the loop's duration_goal; --duration,
    its old name, still does for one release and warns on stderr; both at once is refused
    (issue 29 item 7)."""
    study_folder(tmp_path)
    base = ("run", "quad:objective", "--keep-going", "--space", "space.toml", "--backend", "serial")
    new = cli(*base, "--duration-goal", "0.5", "--journal", "new.jsonl", cwd=tmp_path)
    assert new.returncode == 0, new.stderr
    assert "deprecated" not in new.stderr
    old = cli(*base, "--duration", "0.5", "--journal", "old.jsonl", cwd=tmp_path)
    assert old.returncode == 0, old.stderr
    assert ("trialrunner run: warning: --duration is deprecated and will be removed in the next "
            "release; use --duration-goal") in old.stderr
    both = cli(*base, "--duration", "1", "--duration-goal", "1", cwd=tmp_path)
    assert both.returncode == 2 and "give only --duration-goal" in both.stderr
    assert "--duration-goal" in cli("run", "--help", cwd=tmp_path).stdout
