"""Suite files: what they hold, and errors that name the key and its line."""

from __future__ import annotations

import pytest

from runner.suites import SuiteFileError, load_suite, parse_suite

GOOD = """\
name = "t"
problems = ["branin-mf", "hartmann3"]
optimizers = ["random"]
seeds = [0, 1]
n_trials = 5
walltime_limit = 30

[problem.branin-mf]
n_trials = 8
"""


def test_a_suite_expands_into_problem_optimizer_seed_studies() -> None:
    """Studies are problems x optimizers x seeds, per-problem settings override the top."""
    spec = parse_suite(GOOD)
    studies = spec.studies()
    assert [s.key for s in studies] == ["branin-mf/random/seed-0", "branin-mf/random/seed-1",
                                        "hartmann3/random/seed-0", "hartmann3/random/seed-1"]
    assert [s.n_trials for s in studies] == [8, 8, 5, 5]
    assert spec.limits == {"walltime_limit": 30.0}


def test_the_shipped_suites_are_valid() -> None:
    """benchmarks/suites/*.toml load without error."""
    for name in ("smoke", "standard"):
        spec = load_suite(f"benchmarks/suites/{name}.toml")
        assert spec.name == name and spec.studies()


@pytest.mark.parametrize("text, match", [
    ('name = "t"\nproblems = ["branin"]\noptimizers = ["random"]\nseeds = [0]\nn_trials = 5\n'
     'colour = 1\n', r"<suite>, line 6: colour: unknown key"),
    ('name = "t"\nproblems = ["branin"]\noptimizers = ["random"]\nseeds = [0]\nn_trials = 0\n',
     r"line 5: n_trials: expected an integer >= 1, got 0"),
    ('name = "t"\nproblems = [\n  "branin",\n  "bogus",\n]\noptimizers = ["random"]\n'
     'seeds = [0]\nn_trials = 5\n', r"line 4: problems: unknown problem 'bogus'"),
    ('name = "t"\nproblems = ["branin"]\noptimizers = ["hyperband"]\nseeds = [0]\nn_trials = 5\n',
     r"line 3: optimizers: 'hyperband' needs a multi-fidelity problem.*'branin-mf'"),
    ('name = "t"\nproblems = ["branin"]\noptimizers = ["sgd"]\nseeds = [0]\nn_trials = 5\n',
     r"line 3: optimizers: unknown optimizer 'sgd'"),
    ('name = "t"\nproblems = ["branin"]\noptimizers = ["random"]\nseeds = [0, 0]\nn_trials = 5\n',
     r"line 4: seeds: lists a seed twice"),
    ('name = "t"\nproblems = ["branin-mf"]\noptimizers = ["hyperband"]\nseeds = [0]\n'
     'n_trials = 5\n\n[optimizer.hyperband]\nmin_budget = 0.5\n',
     r"line 8: optimizer.hyperband.min_budget: .*outside the problem's fidelity range \[1, 27\]"),
    ('name = "t"\nproblems = ["branin-mf"]\noptimizers = ["hyperband"]\nseeds = [0]\n'
     'n_trials = 5\n\n[optimizer.hyperband]\nspeed = 2\n',
     r"line 8: optimizer.hyperband.speed: .*unknown setting\(s\) \['speed'\]"),
    ('name = "t"\nproblems = ["branin"]\noptimizers = ["random"]\nseeds = [0]\nn_trials = 5\n'
     '[problem.ackley]\nn_trials = 3\n', r"line 7: problem.ackley.n_trials: .*names no entry"),
    ('name = "t"\nproblems = ["branin"]\noptimizers = ["random"]\nseeds = [0]\n',
     r"the required key 'n_trials' is missing"),
    ('name = "t"\nproblems = ["branin"]\nseeds = = 3\n', r"not valid TOML: .*line 3"),
    ('name = "t"\nproblems = ["branin"]\noptimizers = ["random"]\nseeds = [0]\nn_trials = 5\n'
     'memory_limit = -1\n', r"line 6: memory_limit: expected a number of MB > 0"),
])
def test_bad_suite_files_name_the_key_and_the_line(text: str, match: str) -> None:
    """Every mistake is a SuiteFileError naming the line and the key."""
    with pytest.raises(SuiteFileError, match=match):
        parse_suite(text)


def test_a_missing_file_is_a_clear_error(tmp_path: object) -> None:
    """An unreadable suite file names the path."""
    with pytest.raises(SuiteFileError, match="cannot read suite file '/nonexistent/x.toml'"):
        load_suite("/nonexistent/x.toml")
