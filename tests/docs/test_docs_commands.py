"""The commands and code of README.md and of the user-facing pages of docs/ run as written:
each page's shell blocks in order, as one script, from a copy of the checkout's docs/examples;
each Python block as its own script. `make` lines are left to CI (they are the
README's quick start and reinstall the virtualenv)."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from runner.cli._space import _toml, read_space_file
from tests.cli.clihelpers import ROOT, env

DOCS = ROOT / "docs"
SHELL_PAGES = ["../README.md", "getting-started.md", "cli.md", "reports.md"]
PYTHON_PAGES = ["getting-started.md", "reports.md", "backends/serial.md",
                "backends/process-pool.md", "backends/dask.md", "backends/threads.md",
                "backends/asyncio.md"]
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(page: str, language: str) -> list[str]:
    """The fenced blocks of ``language`` on ``page``, in order."""
    return [body for lang, body in FENCE.findall((DOCS / page).read_text()) if lang == language]


def _path_with_trialrunner(folder: Path) -> str:
    """PATH with this interpreter's folder first, and a `trialrunner` (the installed console
    script, or a shim running the same entry point when this checkout is not installed)."""
    bindir = os.path.dirname(sys.executable)
    extra = [bindir]
    if not os.path.exists(os.path.join(bindir, "trialrunner")):
        shim = folder / "bin" / "trialrunner"
        shim.parent.mkdir()
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m runner "$@"\n')
        shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
        extra.insert(0, str(shim.parent))
    return os.pathsep.join([*extra, os.environ.get("PATH", "")])


@pytest.mark.slow
@pytest.mark.parametrize("page", SHELL_PAGES)
def test_shell_blocks_run_as_written(page: str, tmp_path: Path) -> None:
    """Every shell line of the page (but `make`) runs, in order, and succeeds."""
    shutil.copytree(DOCS / "examples", tmp_path / "docs" / "examples")
    lines = [line for body in blocks(page, "bash") for line in body.splitlines()
             if line.strip() and not line.lstrip().startswith(("make ", "#"))]
    assert lines, f"{page} has no shell commands"
    script = "set -ex\n" + "\n".join(line.split("  #")[0] for line in lines) + "\n"
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, timeout=300,
                          env=env(PATH=_path_with_trialrunner(tmp_path)),
                          capture_output=True, text=True)
    assert done.returncode == 0, f"{page}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


@pytest.mark.parametrize(("page", "index"), [
    pytest.param(page, i, marks=[pytest.mark.slow] if "dask" in page else [])
    for page in PYTHON_PAGES for i in range(len(blocks(page, "python")))])
def test_python_blocks_run_as_written(page: str, index: int, tmp_path: Path) -> None:
    """Each Python block of the page is a script that runs."""
    source = blocks(page, "python")[index]
    (tmp_path / "block.py").write_text(source)
    done = subprocess.run([sys.executable, "block.py"], cwd=tmp_path, env=env(),
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, f"{page} block {index}:\n{done.stderr[-3000:]}"


def test_the_space_file_format_of_the_cli_page_is_accepted(tmp_path: Path) -> None:
    """The TOML space shown on cli.md is a valid space file."""
    (toml_block,) = blocks("cli.md", "toml")
    _toml().loads(toml_block)
    path = tmp_path / "space.toml"
    path.write_text(toml_block)
    space = read_space_file(str(path))
    assert set(space["spec"]) == {"x", "lr", "kind"}
