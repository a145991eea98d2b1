"""The examples of docs/examples/ run as written: each one as a script, in a fresh folder, as a
user would run it. An example that needs another part of the project (a line `requires: MODULE`
in its docstring) is skipped, saying which, when that module is not importable here."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.clihelpers import ROOT, env

EXAMPLES = ROOT / "docs" / "examples"
SLOW = {"dask_by_address.py", "smac_on_our_runner.py", "suite.py", "report.py",
        "resume_after_crash.py"}
HELPERS = ("quad.py", "train.py", "smac_target.py")  # imported by the examples, not run
SCRIPTS = sorted(p.name for p in EXAMPLES.glob("*.py") if p.name not in HELPERS)


def _requires(path: Path) -> str | None:
    match = re.search(r"^requires: ([\w.]+)", path.read_text(), re.MULTILINE)
    return match[1] if match else None


def _import_error(module: str) -> str | None:
    """Why ``module`` does not import in the examples' environment (``None`` if it does); asked
    in a subprocess, as the example will run."""
    done = subprocess.run([sys.executable, "-c", f"import {module}"], env=env(),
                          capture_output=True, text=True, timeout=120)
    if done.returncode == 0:
        return None
    lines = done.stderr.strip().splitlines()
    return lines[-1] if lines else f"exit code {done.returncode}"


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in SCRIPTS])
def test_example_runs(name: str, tmp_path: Path) -> None:
    """`python docs/examples/NAME` exits 0 (its own asserts check what it shows)."""
    path = EXAMPLES / name
    needed = _requires(path)
    why = None if needed is None else _import_error(needed)
    if why is not None:
        pytest.skip(f"{name} needs {needed}, which does not import here: {why}")
    done = subprocess.run([sys.executable, str(path)], cwd=tmp_path, env=env(),
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, f"{name} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


def test_every_example_is_tested() -> None:
    """No example escapes the test above (helpers excepted)."""
    assert set(SCRIPTS) >= {"custom_target.py", "script_target.py", "resume_after_crash.py",
                            "report.py", "dask_by_address.py", "smac_on_our_runner.py",
                            "suite.py"}
