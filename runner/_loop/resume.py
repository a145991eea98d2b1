"""Resuming a study from its journal, in one place: what the journal holds, applied to a new
loop's driver. Finished trials enter the history (with their learning curves) and are told to
the optimizer in the order they finished, or given to its ``restore`` all at once; unfinished
ones are known to the checkpoint books, shown to ``restore_pending`` and queued to run first."""

from __future__ import annotations

from runner._loop.driver import Driver, Trial
from runner._loop.journal import Resume
from trials import History

__all__ = ["apply"]


def apply(plan: Resume, driver: Driver) -> tuple[int, int]:
    """Put ``driver`` where the journal left the study; ``(finished trials replayed,
    unfinished ones to run again)``."""
    can, checkpoints, history = driver.can, driver.checkpoints, driver.history
    replayed = History()  # for restore(): what the optimizer never asked in this process
    for trial_id, info, value in plan.finished:
        if checkpoints is not None:
            checkpoints.known(trial_id, info)
        history.append(info, value)
        driver.failure_rate.add(trial_id, value)  # judged again from the next new result
        for report in plan.curves.get(trial_id, ()):
            history.add_report(info, report)
            replayed.add_report(info, report)
        if can.restore is not None:
            replayed.append(info, value)
        else:
            driver.tell(info, value)
    if can.restore is not None and len(replayed):
        t = driver.clock()
        try:
            can.restore(replayed)
        finally:
            driver.account.optimizer += driver.clock() - t
        if driver.log is not None:
            driver.log.append(("restore", replayed))
    driver.n_told, driver.next_id = 0, plan.next_id
    for trial_id, attempt, info in plan.unfinished:
        if checkpoints is not None:
            checkpoints.known(trial_id, info, unfinished=True)
        if can.restore_pending is not None:
            can.restore_pending(info)  # lets it skip what it proposed before
        driver.requeue.append(Trial(trial_id, info, attempt))
    return len(plan.finished), len(plan.unfinished)
