"""Script targets with SMAC3's command-line protocol.

The command is run without a shell as ``cmd --instance=I --seed=S --budget=B --name=value ...``
(only the fields that are set) and must print a line such as
``cost=0.5; runtime=0.01; status=SUCCESS; additional_info=text``, fields in any order (several
objectives: ``cost=0.5, 0.4``); a reported ``runtime`` becomes ``TrialValue.time``. Output goes to private temporary files, not pipes, so a grandchild that keeps
the script's stdout open cannot hang the runner; what the script leaves running is killed.

Checkpoints: ``ScriptTarget(command, checkpoint=True)`` asks for a checkpoint directory per
trial, which the script finds in the environment variable ``TRIALRUNNER_CHECKPOINT_DIR`` (the
protocol's arguments stay as SMAC3 passes them).

Intermediate results: a line ``report: step=3; cost=0.5`` (more ``name=value`` fields become
metrics) is read while the script runs and passed to the trial's ``report``; when the trial is
to stop, the script gets SIGTERM (its process group, or itself inside a supervised worker),
SIGKILL ``STOP_GRACE`` seconds later, and the trial is STOPPED with that report's cost.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from runner._core.returns import InvalidReturn
from runner._core.target import TRIAL_FIELDS, Target
from runner._core.verdicts import signal_name
from runner.errors import PreflightError
from trials import StatusType

__all__ = ["CHECKPOINT_ENV", "ScriptTarget", "ScriptFailed", "parse_script_output"]

CHECKPOINT_ENV = "TRIALRUNNER_CHECKPOINT_DIR"
"""The environment variable naming a script's checkpoint directory (``checkpoint=True``)."""

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:\-]*$")
_STDERR_TAIL = 2000
STOP_GRACE = 0.25
"""Seconds between SIGTERM and SIGKILL for a script told to stop."""
IN_SUPERVISED_WORKER = False
"""Set in a supervised worker: its whole process group is then the trial's, so no new session."""


class ScriptFailed(InvalidReturn):
    """The script ran but did not report a valid result; the message carries its evidence."""


class ScriptTarget(Target):
    """A command line evaluated as a SMAC3-protocol script; ``checkpoint=True``: each trial
    gets a checkpoint directory, named in the script's ``TRIALRUNNER_CHECKPOINT_DIR``."""

    report_optional = True

    def __init__(self, command: str | Sequence[str], *, checkpoint: bool = False) -> None:
        argv = shlex.split(command) if isinstance(command, str) else list(command)
        if not argv:
            raise ValueError("target command line is empty")
        if not isinstance(checkpoint, bool):
            raise TypeError(f"checkpoint must be True or False, got {checkpoint!r} (type "
                            f"{type(checkpoint).__name__})")
        self.argv = argv
        self.checkpoint = checkpoint

    @property
    def wants_checkpoint(self) -> bool:
        return self.checkpoint

    @property
    def name(self) -> str:
        return os.path.basename(self.argv[0])

    def check(self, shared_data: Mapping[str, Any]) -> None:
        exe = self.argv[0]
        if os.sep in exe:
            if not os.path.isfile(exe):
                raise PreflightError(f"script target {exe!r} does not exist")
            if not os.access(exe, os.X_OK):
                raise PreflightError(f"script target {exe!r} is not executable (chmod +x it)")
        elif shutil.which(exe) is None:
            raise PreflightError(f"script target {exe!r} is not found on PATH")
        if shared_data:
            raise PreflightError("shared_data cannot be passed to a script target; "
                                 "pass a file path in the config instead")

    def check_trial(self, info: Any) -> None:
        """At ``submit_trial``: refuse a config key the protocol cannot pass (``ValueError``)."""
        for key in info.config:
            _check_key(key)

    def arguments(self, config: Mapping[str, Any], instance: str | None, seed: int | None,
                  budget: float | None) -> list[str]:
        """The argv for one trial; raises ``ValueError`` for a config key the protocol forbids."""
        args = list(self.argv)
        for key, value in (("instance", instance), ("seed", seed), ("budget", budget)):
            if value is not None:
                args.append(f"--{key}={value}")
        for key, value in config.items():
            _check_key(key)
            args.append(f"--{key}={value}")
        return args

    def __call__(self, config: Mapping[str, Any], *, instance: str | None = None,
                 seed: int | None = None, budget: float | None = None,
                 report: Callable[..., Any] | None = None, checkpoint: Any = None,
                 **shared_data: Any) -> Any:
        args = self.arguments(config, instance, seed, budget)
        env = None if checkpoint is None else {**os.environ, CHECKPOINT_ENV: str(checkpoint)}
        with tempfile.TemporaryDirectory(prefix="trialrunner-") as tmp:
            out_path, err_path = os.path.join(tmp, "stdout"), os.path.join(tmp, "stderr")
            with open(out_path, "wb") as out, open(err_path, "wb") as err:
                proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                        start_new_session=not IN_SUPERVISED_WORKER, env=env)
                try:
                    code = proc.wait() if report is None else _follow(proc, out_path, report)
                finally:
                    _kill_leftovers(proc)
            with open(out_path, "rb") as f:
                stdout = f.read().decode("utf-8", "replace")
            with open(err_path, "rb") as f:
                f.seek(max(0, os.path.getsize(err_path) - _STDERR_TAIL))
                stderr_tail = f.read().decode("utf-8", "replace")
        return _script_result(code, stdout, stderr_tail)


