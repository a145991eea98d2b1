"""The commands and code of README.md and of the user-facing pages of docs/ run as written:
each page's shell blocks in order, as one script, from a copy of the checkout's docs/examples;
each Python block as its own script. `make` lines are left to CI (they are the
README's quick start and reinstall the virtualenv). The command-line blocks of the README and of
getting-started.md run verbatim, as a new user types them after `make run`: in a fresh shell
(no virtualenv active, no `trialrunner` on PATH) at the root of a copy of the checkout whose
`.venv` is the one `make run` leaves."""

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
SHELL_PAGES = ["cli.md", "reports.md"]
FRESH_CLONE_PAGES = ["../README.md", "getting-started.md"]
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


def _fresh_shell_env() -> dict[str, str]:
    """The environment of a new user's shell: no virtualenv active, no PYTHONPATH, and no
    folder on PATH that holds a ``trialrunner`` (so the page must say how it gets there)."""
    out = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    out["PATH"] = os.pathsep.join(
        d for d in os.environ.get("PATH", "").split(os.pathsep)
        if d and not os.path.exists(os.path.join(d, "trialrunner")))
    return out


def _is_make_block(body: str) -> bool:
    """The quick start: a block of `make` lines only (CI runs those itself)."""
    lines = [line for line in body.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return all(line.lstrip().startswith("make ") for line in lines)


@pytest.mark.slow
@pytest.mark.parametrize("page", FRESH_CLONE_PAGES)
def test_cli_block_runs_verbatim_on_a_fresh_clone(page: str, tmp_path: Path) -> None:
    """The page's command-line block, exactly as printed, from the root of a copy of the
    checkout after `make run` (its docs/examples, and the project's .venv), in a shell where
    nothing was activated: `trialrunner: command not found` fails it."""
    venv = ROOT / ".venv"
    if not (venv / "bin" / "activate").exists():
        pytest.skip(f"no virtualenv at {venv}: `make run` (or `make install`) creates it")
    shutil.copytree(DOCS / "examples", tmp_path / "docs" / "examples")
    (tmp_path / ".venv").symlink_to(venv, target_is_directory=True)
    cli_blocks = [body for body in blocks(page, "bash") if not _is_make_block(body)]
    assert any("trialrunner" in body for body in cli_blocks), f"{page} has no CLI block"
    assert shutil.which("trialrunner", path=_fresh_shell_env()["PATH"]) is None
    for body in cli_blocks:
        done = subprocess.run(["bash", "-e", "-x", "-c", body], cwd=tmp_path, timeout=300,
                              env=_fresh_shell_env(), capture_output=True, text=True)
        assert done.returncode == 0, f"{page}:\n{body}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


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
