"""The checks of preemption-notice options (no SLURM needed): ``notice_signals=`` of
``DaskRunner.slurm``, the job script lines it adds, and ``--notice-signals`` on the CLI."""

from __future__ import annotations

import argparse
import shutil

import pytest

from runner._backends.dask.notice import check_notice_signals, job_prologue
from runner.cli._common import UsageError
from runner.cli._slurm import add_slurm_options, slurm_spec


def test_notice_signals_take_names_with_or_without_sig() -> None:
    assert check_notice_signals(["USR1", "SIGUSR2", "SIGUSR1"]) == ("SIGUSR1", "SIGUSR2")
    assert check_notice_signals(()) == ()


@pytest.mark.parametrize("bad", [["SIGKILL"], ["NOPE"], [9]])
def test_a_signal_no_job_can_catch_is_refused_by_name(bad: list[object]) -> None:
    with pytest.raises(ValueError, match="notice_signals"):
        check_notice_signals(bad)


def test_a_plain_string_is_refused() -> None:
    with pytest.raises(TypeError, match="sequence of signal names"):
        check_notice_signals("SIGUSR1")


def test_the_job_script_names_the_signals_and_its_shell_ignores_them() -> None:
    assert job_prologue(("SIGUSR1", "SIGTERM")) == [
        "export TRIALRUNNER_NOTICE_SIGNALS=SIGUSR1,SIGTERM", "trap '' USR1 TERM"]
    assert job_prologue(()) == []


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_slurm_options(parser)
    return parser.parse_args(list(argv))


def test_cli_notice_signals_need_backend_slurm() -> None:
    with pytest.raises(UsageError, match="--notice-signals needs --backend slurm"):
        slurm_spec(_args("--notice-signals", "USR2"), "dask")


@pytest.mark.skipif(shutil.which("sbatch") is None, reason="no SLURM client here")
def test_cli_notice_signals_go_to_the_jobs() -> None:
    assert "notice_signals" not in slurm_spec(_args(), "slurm")["slurm"]  # the default
    spec = slurm_spec(_args("--notice-signals", "USR1,USR2"), "slurm")["slurm"]
    assert spec["notice_signals"] == ["SIGUSR1", "SIGUSR2"]
    assert slurm_spec(_args("--notice-signals", ""), "slurm")["slurm"]["notice_signals"] == []
    with pytest.raises(UsageError, match="--notice-signals: .*'KILL'"):
        slurm_spec(_args("--notice-signals", "KILL"), "slurm")


def test_a_supervised_trial_survives_the_notice_signals_its_job_names(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`scancel --full` signals every process of the job, the trial's own too: a supervised
    trial process ignores the signals TRIALRUNNER_NOTICE_SIGNALS names (its worker acts)."""
    from runner import ProcessPoolRunner
    from tests.cluster.slurm_targets import notices_itself
    from trials import StatusType, TrialInfo

    monkeypatch.setenv("TRIALRUNNER_NOTICE_SIGNALS", "SIGUSR1")
    with ProcessPoolRunner(notices_itself, n_workers=1) as runner:
        runner.submit_trial(TrialInfo({}))
        runner.wait(60)
        ((_, value),) = list(runner.iter_results())
    assert value.status is StatusType.SUCCESS, value
