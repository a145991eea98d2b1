"""Script targets with SMAC3's command-line protocol.

The command is run without a shell as ``cmd --instance=I --seed=S --budget=B --name=value ...``
(only the fields that are set) and must print a line such as
``cost=0.5; runtime=0.01; status=SUCCESS; additional_info=text``, fields in any order (several
objectives: ``cost=0.5, 0.4``); a reported ``runtime`` becomes ``TrialValue.time``. Output goes to private temporary files, not pipes, so a grandchild that keeps
the script's stdout open cannot hang the runner; what the script leaves running is killed.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any

from runner._core.returns import InvalidReturn
from runner._core.target import TRIAL_FIELDS, Target
from runner._core.verdicts import signal_name
from runner.errors import PreflightError
from trials import StatusType

__all__ = ["ScriptTarget", "ScriptFailed", "parse_script_output"]

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:\-]*$")
_STDERR_TAIL = 2000
IN_SUPERVISED_WORKER = False
"""Set in a supervised worker: its whole process group is then the trial's, so no new session."""


class ScriptFailed(InvalidReturn):
    """The script ran but did not report a valid result; the message carries its evidence."""


class ScriptTarget(Target):
    """A command line evaluated as a SMAC3-protocol script."""

    def __init__(self, command: str | Sequence[str]) -> None:
        argv = shlex.split(command) if isinstance(command, str) else list(command)
        if not argv:
            raise ValueError("target command line is empty")
        self.argv = argv

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
                 **shared_data: Any) -> Any:
        args = self.arguments(config, instance, seed, budget)
        with tempfile.TemporaryDirectory(prefix="trialrunner-") as tmp:
            out_path, err_path = os.path.join(tmp, "stdout"), os.path.join(tmp, "stderr")
            with open(out_path, "wb") as out, open(err_path, "wb") as err:
                proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                        start_new_session=not IN_SUPERVISED_WORKER)
                try:
                    code = proc.wait()
                finally:
                    _kill_leftovers(proc)
            with open(out_path, "rb") as f:
                stdout = f.read().decode("utf-8", "replace")
            with open(err_path, "rb") as f:
                f.seek(max(0, os.path.getsize(err_path) - _STDERR_TAIL))
                stderr_tail = f.read().decode("utf-8", "replace")
        return _script_result(code, stdout, stderr_tail)


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
