"""Fixtures of the documentation tests: the site, built once for every test that reads it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import attrs
import pytest

from tests.cli.clihelpers import ROOT, env


@attrs.frozen
class Site:
    """One `mkdocs build --strict` of docs/ (what `make docs` runs): where, and what it said."""

    folder: Path
    returncode: int
    output: str


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    """The site, built once per test process (a build takes seconds of CPU; two test files read
    it). The tests that use it skip where the docs extra is not installed."""
    folder = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(folder)],
        cwd=ROOT, env=env(NO_MKDOCS_2_WARNING="1"), capture_output=True, text=True, timeout=240)
    return Site(folder, done.returncode, done.stdout + done.stderr)