def _follow(proc: subprocess.Popen[bytes], out_path: str, report: Callable[..., Any]) -> int:
    """Wait for the script, passing each ``report:`` line it prints to ``report`` as it comes;
    if ``report`` raises (the trial is to stop), end the script and let the error through."""
    import select

    try:
        pidfd: int | None = os.pidfd_open(proc.pid)  # readable the moment the script exits
    except (AttributeError, OSError):
        pidfd = None
    exited = select.poll()
    if pidfd is not None:
        exited.register(pidfd, select.POLLIN)
    pause, pending = 0.002, b""
    try:
        with open(out_path, "rb") as out:
            while True:
                if pidfd is not None:
                    exited.poll(int(pause * 1000) + 1)
                    code = proc.poll()
                else:
                    try:
                        code = proc.wait(timeout=pause)
                    except subprocess.TimeoutExpired:
                        code = None
                chunk = out.read()
                pending += chunk
                *lines, pending = pending.split(b"\n")
                pause = 0.002 if chunk else min(0.05, pause * 2)
                try:
                    for line in lines:
                        fields = parse_report_line(line.decode("utf-8", "replace"))
                        if fields is not None:
                            report(*fields[:2], **fields[2])
                except BaseException:
                    _terminate(proc)
                    raise
                if code is not None:
                    return code
    finally:
        if pidfd is not None:
            os.close(pidfd)


def parse_report_line(line: str) -> tuple[Any, Any, dict[str, Any]] | None:
    """``(step, cost, metrics)`` of a line ``report: step=3; cost=0.5[; name=value ...]``, or
    ``None`` for any other line (and for a report line without a number step and cost)."""
    head, sep, rest = line.strip().partition(":")
    if not sep or head.strip() != "report":
        return None
    fields = {}
    for part in rest.split(";"):
        key, eq, value = part.partition("=")
        if eq:
            fields[key.strip()] = value.strip()
    try:
        step = float(fields.pop("step"))
        costs = [float(c) for c in fields.pop("cost").split(",")]
    except (KeyError, ValueError):
        return None
    metrics: dict[str, Any] = {}
    for key, value in fields.items():
        try:
            metrics[key] = float(value)
        except ValueError:
            metrics[key] = value
    return (int(step) if step.is_integer() else step,
            costs[0] if len(costs) == 1 else tuple(costs), metrics)


