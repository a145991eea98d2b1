"""`trialrunner run ... --backend slurm`: the docs' example study on the test SLURM, and one
line, exit 2, where SLURM is not installed."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from tests.cli.clihelpers import ROOT, cli
from tests.cluster.slurm_host import SlurmHost
from trials import History, read_header

EXAMPLES = ROOT / "docs" / "examples"


def _example_folder(folder: Path) -> Path:
    for name in ("quad.py", "space.toml"):
        shutil.copy(EXAMPLES / name, folder / name)
    return folder


def test_run_on_slurm_jobs(slurm: SlurmHost, tmp_path: Path) -> None:
    """The docs' quad example runs on 2 SLURM jobs; the journal header keeps the job options
    and the jobs' logs land under runs/slurm-logs; no job is left. (``--keep-going``: the
    example crashes for x > 4.5, as real targets do, now and then within 12 trials.)"""
    _example_folder(tmp_path)
    done = cli("run", "quad:objective", "--keep-going", "--space", "space.toml", "--n-trials", "12",
               "--backend", "slurm", "--jobs", "2", "--job-cores", "1", "--job-memory", "1GB",
               "--job-walltime", "00:05:00", "--journal", "runs/s.jsonl",
               "--keep-going", cwd=tmp_path,
               timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(History.load(tmp_path / "runs" / "s.jsonl")) == 12
    backend = read_header(tmp_path / "runs" / "s.jsonl")["command"]["backend"]
    assert backend["name"] == "slurm"
    assert backend["slurm"]["jobs"] == 2 and backend["slurm"]["walltime"] == "00:05:00"
    assert list((tmp_path / "runs" / "slurm-logs").iterdir())


def test_no_slurm_installed_is_one_line_exit_2(tmp_path: Path) -> None:
    """With no sbatch on PATH, --backend slurm exits 2 with one line saying so."""
    _example_folder(tmp_path)
    bare = tmp_path / "bin"
    bare.mkdir()
    (bare / "python").symlink_to(sys.executable)
    done = cli("run", "quad:objective", "--keep-going", "--space", "space.toml", "--n-trials", "2",
               "--backend", "slurm", "--jobs", "2", cwd=tmp_path, PATH=str(bare))
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "SLURM is not installed" in lines[0], done.stderr


def test_slurm_options_need_the_slurm_backend(tmp_path: Path) -> None:
    """--jobs with another backend is refused, naming the option."""
    _example_folder(tmp_path)
    done = cli("run", "quad:objective", "--keep-going", "--space", "space.toml", "--n-trials", "2",
               "--jobs", "3", cwd=tmp_path)
    assert done.returncode == 2
    assert "--jobs needs --backend slurm" in done.stderr


def test_suite_on_slurm_jobs(slurm: SlurmHost, tmp_path: Path) -> None:
    """`trialrunner suite FILE --backend slurm --jobs 2` runs the suite on SLURM jobs."""
    suite = tmp_path / "s.toml"
    suite.write_text('name = "c"\nproblems = ["branin"]\noptimizers = ["random"]\n'
                     'seeds = [0]\nn_trials = 6\n')
    done = cli("suite", str(suite), "--backend", "slurm", "--jobs", "2", "--job-memory", "1GB",
               "--job-walltime", "00:05:00", "--out", str(tmp_path / "out"), cwd=tmp_path,
               timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "out" / "results.csv").exists()
