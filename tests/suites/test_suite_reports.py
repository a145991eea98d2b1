"""Reports, early stopping and checkpoints in a suite: every study's reports reach its own
optimizer through the shared runner, its decisions reach its own trials, its continuations find
their checkpoints; optimizer variants run under their own names; a study that needs reports its
problem never sends is refused before anything runs."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from runner.problems._functions import branin
from runner.suites import SuiteFileError, main, parse_suite, run_suite
from trials import History, StatusType, read_records

ASHA_SIMULATED = """\
name = "asha-sim"
problems = ["ackley-5d-mf-lc"]
optimizers = ["asha"]
seeds = [0, 1]
n_trials = 30
"""


def _rows(out: Path) -> dict[tuple[str, str, str], dict[str, str]]:
    with open(out / "results.csv", newline="") as f:
        return {(r["problem"], r["optimizer"], r["seed"]): r for r in csv.DictReader(f)}


def _journal(out: Path, problem: str, optimizer: str, seed: int = 0) -> Path:
    return out / problem / optimizer / f"seed-{seed}.jsonl"


def test_asha_stops_trials_of_a_suite_on_the_simulated_backend(tmp_path: Path) -> None:
    """The simulated runner replays each trial's learning curve as reports; ASHA stops most
    trials at a rung, every study still ends with n_trials results."""
    result = run_suite(parse_suite(ASHA_SIMULATED), backend="simulated", workers=4,
                       out=str(tmp_path))
    assert not result.failed
    for seed in (0, 1):
        journal = _journal(tmp_path, "ackley-5d-mf-lc", "asha", seed)
        history = History.load(journal)
        statuses = [v.status for _, v in history]
        assert len(history) == 30
        assert statuses.count(StatusType.STOPPED) >= 15, statuses
        assert StatusType.SUCCESS in statuses
        reports = [r for r in read_records(journal) if r.get("type") == "report"]
        assert len(reports) > 30
        for _, value in history:
            if value.status is StatusType.STOPPED:  # stopped at a rung: 1, 3 or 9 of 27
                assert value.additional_info["stopped_at_step"] in (1, 3, 9), value.additional_info


def test_reports_and_stops_reach_each_study_on_the_process_pool(tmp_path: Path) -> None:
    """Real reports from real worker processes: ASHA's study gets its trials' reports and
    stops them, random search's study beside it gets its own reports and never stops one."""
    text = """\
name = "reports"
problems = ["suitehelpers:reporting_branin"]
optimizers = ["asha", "random"]
seeds = [0]
n_trials = 12
"""
    result = run_suite(parse_suite(text), backend="process", workers=2, out=str(tmp_path))
    assert not result.failed
    asha = History.load(_journal(tmp_path, "suitehelpers:reporting_branin", "asha"))
    random = History.load(_journal(tmp_path, "suitehelpers:reporting_branin", "random"))
    assert len(asha) == len(random) == 12
    stopped = [v for _, v in asha if v.status is StatusType.STOPPED]
    assert stopped, [v.status for _, v in asha]
    assert all(v.additional_info["stopped_at_step"] < 9 for v in stopped)  # before the end
    # (at a rung, 1 or 3, or a few 5 ms steps later: the decision travels while it goes on)
    assert all(len(asha.curve(i)) >= 1 for i, _ in asha)
    assert all(v.status is StatusType.SUCCESS for _, v in random)
    assert all(len(random.curve(i)) == 9 for i, _ in random)


def test_problems_without_reports_run_beside_reporting_ones(tmp_path: Path) -> None:
    """The shared target passes report and checkpoint only to the targets that take them, and
    ASHA of the stopping type is refused, naming the study, for the problem that sends none."""
    text = """\
name = "mixed"
problems = ["suitehelpers:reporting_branin", "suitehelpers:slow_branin_mf"]
optimizers = ["random", "hyperband"]
seeds = [0]
n_trials = 6

[optimizer.hyperband]
continuation = true
min_budget = 3
"""
    result = run_suite(parse_suite(text), backend="process", workers=2, out=str(tmp_path))
    assert not result.failed and len(result.rows) == 4
    for optimizer in ("random", "hyperband"):
        history = History.load(_journal(tmp_path, "suitehelpers:slow_branin_mf", optimizer))
        assert len(history) == 6 and all(v.status is StatusType.SUCCESS for _, v in history)
        assert all("checkpoint_dir" not in i.additional_info for i, _ in history)
    with pytest.raises(SuiteFileError, match="optimizers: suitehelpers:slow_branin_mf/asha/"
                                             "seed-0: 'asha' of the stopping type stops "
                                             "trials on their reports"):
        parse_suite(text.replace('["random", "hyperband"]', '["asha", "hyperband"]'))


