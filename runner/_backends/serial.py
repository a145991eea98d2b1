"""``SerialRunner``: trials run one at a time in the calling process (in a supervised worker
process when a limit is set, or resources are allocated: ``resources=``/``trial_resources=``,
docs/resources.md). ``submit_trial`` evaluates the trial before it returns, as SMAC3's
serial runner does, so ``submit_trial`` then ``iter_results`` gives the result."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from runner._backends.allocation import TrialResources, plan_of, stamp
from runner._backends.local import LocalWorker
from runner._core.reporting import Send
from trials import TrialInfo

__all__ = ["SerialRunner"]


class SerialRunner(LocalWorker):
    """Runs each trial in the caller's thread; one worker, always free between calls."""

    backend = "serial"
    _decides_inline = True

    def __init__(self, target: Any = None, *, resources: Mapping[str, Any] | None = None,
                 trial_resources: TrialResources = None, **kwargs: Any) -> None:
        super().__init__(target, **kwargs)
        self._plan = plan_of(resources, trial_resources)
        if (self._limits.any or self._plan is not None) and self._overrides_run is False:
            self._payload()  # pre-flight: the target must travel to the limited subprocess

    def submit_trial(self, info: TrialInfo) -> None:
        self._check_submit(info)
        share = None
        with self._lock:
            if self._plan is not None:  # one trial at a time: its share is always free
                self._plan.admit(info)
                share = self._plan.take(info)
            self._started()
        try:
            if self._plan is None:
                _, value = self.run_wrapper(info)
            else:
                value = stamp(self._run_isolated(info, self._plan.wire(share)), share)
        except BaseException:
            with self._lock:
                self._unstarted()
            raise
        finally:
            if self._plan is not None:
                with self._lock:
                    self._plan.give_back(share)
        self._deliver(info, value)

    def _report_sink(self, info: TrialInfo) -> Send | None:
        # The trial runs in the loop's own thread: the loop's pump decides on each report.
        if not self._target.wants_report:
            return None
        return functools.partial(self._inline_report, info)
