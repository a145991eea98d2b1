"""What running trials send the loop besides results: their intermediate reports (journaled,
added to the trial's curve, decided on by the optimizer's ``on_report``, the decision passed
back to the runner) and the runs the runner lost outside the trial (journaled as interrupted
attempts). Called by the driver (driver.py) with itself (a ``Driver``; not imported here,
which would close an import cycle)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from runner._core.reporting import Decision
from runner._loop import events
from trials import TrialInfo

__all__ = ["take_interruptions", "take_reports"]


def take_reports(driver: Any) -> int:
    """Journal every report of a running trial ready now, add it to its curve, ask the
    optimizer's ``on_report`` and pass its decision on (every decision, with
    ``wait_for_decisions``); the number of reports taken."""
    n, take = 0, driver.extras.iter_reports
    if take is None:
        return 0
    decide = driver.extras.decide or _cannot_decide(driver.runner)
    on_report = driver.can.on_report
    answer_all = driver.set_wait is not None
    for info, report in take():
        trial = driver.pending.get(id(info))
        if trial is None:  # a copy of the info, or a trial collected meanwhile
            if answer_all:
                decide(info, Decision.CONTINUE)
            continue
        n += 1
        driver.history.add_report(trial.info, report)
        if driver.journal is not None:
            driver.timed_journal(driver.journal.report, trial.trial, trial.attempt, report)
        if on_report is None:
            continue
        t = driver.clock()
        try:
            answer = on_report(trial.info, report)
        finally:
            driver.account.optimizer += driver.clock() - t
        try:
            decision = Decision.of(answer)
        except ValueError as exc:
            raise ValueError(f"{type(driver.optimizer).__name__}.on_report (trial "
                             f"{trial.trial}, step {report.step}): {exc}") from None
        if decision is not Decision.CONTINUE:
            trial.paused = decision is Decision.PAUSE
            decide(info, decision)
        elif answer_all:
            decide(info, decision)
    return n


def _cannot_decide(runner: Any) -> Callable[[TrialInfo, Decision], None]:
    def refuse(info: TrialInfo, decision: Decision) -> None:
        raise TypeError(f"{type(runner).__name__} sends reports (iter_reports) but has no "
                        f"decide(info, decision) to pass the optimizer's {decision.name} on")
    return refuse


def take_interruptions(driver: Any) -> None:
    """Journal each run the runner lost outside the trial and runs again (a worker, node
    or batch job gone): an interrupted attempt, counted apart from crashes and retries."""
    take = driver.extras.iter_interruptions
    if take is None:
        return
    for info, lost in take():
        trial = driver.pending.get(id(info))
        if trial is None:  # a copy of the info, or a trial collected meanwhile
            continue
        events.interrupted(trial.trial, trial.attempt, lost.reason, lost.job, lost.requeue)
        if driver.journal is not None:
            driver.timed_journal(driver.journal.interrupted, trial.trial, trial.attempt,
                                lost.reason, lost.job, lost.requeue)
