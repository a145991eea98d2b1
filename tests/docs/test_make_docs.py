"""`make docs` prints one line per step, not pip's editable-install banner (issue #28 item 12):
the recipe is run by make for real, with a stand-in interpreter that prints a banner the way
pip does when installing, so only the Makefile's handling of that output is under test."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli.clihelpers import ROOT

BANNER = "BuildBackendWarning: Editable installation."

FAKE_PYTHON = f"""#!/bin/sh
# stands in for .venv/bin/python: "pip" talks the way pip does; "mkdocs" says it built
if [ "$2" = pip ]; then echo "Obtaining file://$PWD"; echo "{BANNER}" >&2; exit 0; fi
echo "mkdocs built the site"
"""


@pytest.mark.skipif(shutil.which("make") is None, reason="no make on this machine")
def test_make_docs_keeps_pips_output_in_a_log(tmp_path: Path) -> None:
    """Installing the docs extra prints one line of make's own; pip's talk goes to the log."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    (venv / ".installed").touch()  # the main install is done (newer than pyproject.toml)
    done = subprocess.run(["make", "--no-print-directory", "docs", f"VENV={venv}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert BANNER not in output and "Obtaining" not in output, output
    assert BANNER in (venv / "pip-docs.log").read_text()
    assert "mkdocs built the site" in output