def _terminate(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the script (its group, when it has its own), SIGKILL after ``STOP_GRACE``."""
    try:
        if IN_SUPERVISED_WORKER:
            proc.terminate()
        else:
            os.killpg(proc.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _check_key(key: Any) -> None:
    if key in TRIAL_FIELDS:
        raise ValueError(
            f"config key {key!r} collides with the trial field passed as --{key}= to script "
            "targets; rename the parameter"
        )
    if not isinstance(key, str) or not _KEY.match(key):
        raise ValueError(
            f"config key {key!r} cannot be passed to a script as --{key}=value; use letters, "
            "digits, '_', '.', ':' and '-' only"
        )


def _kill_leftovers(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    if not IN_SUPERVISED_WORKER:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # its session: whatever it left running
        except (ProcessLookupError, PermissionError):
            pass


def _tails(stdout: str, stderr_tail: str) -> str:
    """What the script printed, for an error message: the ends of stdout and stderr."""
    out = stdout[-_STDERR_TAIL:]
    return (f"stdout tail:\n{out.rstrip() or '(empty)'}\n"
            f"stderr tail:\n{stderr_tail.rstrip() or '(empty)'}")


def _number(fields: dict[str, str], key: str, stdout: str, stderr_tail: str) -> float | None:
    if key not in fields:
        return None
    try:
        value = float(fields[key])
    except ValueError:
        raise ScriptFailed(f"script printed {key}={fields[key]!r}, which is not a number; "
                           + _tails(stdout, stderr_tail)) from None
    if not (value >= 0 and value != float("inf")):
        raise ScriptFailed(f"script printed {key}={fields[key]!r}; it must be a finite number "
                           ">= 0 of seconds; " + _tails(stdout, stderr_tail))
    return value


def _script_result(code: int, stdout: str, stderr_tail: str) -> Any:
    """SMAC3's reading of a script's result line (fields in any order): ``cost`` (required),
    ``status`` (default SUCCESS), ``runtime`` (becomes ``TrialValue.time``), ``cpu_time`` and
    ``additional_info`` (kept in ``additional_info``); returned as a ``run`` 4-tuple."""
    if code != 0:
        how = f"killed by {signal_name(-code)}" if code < 0 else f"exited with status {code}"
        raise ScriptFailed(f"script {how}; " + _tails(stdout, stderr_tail))
    fields = parse_script_output(stdout)
    if fields is None or "cost" not in fields:
        raise ScriptFailed("script printed no result line with a 'cost=' field (expected e.g. "
                           "'cost=0.5; status=SUCCESS', fields in any order, separated by ';'); "
                           + _tails(stdout, stderr_tail))
    status_name = fields.get("status", "SUCCESS").strip().upper()
    if status_name not in StatusType.__members__:
        raise ScriptFailed(f"script printed unknown status {status_name!r} (expected one of "
                           f"{', '.join(StatusType.__members__)}); " + _tails(stdout, stderr_tail))
    try:
        costs = [float(c) for c in fields["cost"].split(",")]
    except ValueError:
        raise ScriptFailed(f"script printed a cost that is not a number: {fields['cost']!r}; "
                           + _tails(stdout, stderr_tail)) from None
    runtime = _number(fields, "runtime", stdout, stderr_tail)
    info: dict[str, Any] = {}
    cpu_time = _number(fields, "cpu_time", stdout, stderr_tail)
    if cpu_time is not None:
        info["cpu_time"] = cpu_time
    if "additional_info" in fields:
        info["additional_info"] = fields["additional_info"]
    cost: Any = costs[0] if len(costs) == 1 else costs
    status = StatusType[status_name]
    if status != StatusType.SUCCESS:
        info.setdefault("error", f"script reported status {status_name}; "
                        + _tails(stdout, stderr_tail))
    return status, cost, runtime, info


_FIELDS = ("cost", "status", "runtime", "cpu_time", "additional_info")


def parse_script_output(stdout: str) -> dict[str, str] | None:
    """The ``key=value`` fields of the script's result line, or ``None`` if it printed none.

    As in SMAC3, fields are separated by ``;`` and may come in any order; the result line is
    the last line holding a ``cost=`` field (or, failing that, a ``status=`` field), so output
    printed before it is ignored.
    """
    fallback = None
    for line in reversed(stdout.splitlines()):
        if line.lstrip().startswith("report:"):
            continue  # an intermediate result, not the result line
        fields = {}
        for part in line.split(";"):
            key, sep, value = part.partition("=")
            if sep and key.strip() in _FIELDS:
                fields[key.strip()] = value.strip()
        if "cost" in fields:
            return fields
        if fallback is None and "status" in fields:
            fallback = fields
    return fallback
