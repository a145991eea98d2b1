"""runner/_core/verdicts.py: one verdict for a trial the backend could not run or whose answer
cannot be taken (issue 29 item 8: ``refused`` was ``not_run`` under a second name)."""

from __future__ import annotations

import time

from runner._core import verdicts
from trials import StatusType


def test_not_run_names_the_exception_type_given_or_taken_from_exc() -> None:
    """``error_type`` is the one given, else that of ``exc``, else absent; the trial's time runs
    from ``start`` (clamped to now) and the cost is the crash cost."""
    start = time.time() - 2.0
    given = verdicts.not_run(7.0, "the trial's value is invalid: x", start=start,
                             error_type="TypeError")
    assert given.status is StatusType.CRASHED and given.cost == 7.0
    assert given.additional_info == {"error": "the trial's value is invalid: x",
                                     "error_type": "TypeError"}
    assert given.starttime == start and 2.0 <= given.time < 60
    taken = verdicts.not_run(7.0, "could not submit", ValueError("no"))
    assert taken.additional_info["error_type"] == "ValueError" and taken.time < 60
    plain = verdicts.not_run(7.0, "no worker", start=time.time() + 100)
    assert "error_type" not in plain.additional_info and plain.time == 0.0
    assert not hasattr(verdicts, "refused")
