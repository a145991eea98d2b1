"""Helpers of the CLI tests: a study folder with a target module and a space file, and a way to
run ``python -m runner`` as a user would (a subprocess, this checkout first on its path)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

TARGET = '''\
import os, time

def objective(config, seed=None):
    time.sleep(float(os.environ.get("TRIAL_SLEEP", "0")))
    if config["x"] > 4.5:
        raise ValueError("x is too far out")
    return (config["x"] - 2) ** 2 + (0.0 if config["kind"] == "a" else 1.0)


def with_budget(config, budget):
    time.sleep(float(os.environ.get("TRIAL_SLEEP", "0")))
    return (config["x"] - 2) ** 2 + 1.0 / budget
'''

SPACE = '''\
[x]
low = -5.0
high = 5.0

[kind]
choices = ["a", "b"]
'''


def study_folder(folder: Path) -> Path:
    """Write ``quad.py`` (targets) and ``space.toml`` into ``folder``; return it."""
    (folder / "quad.py").write_text(TARGET)
    (folder / "space.toml").write_text(SPACE)
    return folder


def env(**extra: str) -> dict[str, str]:
    """The environment a CLI subprocess gets: this checkout importable first."""
    out = dict(os.environ)
    out["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), out.get("PYTHONPATH")) if p)
    out.update(extra)
    return out


def cli(*args: str, cwd: Path, timeout: float = 120, **extra: str
        ) -> subprocess.CompletedProcess[str]:
    """Run ``python -m runner ARGS`` in ``cwd`` and return what it did."""
    return subprocess.run([sys.executable, "-m", "runner", *args], cwd=cwd, env=env(**extra),
                          capture_output=True, text=True, timeout=timeout)
