"""The documentation site builds with `mkdocs build --strict` and prints no warning (what
`make docs` runs), and every page of it is in the navigation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.clihelpers import ROOT, env

pytest.importorskip("mkdocs", reason="the docs extra is not installed: pip install '.[docs]'")
pytest.importorskip("mkdocstrings", reason="the docs extra is not installed")


@pytest.mark.slow
def test_site_builds_strict_without_warnings(tmp_path: Path) -> None:
    """mkdocs --strict exits 0 and logs no WARNING (broken links, anchors, API references)."""
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT, env=env(NO_MKDOCS_2_WARNING="1"), capture_output=True, text=True, timeout=240)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert "WARNING" not in output, output[-4000:]
    api = (tmp_path / "api" / "index.html").read_text()
    assert "OptimizationLoop" in api and "submit_trial" in api  # mkdocstrings rendered
    assert (tmp_path / "img" / "dataflow.svg").exists()


def test_every_page_is_in_the_nav() -> None:
    """A Markdown page that the nav leaves out would be unreachable on the site."""
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    missing = sorted(p for p in pages if f": {p}" not in nav)
    assert not missing, f"pages not in mkdocs.yml's nav: {missing}"
