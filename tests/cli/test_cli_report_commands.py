"""`report` in a pipe, and what `run`/`resume` print (issue 28 items 8, 11, 12; issue 27 item
17): files written before the summary, a closed stdout is no error, the journal named once, the
backend of a resume recorded, and the command of a journal not written here shown first."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.clihelpers import cli, env, study_folder
from tests.cli.reportjournals import flat, trial, write


@pytest.mark.parametrize("reader", ["head -3", "true"])
def test_report_into_a_closed_pipe_writes_every_file_and_exits_0(tmp_path: Path,
                                                                 reader: str) -> None:
    """`report J --plot --html --csv | head -3` (or a reader that reads nothing) writes all
    three files and exits 0 without a word on stderr."""
    pytest.importorskip("matplotlib")
    journal = write(tmp_path / "j.jsonl", flat(*(trial(i, float(i)) for i in range(30))))
    command = (f"{sys.executable} -m runner report {journal} --plot a.png --html a.html "
               f"--csv a.csv | {reader}")
    done = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=tmp_path, env=env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    for name in ("a.png", "a.html", "a.csv"):
        assert (tmp_path / name).stat().st_size > 0, name


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 3-trial study started by `trialrunner run` on the serial backend."""
    folder = study_folder(tmp_path_factory.mktemp("resume"))
    done = cli("run", "quad:objective", "--keep-going", "--space", "space.toml", "--n-trials", "3",
               "--backend", "serial", "--seed", "1", "--journal", "j.jsonl", cwd=folder)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("journal:") == 1, done.stdout
    assert f"--plot {folder / 'j.png'} --html {folder / 'j.html'}" in done.stdout  # not the cwd
    return folder / "j.jsonl"


def test_resume_records_its_backend_and_the_report_shows_it(study: Path) -> None:
    """After `resume --backend thread --workers 3` the summary names thread x 3 (and what the
    study started on), and names the journal once."""
    done = cli("resume", str(study), "--backend", "thread", "--workers", "3", cwd=study.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("journal:") == 1, done.stdout
    assert "backend: thread x 3 (started on serial)" in done.stdout
    assert "may not be yours" not in done.stderr  # this user wrote it, here
    header = json.loads(study.read_text().splitlines()[0])
    assert header["command"]["origin"]["host"]