def test_continuations_find_their_checkpoints_in_a_suite(tmp_path: Path) -> None:
    """Hyperband with continuation as a variant beside plain Hyperband: promoted trials resume
    from the step they saved and cost what a restart would; their directories are gone at the
    end."""
    text = """\
name = "cont"
problems = ["suitehelpers:reporting_branin"]
optimizers = ["hyperband", "hb-continue"]
seeds = [0]
n_trials = 13

[optimizer.hb-continue]
use = "hyperband"
continuation = true
"""
    result = run_suite(parse_suite(text), backend="process", workers=2, out=str(tmp_path))
    assert not result.failed
    plain = History.load(_journal(tmp_path, "suitehelpers:reporting_branin", "hyperband"))
    cont = History.load(_journal(tmp_path, "suitehelpers:reporting_branin", "hb-continue"))
    assert len(plain) == len(cont) == 13
    for info, value in [*plain, *cont]:  # a continuation costs what a restart would
        assert value.cost == pytest.approx(branin(info.config) + 10.0 / info.budget)
    assert all(v.additional_info["resumed_from"] == 0 for _, v in plain)
    continued = [(i, v) for i, v in cont if "continues_trial" in i.additional_info]
    assert continued
    for info, value in continued:  # resumed exactly where the rung below ended
        assert value.additional_info["resumed_from"] == info.budget // 3, (info, value)
    leftovers = [p for p in tmp_path.rglob("*") if p.name.endswith(".checkpoints")]
    assert all(not any(p.iterdir()) for p in leftovers), leftovers
    rows = _rows(tmp_path)
    assert rows[("suitehelpers:reporting_branin", "hb-continue", "0")]["status"] == "finished"


def test_a_curve_problem_needs_the_simulated_backend(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """ASHA of the stopping type on a problem that only returns its learning curve: refused on
    a real backend, naming the study, before any worker starts; the CLI exits 2."""
    spec = parse_suite(ASHA_SIMULATED)
    with pytest.raises(ValueError, match="study ackley-5d-mf-lc/asha/seed-0: 'asha' of the "
                                         "stopping type .* only the simulated backend"):
        run_suite(spec, backend="thread", workers=2, out=str(tmp_path / "a"))
    assert not os.path.exists(tmp_path / "a" / "ackley-5d-mf-lc")
    suite = tmp_path / "s.toml"
    suite.write_text('name = "s"\nproblems = ["ackley-5d-mf-lc"]\noptimizers = ["asha"]\n'
                     'seeds = [0]\nn_trials = 3\n')
    with pytest.raises(SystemExit) as exit_info:
        main([str(suite), "--backend", "thread", "--out", str(tmp_path / "b")])
    assert exit_info.value.code == 2
    assert "argument --backend: study ackley-5d-mf-lc/asha/seed-0:" in capsys.readouterr().err


def test_optimizer_variants_are_checked_with_their_line() -> None:
    """A variant's ``use`` must name an optimizer; its settings are checked as that one's."""
    base = 'name = "v"\nproblems = ["branin-mf"]\noptimizers = ["hb2"]\nseeds = [0]\n' \
           'n_trials = 3\n\n[optimizer.hb2]\n'
    spec = parse_suite(base + 'use = "hyperband"\neta = 2\n')
    assert [s.key for s in spec.studies()] == ["branin-mf/hb2/seed-0"]
    with pytest.raises(SuiteFileError, match=r"line 8: optimizer.hb2.use: expected one of"):
        parse_suite(base + 'use = "hyperbandd"\n')
    with pytest.raises(SuiteFileError, match=r"unknown setting\(s\) \['n_configs'\] for "
                                             r"optimizer 'hyperband'"):
        parse_suite(base + 'use = "hyperband"\nn_configs = 3\n')
    with pytest.raises(SuiteFileError, match=r"line 3: optimizers: unknown optimizer 'hb2'.*"
                                             r"\[optimizer.hb2\] with use ="):
        parse_suite(base.replace("\n[optimizer.hb2]\n", "\n"))


def test_a_serial_suite_decides_on_reports_while_the_trial_runs(tmp_path: Path) -> None:
    """On the serial backend trials run in the scheduler's own thread: the study's loop still
    decides on each report as it comes, so ASHA stops trials at their rung."""
    text = ('name = "serial"\nproblems = ["suitehelpers:reporting_branin"]\n'
            'optimizers = ["asha"]\nseeds = [0]\nn_trials = 10\n')
    result = run_suite(parse_suite(text), backend="serial", workers=1, out=str(tmp_path))
    assert not result.failed
    history = History.load(_journal(tmp_path, "suitehelpers:reporting_branin", "asha"))
    stopped = [v for _, v in history if v.status is StatusType.STOPPED]
    assert len(history) == 10 and stopped
    assert all(v.additional_info["stopped_at_step"] in (1, 3) for v in stopped)  # exactly


def test_an_optimizer_deciding_on_reports_without_any_is_warned_about(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A factory's optimizer with on_report, on a problem whose trials send no reports: the
    study runs (nothing to refuse: the optimizer also works without), and a warning names it."""
    text = ('name = "w"\nproblems = ["suitehelpers:slow_branin", '
            '"suitehelpers:reporting_branin"]\noptimizers = ["suitehelpers:median_random"]\n'
            'seeds = [0]\nn_trials = 3\n')
    with caplog.at_level("WARNING", logger="runner.suites._scheduler"):
        result = run_suite(parse_suite(text), backend="thread", workers=2, out=str(tmp_path),
                           plots=False)
    assert not result.failed
    warned = [r.getMessage() for r in caplog.records if "on_report" in r.getMessage()]
    assert warned == ["study suitehelpers:slow_branin/suitehelpers:median_random/seed-0: its "
                      "optimizer decides on trials' reports (on_report), but the trials of "
                      "problem 'slow-branin' send none on this backend: it will stop none of "
                      "them"], warned
