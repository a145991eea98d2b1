"""Issue 27, a second hostile pass, items 3, 6, 9, 13 and 15 (first clause): suite names that
would escape ``--out``, an edited suite reported with old results, bounds whose width overflows,
a journal header over 1 MiB, a deeply nested suite file."""

from __future__ import annotations

import csv
import json
import math
import random
import sys
from pathlib import Path

import pytest

from runner.optimizers import SearchSpace
from runner.suites import SuiteFileError, parse_suite, run_suite
from runner.suites._spec import StudySpec, SuiteSpec, check_path_parts
from tests.cli.clihelpers import cli, study_folder
from trials import History, Journal, JournalFormatError, read_header

SUITE = """\
name = "{name}"
problems = ["branin"]
optimizers = ["{optimizer}"]
seeds = [0]
n_trials = 3

[optimizer."{optimizer}"]
use = "random"
"""


def _suite(optimizer: str = "v", name: str = "t") -> str:
    return SUITE.format(optimizer=optimizer.replace("\\", "\\\\"), name=name)


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.mark.parametrize("optimizer", ["../../escaped", "/tmp/abs-escape", "a/b", "..", ".",
                                       ".hidden", "a\\..\\b", "x" * 200])
def test_J3_optimizer_names_are_one_safe_path_component(optimizer: str) -> None:
    """A variant name that would leave --out (or name it) is a SuiteFileError naming the key,
    its line and what a name may be (before: journals and status files were written where it
    pointed, exit 0)."""
    with pytest.raises(SuiteFileError, match=r"line 3: optimizers: .*cannot name a folder "
                       r"under --out; expected one path component: .*letters, digits"):
        parse_suite(_suite(optimizer))


@pytest.mark.parametrize("name", ["..", ".", ".x", "a/b", "/abs"])
def test_J3_a_suite_name_cannot_make_the_default_out_leave_runs(name: str) -> None:
    """name = ".." made the default --out (runs/<name>) the current folder and overwrote
    ./results.csv."""
    with pytest.raises(SuiteFileError, match=r"line 1: name: .*not starting with '\.'"):
        parse_suite(_suite(name=name))


def test_J3_a_spec_built_in_python_is_checked_too(tmp_path: Path) -> None:
    """run_suite refuses a hand-built SuiteSpec whose optimizer name climbs out, and writes
    nothing outside (or inside) --out."""
    spec = SuiteSpec("t", ("branin",), ("../../escaped",), (0,), 2,
                     optimizer_settings={"../../escaped": {"use": "random"}})
    out = tmp_path / "deep" / "out"
    with pytest.raises(SuiteFileError, match=r"optimizers: '\.\./\.\./escaped' cannot name a "
                       r"folder under --out"):
        run_suite(spec, backend="serial", out=str(out), plots=False)
    assert not (tmp_path / "escaped").exists() and _files(tmp_path) <= {"deep", "deep/out"}


def test_J3_the_cli_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    """`suite` with an escaping variant name: one line, exit 2, nothing written anywhere."""
    (tmp_path / "work").mkdir()
    suite = tmp_path / "work" / "s.toml"
    suite.write_text(_suite("../../escaped"))
    done = cli("suite", str(suite), "--backend", "serial", "--out", "out", cwd=tmp_path / "work")
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "s.toml, line 3: optimizers:" in done.stderr and "one path component" in done.stderr
    assert _files(tmp_path) == {"work", "work/s.toml"}


@pytest.mark.parametrize("problem", ["../branin", "hpolib/../../x", "/abs", "a//b"])
def test_J3_problem_names_may_nest_but_never_climb(problem: str) -> None:
    """A problem's name may join safe components with '/' (registered tabular names such as
    hpolib/naval_propulsion-mf are folders under --out), but a '..', an empty or an absolute
    part is refused before the registry is asked."""
    spec = SuiteSpec("t", (problem,), ("random",), (0,), 2)
    with pytest.raises(SuiteFileError, match=r"problems: .*cannot name a folder under --out; "
                       r"expected one path component.*joined by '/'"):
        check_path_parts(spec)
    check_path_parts(SuiteSpec("t", ("hpolib/naval_propulsion-mf",), ("random",), (0,), 2))


