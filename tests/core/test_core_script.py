"""Script targets with SMAC3's command-line protocol (``runner/_core/script.py``)."""

from __future__ import annotations

import stat
import sys
import time

import psutil
import pytest

from runner import PreflightError, ProcessPoolRunner, SerialRunner
from runner.testing import drain, wait_until
from trials import StatusType, TrialInfo


def script(tmp_path, body: str, name: str = "target.py") -> str:
    """Write an executable Python script with ``body`` and return its path."""
    path = tmp_path / name
    path.write_text(f"#!{sys.executable}\nimport sys, os, time\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


ECHO_ARGS = "print('args:', sys.argv[1:], file=sys.stderr)\n"


def run_one(target, info: TrialInfo, **kwargs):
    """Evaluate one trial on a SerialRunner and return its value."""
    with SerialRunner(target, **kwargs) as runner:
        runner.submit_trial(info)
        [(_, value)] = drain(runner, 1)
        return value


def test_success_with_arguments(tmp_path):
    """A script gets --instance/--seed/--budget and --name=value, and its cost line is read."""
    path = script(tmp_path, "args = sys.argv[1:]\nprint('noise')\n"
                  "print('cost=0.25; runtime=0.5; status=SUCCESS; additional_info=' + "
                  "' '.join(args))")
    value = run_one(path, TrialInfo({"x": 3, "lr": 0.1}, instance="i1", seed=4, budget=9.0))
    assert value.status == StatusType.SUCCESS, value
    assert value.cost == 0.25
    assert value.time == 0.5  # the script's runtime= (SMAC3); what we measured is kept beside
    assert value.additional_info["measured_time"] > 0
    assert value.additional_info["additional_info"] == (
        "--instance=i1 --seed=4 --budget=9.0 --x=3 --lr=0.1")


def test_only_set_fields_are_passed(tmp_path):
    """Fields that are None are not passed to the script at all."""
    path = script(tmp_path, "print('cost=1; additional_info=' + ' '.join(sys.argv[1:]))")
    value = run_one(path, TrialInfo({"x": 1}))
    assert value.additional_info["additional_info"] == "--x=1"


def test_multi_objective_cost_line(tmp_path):
    """``cost=0.5, 0.4`` gives one cost per objective."""
    path = script(tmp_path, "print('cost=0.5, 0.4')")
    value = run_one(path, TrialInfo({}), objectives=["error", "time"])
    assert value.status == StatusType.SUCCESS, value
    assert value.cost == (0.5, 0.4)


def test_missing_cost_line_is_crashed_with_stderr_tail(tmp_path):
    """A script that prints no cost line is CRASHED with its stderr tail in ``error``."""
    path = script(tmp_path, "print('hello')\nprint('x' * 5000 + 'the reason', file=sys.stderr)")
    value = run_one(path, TrialInfo({}))
    assert value.status == StatusType.CRASHED, value
    error = value.additional_info["error"]
    assert "no result line with a 'cost=' field" in error and error.endswith("the reason")
    assert len(error) < 2400, "the stderr tail should be bounded"


def test_cost_with_exit_status_1_is_crashed(tmp_path):
    """A script printing cost=1.0 but exiting with status 1 is CRASHED with the exit status and
    its stderr tail (FAULTS A11)."""
    path = script(tmp_path, "print('cost=1.0')\nprint('it broke', file=sys.stderr)\nsys.exit(1)")
    value = run_one(path, TrialInfo({}), crash_cost=99.0)
    assert value.status == StatusType.CRASHED and value.cost == 99.0, value
    assert "exited with status 1" in value.additional_info["error"]
    assert "it broke" in value.additional_info["error"]


def test_script_killed_by_signal_names_it(tmp_path):
    """A script killed by a signal is CRASHED naming the signal."""
    path = script(tmp_path, "import signal\nos.kill(os.getpid(), signal.SIGKILL)")
    value = run_one(path, TrialInfo({}))
    assert value.status == StatusType.CRASHED
    assert "SIGKILL" in value.additional_info["error"]


def test_script_killed_by_a_real_time_signal_keeps_its_stderr(tmp_path):
    """A script killed by a signal without a name (a real-time one, 40) is CRASHED "killed by
    signal 40" with its stderr tail (before: ValueError from signal.Signals(40), stderr lost)."""
    path = script(tmp_path, "print('last words', file=sys.stderr, flush=True)\n"
                            "os.kill(os.getpid(), 40)")
    value = run_one(path, TrialInfo({}))
    assert value.status == StatusType.CRASHED, value
    assert "killed by signal 40" in value.additional_info["error"]
    assert "last words" in value.additional_info["error"]


def test_reported_timeout_status(tmp_path):
    """``status=TIMEOUT`` printed by the script is TIMEOUT with crash_cost."""
    path = script(tmp_path, "print('cost=3; status=TIMEOUT')")
    value = run_one(path, TrialInfo({}), crash_cost=50.0)
    assert value.status == StatusType.TIMEOUT, value
    assert value.cost == 50.0
    assert "TIMEOUT" in value.additional_info["error"]


@pytest.mark.parametrize(("line", "needle"), [
    ("cost=abc", "not a number"),
    ("cost=1; status=GREAT", "unknown status"),
])
def test_malformed_lines_are_crashed(tmp_path, line, needle):
    """A cost that is not a number or an unknown status is CRASHED saying so."""
    path = script(tmp_path, f"print({line!r})")
    value = run_one(path, TrialInfo({}))
    assert value.status == StatusType.CRASHED
    assert needle in value.additional_info["error"]


def test_hanging_script_is_timeout_and_its_group_killed(tmp_path):
    """A script that hangs under walltime_limit is TIMEOUT, and it and its child are gone."""
    path = script(tmp_path, "import subprocess\n"
                  "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
                  f"open({str(tmp_path / 'pids')!r}, 'w').write(f'{{os.getpid()}} {{c.pid}}')\n"
                  "time.sleep(60)")
    t0 = time.monotonic()
    value = run_one(path, TrialInfo({}), walltime_limit=1)
    assert value.status == StatusType.TIMEOUT, value
    assert time.monotonic() - t0 < 4
    for pid in map(int, (tmp_path / "pids").read_text().split()):
        wait_until(lambda pid=pid: not _alive(pid), 5, f"script process {pid} to be killed")


def test_grandchild_holding_stdout_does_not_hang(tmp_path):
    """A script that leaves a grandchild holding its stdout returns at once, and the grandchild
    is killed (FAULTS A10)."""
    path = script(tmp_path, "import subprocess\n"
                  "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
                  f"open({str(tmp_path / 'pid')!r}, 'w').write(str(c.pid))\n"
                  "print('cost=0.5')")
    for kwargs in ({}, {"walltime_limit": 30}):
        t0 = time.monotonic()
        value = run_one(path, TrialInfo({}), **kwargs)
        assert value.status == StatusType.SUCCESS and value.cost == 0.5, value
        assert time.monotonic() - t0 < 5
        pid = int((tmp_path / "pid").read_text())
        wait_until(lambda pid=pid: not _alive(pid), 5, f"grandchild {pid} to be killed")


@pytest.mark.parametrize("key", ["seed", "instance", "budget"])
def test_config_key_colliding_with_a_field_is_refused(tmp_path, key):
    """A config key named like a trial field is a ValueError at submit, before the script runs."""
    path = script(tmp_path, f"open({str(tmp_path / 'ran')!r}, 'w')\nprint('cost=1')")
    with SerialRunner(path) as runner:
        with pytest.raises(ValueError, match=f"config key '{key}' collides"):
            runner.submit_trial(TrialInfo({key: 1}))
    assert not (tmp_path / "ran").exists()


def test_config_value_cannot_become_an_option(tmp_path):
    """A value like ``--evil`` stays inside ``--x=--evil``; no shell is involved."""
    path = script(tmp_path, "print('cost=1; additional_info=' + '|'.join(sys.argv[1:]))")
    value = run_one(path, TrialInfo({"x": "--evil", "y": "a b && rm -rf /", "z": "$(id)"}))
    assert value.additional_info["additional_info"] == "--x=--evil|--y=a b && rm -rf /|--z=$(id)"


def test_config_key_that_is_not_an_option_name_is_refused(tmp_path):
    """A config key with spaces or '=' cannot be passed as --key=value: ValueError at submit."""
    path = script(tmp_path, "print('cost=1')")
    with SerialRunner(path) as runner, pytest.raises(ValueError, match="cannot be passed"):
        runner.submit_trial(TrialInfo({"a=b": 1}))


def test_missing_script_is_preflight_error(tmp_path):
    """A script that does not exist fails at construction with PreflightError."""
    with pytest.raises(PreflightError, match="does not exist"):
        SerialRunner(str(tmp_path / "nope.py"))


def test_not_executable_script_is_preflight_error(tmp_path):
    """A script without the executable bit fails at construction, saying chmod +x."""
    path = tmp_path / "plain.py"
    path.write_text("print('cost=1')\n")
    with pytest.raises(PreflightError, match=r"chmod \+x"):
        SerialRunner(str(path))


def test_command_not_on_path_is_preflight_error():
    """A bare command name that is not on PATH fails at construction."""
    with pytest.raises(PreflightError, match="not found on PATH"):
        SerialRunner("no-such-command-xyz --flag")


def test_command_line_with_interpreter(tmp_path):
    """A command line string (interpreter + script + fixed args) is split without a shell."""
    path = tmp_path / "t.py"
    path.write_text("import sys\nprint('cost=2; additional_info=' + ' '.join(sys.argv[1:]))\n")
    value = run_one(f"{sys.executable} {path} --fixed=1", TrialInfo({"x": 5}, seed=1))
    assert value.status == StatusType.SUCCESS, value
    assert value.additional_info["additional_info"] == "--fixed=1 --seed=1 --x=5"


def test_shared_data_is_refused_for_scripts(tmp_path):
    """shared_data cannot reach a script: PreflightError at construction."""
    path = script(tmp_path, "print('cost=1')")
    with pytest.raises(PreflightError, match="shared_data"):
        SerialRunner(path, shared_data={"table": [1, 2]})


def test_scripts_on_the_process_pool(tmp_path):
    """Script targets run on the process pool in parallel, each trial its own command."""
    path = script(tmp_path, "print('cost=' + sys.argv[1].split('=')[1])")
    with ProcessPoolRunner(path, n_workers=2) as runner:
        infos = [TrialInfo({"x": float(i)}) for i in range(6)]
        for info in infos:
            runner.submit_trial(info)
        for info, value in drain(runner, 6):
            assert value.status == StatusType.SUCCESS and value.cost == info.config["x"], value


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


RESUMING = """\
import pathlib
state = pathlib.Path(os.environ["TRIALRUNNER_CHECKPOINT_DIR"]) / "step"
start = int(state.read_text()) if state.exists() else 0
budget = int(float([a for a in sys.argv if a.startswith("--budget=")][0].split("=")[1]))
for step in range(start + 1, budget + 1):
    state.write_text(str(step))
print(f"cost={1 / budget}; additional_info=started {start} in {state.parent}")
"""


def test_a_script_asking_for_checkpoints_finds_its_directory_in_the_environment(tmp_path):
    """ScriptTarget(cmd, checkpoint=True): each trial's script gets its own directory in
    TRIALRUNNER_CHECKPOINT_DIR; Hyperband's continuations find what their trial saved there."""
    from runner import OptimizationLoop, ScriptTarget
    from runner.optimizers import Hyperband

    target = ScriptTarget(script(tmp_path, RESUMING), checkpoint=True)
    assert target.wants_checkpoint and not ScriptTarget("true").wants_checkpoint
    optimizer = Hyperband({"x": (0.0, 1.0)}, min_budget=1, max_budget=9, eta=3, seed=0,
                          n_iterations=1, continuation=True)
    with ProcessPoolRunner(target, n_workers=2) as runner:
        loop = OptimizationLoop(optimizer, runner, checkpoints=tmp_path / "ckpt")
        loop.run()
    assert all(v.status == StatusType.SUCCESS for _, v in loop.history), list(loop.history)
    for info, value in loop.history:
        started, where = value.additional_info["additional_info"].split(" in ")
        assert where == info.additional_info["checkpoint_dir"]
        continued = "continues_trial" in info.additional_info
        assert started == f"started {int(info.budget) // 3 if continued else 0}", (info, value)
    assert any("continues_trial" in i.additional_info for i, _ in loop.history)


def test_script_checkpoint_must_be_a_bool():
    """A mistyped checkpoint= is refused at construction, naming it."""
    from runner import ScriptTarget

    with pytest.raises(TypeError, match="checkpoint must be True or False, got 'yes'"):
        ScriptTarget("true", checkpoint="yes")  # type: ignore[arg-type]
