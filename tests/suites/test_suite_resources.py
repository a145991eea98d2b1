"""Resources per trial in a suite (issue 30): ``resources`` at the top of the suite file is what
the shared runner has, ``trial_resources`` (top, or per problem) what a trial needs. A real small
suite on a process pool gives each problem's trials their devices; bad values fail when the
file is read, naming the key and the problem."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from runner.suites import SuiteFileError, parse_suite, run_suite
from trials import StatusType, read_records

SUITE = """\
name = "gpus"
problems = ["suitehelpers:small_model", "suitehelpers:large_model"]
optimizers = ["random"]
seeds = [0, 1]
n_trials = 6
resources = { gpu = ["0", "1", "2", "3"] }
trial_resources = { gpu = 1 }

[problem."suitehelpers:large_model"]
trial_resources = { gpu = 2 }
"""


def _trials(out: Path) -> list[tuple[str, dict[str, Any]]]:
    """``(problem, additional_info)`` of every finished trial in the suite's journals."""
    found = []
    for journal in sorted(out.rglob("*.jsonl")):
        problem = "large" if "large_model" in str(journal) else "small"
        for record in read_records(journal):
            if record.get("type") == "result" and record.get("final"):
                value = record["value"]
                assert value["status"] == StatusType.SUCCESS.name, value
                found.append((problem, value["additional_info"]))
    return found


def test_each_problem_gets_its_own_number_of_devices(tmp_path: Path) -> None:
    """4 device ids, 1 per small-model trial and 2 per large-model trial, on 3 workers: every
    trial saw as many ids as its problem needs, the ids it was assigned, and no two trials
    running at once saw the same id."""
    spec = parse_suite(SUITE)
    assert spec.resources == {"gpu": ["0", "1", "2", "3"]}
    assert spec.trial_resources == {"": {"gpu": 1}, "suitehelpers:large_model": {"gpu": 2}}
    assert all("trial_resources" not in s.settings for s in spec.studies())
    result = run_suite(spec, backend="process", workers=3, out=str(tmp_path / "out"),
                       plots=False)
    assert not result.failed, result.failed
    seen = _trials(tmp_path / "out")
    assert len(seen) == 4 * 6
    for problem, extra in seen:
        assert len(set(extra["devices"])) == (2 if problem == "large" else 1), (problem, extra)
        assert extra["resources"]["gpu"] == extra["devices"]
    infos = [extra for _, extra in seen]
    overlapping = [(a, b) for i, a in enumerate(infos) for b in infos[i + 1:]
                   if a["t0"] < b["t1"] and b["t0"] < a["t1"]]
    assert overlapping, "no two trials ran at once: the test shows nothing"
    for a, b in overlapping:
        assert set(a["devices"]).isdisjoint(b["devices"]), (a, b)


def test_the_simulated_backend_books_virtual_devices(tmp_path: Path) -> None:
    """The same suite on the simulated backend: the assignment is recorded per trial."""
    result = run_suite(parse_suite(SUITE), backend="simulated", workers=3,
                       out=str(tmp_path / "out"), plots=False)
    assert not result.failed, result.failed
    seen = _trials(tmp_path / "out")
    assert sorted({len(extra["resources"]["gpu"]) for _, extra in seen}) == [1, 2]
    assert all(len(extra["resources"]["gpu"]) == (2 if p == "large" else 1) for p, extra in seen)


@pytest.mark.parametrize(("change", "match"), [
    ('trial_resources = { gpu = 5 }', r"line 10: problem\.suitehelpers:large_model\."
     r"trial_resources: problem 'suitehelpers:large_model' needs 5 GPUs but the runner has 4"),
    ('trial_resources = { gpus = 2 }', r"line 10: problem\.suitehelpers:large_model\."
     r"trial_resources: .*unknown key\(s\) \['gpus'\]"),
    ('trial_resources = 2', r"problem\.suitehelpers:large_model\.trial_resources: expected a "
     r"table such as trial_resources = \{ cpu = 2, gpu = 1 \}, got 2"),
    ('resources = { gpu = 1 }', r"problem\.suitehelpers:large_model\.resources: resources is "
     r"what the shared runner has \(at the top of the file\)"),
])
def test_bad_resource_keys_fail_when_read_naming_key_and_problem(change: str,
                                                                 match: str) -> None:
    """A problem's need beyond the shared runner, an unknown key, a value that is not a table,
    and `resources` in a problem table: each a SuiteFileError naming line, key and problem."""
    text = SUITE.replace("trial_resources = { gpu = 2 }", change)
    with pytest.raises(SuiteFileError, match=match):
        parse_suite(text, "s.toml")


def test_bad_top_level_resources_and_a_backend_without_allocation(tmp_path: Path) -> None:
    """`resources` that is not a table, a default need beyond it, and the dask backend, which
    does not allocate them yet: clear errors before any trial runs."""
    with pytest.raises(SuiteFileError, match=r"line 6: resources: .*'gpu'\] must be a list"):
        parse_suite(SUITE.replace('gpu = ["0", "1", "2", "3"]', "gpu = 1.5"), "s.toml")
    with pytest.raises(SuiteFileError, match=r"line 7: trial_resources: every trial \(the "
                       r"top-level default\) needs 8 CPU cores but the runner has 2"):
        parse_suite(SUITE.replace('resources = { gpu = ["0", "1", "2", "3"] }',
                                  'resources = { gpu = ["0", "1", "2", "3"], cpu = 2 }')
                    .replace("trial_resources = { gpu = 1 }", "trial_resources = { cpu = 8 }"),
                    "s.toml")
    with pytest.raises(ValueError, match=r"sets resources and trial_resources, which the dask "
                       "backend does not allocate yet"):
        run_suite(parse_suite(SUITE), backend="dask", out=str(tmp_path / "out"), plots=False)


def _env() -> dict[str, str]:
    """This environment with the suite helpers and the project importable."""
    here = Path(__file__).resolve().parent
    path = [str(here), str(here.parents[1]), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in path if p)}


def test_the_suite_command_gives_each_problem_its_devices(tmp_path: Path) -> None:
    """`python -m runner suite FILE --backend process` (which builds the shared runner itself)
    applies the file's resources: every trial's journal entry has its problem's devices."""
    suite = tmp_path / "s.toml"
    suite.write_text(SUITE.replace("seeds = [0, 1]", "seeds = [0]"))
    done = subprocess.run([sys.executable, "-m", "runner", "suite", str(suite), "--backend",
                           "process", "--workers", "2", "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=300, env=_env())
    assert done.returncode == 0, done.stderr
    seen = _trials(tmp_path / "out")
    assert len(seen) == 2 * 6
    assert all(len(extra["resources"]["gpu"]) == (2 if p == "large" else 1) == len(
        extra["devices"]) for p, extra in seen), seen


def test_the_suite_command_refuses_them_on_dask(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """On --backend dask: one line on stderr, exit code 2, before anything starts."""
    from runner.suites._cli import main

    suite = tmp_path / "s.toml"
    suite.write_text(SUITE)
    with pytest.raises(SystemExit) as exit_info:
        main([str(suite), "--backend", "dask", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1, err
    assert "cannot start 'dask': the suite file sets resources and trial_resources" in err