def test_J3_factory_and_variant_names_that_are_safe_still_run(tmp_path: Path) -> None:
    """Names with '-', '_', '.' and ':' (a factory) are one path component: they run."""
    result = run_suite(parse_suite(_suite("hb_v-2.1")), backend="serial", out=str(tmp_path),
                       plots=False)
    assert not result.failed
    assert (tmp_path / "branin" / "hb_v-2.1" / "seed-0.jsonl").exists()


HB = """\
name = "t"
problems = ["branin-mf"]
optimizers = ["hb"]
seeds = [0]
n_trials = 6

[optimizer.hb]
use = "{use}"
"""


def _rows(out: Path) -> list[dict[str, str]]:
    with open(out / "results.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_J6_an_edited_variant_is_refused_not_reported_with_old_results(tmp_path: Path) -> None:
    """The variant hb changes from Hyperband to random search between runs: the finished study
    is not skipped as before (results.csv then showed the Hyperband journal as 'finished'); it
    is failed with an error saying what changed and how to rerun it, its journal untouched, and
    its row carries none of the old journal's numbers."""
    first = run_suite(parse_suite(HB.format(use="hyperband")), backend="serial",
                      out=str(tmp_path), plots=False)
    assert not first.failed
    journal = tmp_path / "branin-mf" / "hb" / "seed-0.jsonl"
    before = journal.read_bytes()
    second = run_suite(parse_suite(HB.format(use="random")), backend="serial",
                       out=str(tmp_path), plots=False)
    (row,) = _rows(tmp_path)
    assert row["status"] == "failed" and second.failed
    assert "use: 'hyperband' -> 'random'" in row["error"]
    assert "seed-0.jsonl" in row["error"] and "another --out" in row["error"]
    assert row["trials"] == "0" and row["best_cost"] == ""
    assert journal.read_bytes() == before
    # Undoing the edit: the study is finished again, skipped, reported from its journal.
    third = run_suite(parse_suite(HB.format(use="hyperband")), backend="serial",
                      out=str(tmp_path), plots=False)
    (row,) = _rows(tmp_path)
    assert not third.failed and row["status"] == "finished" and int(row["trials"]) == 6
    assert journal.read_bytes() == before


def test_J6_more_trials_still_continue_a_finished_study(tmp_path: Path) -> None:
    """What stays allowed: raising n_trials continues the same study (documented)."""
    run_suite(parse_suite(HB.format(use="hyperband")), backend="serial", out=str(tmp_path),
              plots=False)
    more = HB.format(use="hyperband").replace("n_trials = 6", "n_trials = 9")
    result = run_suite(parse_suite(more), backend="serial", out=str(tmp_path), plots=False)
    (row,) = _rows(tmp_path)
    assert not result.failed and row["status"] == "finished" and int(row["trials"]) == 9


def test_J6_an_interrupted_study_with_other_settings_is_refused_too(tmp_path: Path) -> None:
    """A study started but never finished records its settings when it starts, so a rerun with
    other settings is refused the same way (nothing mixes two optimizers in one journal)."""
    spec = parse_suite(HB.format(use="hyperband"))
    study = spec.studies()[0]
    changed = StudySpec(study.problem, study.optimizer, study.seed, study.n_trials,
                        settings={"use": "random"})
    from runner.suites._scheduler import Study

    started = Study(study, spec.problem("branin-mf"), str(tmp_path))
    started.status = "running"
    (tmp_path / "branin-mf" / "hb").mkdir(parents=True)
    started.write_status()
    assert Study(changed, spec.problem("branin-mf"), str(tmp_path)).changed() is not None
    assert Study(study, spec.problem("branin-mf"), str(tmp_path)).changed() is None


@pytest.mark.parametrize("low, high", [(-1e308, 1e308), (-sys.float_info.max, sys.float_info.max),
                                       (0.0, sys.float_info.max)])
def test_J9_bounds_whose_width_overflows_sample_inside_them(low: float, high: float) -> None:
    """(-1e308, 1e308) gave +inf for every sample (high - low overflows); now every sample is
    finite, in [low, high), spread over the range; ordinary bounds keep their sequence."""
    space = SearchSpace({"x": (low, high)})
    rng = random.Random(7)
    xs = [space.sample(rng)["x"] for _ in range(2000)]
    assert all(math.isfinite(x) and low <= x < high for x in xs)
    middle = low / 2 + high / 2
    assert 800 < sum(x > middle for x in xs) < 1200
    rng_a, rng_b = random.Random(3), random.Random(3)
    assert SearchSpace({"x": (-5.0, 5.0)}).sample(rng_a)["x"] == -5.0 + 10.0 * rng_b.random()


def test_J9_an_int_bound_beyond_any_float_names_the_parameter() -> None:
    """(0, 10**400) raised a bare OverflowError naming nothing; now a ValueError naming it."""
    with pytest.raises(ValueError, match=r"parameter 'n': low and high must be finite"):
        SearchSpace({"n": (0, 10**400)})


def _big_space(folder: Path) -> Path:
    space = {"x": {"low": -5.0, "high": 5.0},
             "kind": {"choices": ["a", "b"] + [f"c{i:07d}" for i in range(150_000)]}}
    path = folder / "big.json"
    path.write_text(json.dumps(space))
    assert path.stat().st_size > 1.5 * 2**20
    return path


def test_J13_a_header_over_1_mib_is_read_back(tmp_path: Path) -> None:
    """A 1.8 MB space file makes a ~3.5 MB header: `run` exits 0 (before: 1 after running every
    trial), and `report` and `resume` read the journal (before: "not a journal")."""
    study_folder(tmp_path)
    _big_space(tmp_path)
    done = cli("run", "quad:objective", "--keep-going", "--space", "big.json", "--n-trials", "3",
               "--backend", "serial", "--journal", "j.jsonl", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(read_header(tmp_path / "j.jsonl")["command"]["space"]["spec"]["kind"]
               ["choices"]) == 150_002
    report = cli("report", "j.jsonl", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    resumed = cli("resume", "j.jsonl", cwd=tmp_path)  # finished: reads the header, runs none
    assert resumed.returncode == 0, resumed.stderr
    assert len(History.load(tmp_path / "j.jsonl")) == 3


def test_J13_a_header_over_the_cap_is_refused_before_trial_1(tmp_path: Path) -> None:
    """A header larger than a journal may hold is refused when the journal is created, naming
    the cap, before any trial; the file is not left behind half-written."""
    from trials._journal_read import MAX_HEADER_BYTES

    path = tmp_path / "j.jsonl"
    with pytest.raises(JournalFormatError, match=r"header would take .* MiB, over the "
                       r"\d+ MiB a journal header may hold"):
        Journal.open(path, command={"space": "x" * (MAX_HEADER_BYTES + 10)})
    assert not path.exists() or path.stat().st_size == 0


def test_J13_a_space_file_over_the_cap_is_a_usage_error(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """`run --space` with a file over the header cap fails at once (a usage error: exit 2),
    before any journal or trial."""
    import runner.cli._space as space_file
    from runner.cli._common import UsageError

    monkeypatch.setattr(space_file, "MAX_SPACE_BYTES", 2**20)
    with pytest.raises(UsageError, match=r"--space: .*big.json takes 1.7 MiB, over the 1 MiB "
                       r"a space file may take \(the journal header holds the space, at most "
                       r"64 MiB\)"):
        space_file.read_space_file(str(_big_space(tmp_path)))


@pytest.mark.parametrize("depth", [100_000, 990])
def test_J15_a_deeply_nested_suite_file_is_one_line_exit_2(tmp_path: Path, depth: int) -> None:
    """Deeply nested arrays in a suite file: "nested too deeply", one line, exit 2 (before:
    RecursionError, exit 1)."""
    text = _suite().replace("seeds = [0]", "seeds = " + "[" * depth + "0" + "]" * depth)
    with pytest.raises(SuiteFileError, match="nested too deeply"):
        parse_suite(text)
    (tmp_path / "s.toml").write_text(text)
    done = cli("suite", "s.toml", "--backend", "serial", "--out", "out", cwd=tmp_path)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "s.toml: arrays or tables are nested too deeply" in done.stderr
