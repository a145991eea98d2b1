"""`trialrunner run --trial-cpus/--trial-gpus/--gpus`: the options reach the runner through the
journal header, and each trial's devices and cores reach the journal."""

from __future__ import annotations

from pathlib import Path

from tests.cli.clihelpers import cli, study_folder
from trials import read_header, read_records

SEEN = '''\
import os

def objective(config, seed=None):
    return float(config["x"]) ** 2, {"seen": os.environ.get("CUDA_VISIBLE_DEVICES"),
                                     "omp": os.environ.get("OMP_NUM_THREADS")}
'''


def test_run_gives_each_trial_its_devices_and_journals_them(tmp_path: Path) -> None:
    """--gpus 0,1 --trial-gpus 1 --trial-cpus 1 on 2 workers: one device and one core each."""
    study_folder(tmp_path)
    (tmp_path / "seen.py").write_text(SEEN)
    done = cli("run", "seen:objective", "--space", "space.toml", "--n-trials", "6",
               "--backend", "process", "--workers", "2", "--gpus", "0,1", "--trial-gpus", "1",
               "--trial-cpus", "1", "--journal", "j.jsonl", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    command = read_header(tmp_path / "j.jsonl")["command"]
    assert command["resources"] == {"resources": {"gpu": ["0", "1"]},
                                    "trial_resources": {"cpu": 1, "gpu": 1}}
    infos = [r["value"]["additional_info"] for r in read_records(tmp_path / "j.jsonl")
             if r.get("type") == "result"]
    assert len(infos) >= 6
    for info in infos:
        assert info["seen"] in ("0", "1") and info["omp"] == "1"
        assert info["resources"]["gpu"] == [info["seen"]] and len(info["resources"]["cpu"]) == 1


def test_bad_resource_options_are_usage_errors(tmp_path: Path) -> None:
    """A fractional GPU count above 1, or a trial needing more devices than given: exit 2."""
    study_folder(tmp_path)
    done = cli("run", "quad:objective", "--space", "space.toml", "--n-trials", "2",
               "--trial-gpus", "1.5", cwd=tmp_path)
    assert done.returncode == 2 and "--trial-gpus must be a whole number" in done.stderr
    done = cli("run", "quad:objective", "--space", "space.toml", "--n-trials", "2",
               "--gpus", "0", "--trial-gpus", "2", "--backend", "serial", cwd=tmp_path)
    assert done.returncode != 0 and "needs 2 GPUs but the runner has 1" in done.stderr
