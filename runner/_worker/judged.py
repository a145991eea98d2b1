"""What the driver makes of a trial the watchdog decided (runner/_worker/watchdog.py): its
verdict name and evidence turned into the trial's value, the statuses from
runner/_core/verdicts.py."""

from __future__ import annotations

from runner._core import verdicts
from runner._core.limits import Limits
from runner._worker.watchdog import Watched
from trials import Cost, Report, TrialValue

__all__ = ["judged_value"]


def judged_value(verdict: str, watched: Watched | None, limits: Limits,
                 budget: tuple[int, str] | None, last: Report | None, crash: Cost,
                 start: float) -> TrialValue:
    """The value of a trial the watchdog ended: ``verdict`` is ``"stopped"``, ``"walltime"``,
    ``"cpu"`` or a memory verdict; ``budget`` the tree's memory budget and what it is;
    ``last`` the trial's last report (a STOPPED value's step and cost)."""
    evidence = watched.evidence if watched is not None else ""
    if verdict == "stopped":
        return verdicts.stopped(last, crash, start, killed=True)
    if verdict == "walltime" and limits.walltime is not None:
        return verdicts.walltime_exceeded(limits.walltime, crash, start)
    if verdict == "cpu" and limits.cpu_time is not None:
        return verdicts.cpu_time_exceeded(limits.cpu_time, crash, start, evidence)
    if budget is not None and watched is not None and watched.tree_budget_hit:
        return verdicts.memory_exceeded(crash, start, f"the trial's processes used "
                                        f"{evidence}, over {budget[1]}")
    return verdicts.memory_exceeded(crash, start, f"memory_limit of {limits.memory:g} MB "
                                    f"exceeded ({evidence})")
