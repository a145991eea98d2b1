"""A run the runner lost outside the trial (worker, node or batch job gone) and ran again is
journaled as an interrupted attempt, with its reason and job, and `trialrunner report` counts
it apart from crashes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runner import OptimizationLoop, SerialRunner
from runner.cli._journal_view import load_study
from runner.cli._summary import summary
from trials import StatusType, TrialInfo, TrialValue, read_records


class LosingRunner(SerialRunner):
    """Says every even trial lost its first run on job 42 before running it (again)."""

    def submit_trial(self, info: TrialInfo) -> None:
        if info.config["x"] % 2 == 0:
            self._interrupted(info, 1, "dask worker w-0 was lost: KilledWorker", "42")
        super().submit_trial(info)


class Counter:
    """Proposes x = 0..n-1."""

    def __init__(self, n: int) -> None:
        self.n, self.next = n, 0

    def ask(self) -> TrialInfo | None:
        if self.next >= self.n:
            return None
        self.next += 1
        return TrialInfo({"x": self.next - 1})

    def tell(self, info: TrialInfo, value: TrialValue) -> None:
        pass


def _x(config: dict[str, Any]) -> float:
    return float(config["x"])


def test_interruptions_are_journaled_and_counted_apart(tmp_path: Path) -> None:
    """Each lost run is an `interrupted` record (reason, job, requeue) of its trial's attempt;
    the trials still end SUCCESS with no retry spent, and the report says so."""
    journal = tmp_path / "j.jsonl"
    loop = OptimizationLoop(Counter(4), LosingRunner(_x), n_trials_goal=4, journal=journal)
    loop.run()
    assert all(v.status is StatusType.SUCCESS for _, v in loop.history)
    records = [r for r in read_records(journal) if r.get("type") == "interrupted"]
    assert [(r["trial"], r["attempt"], r["job"], r["requeue"]) for r in records] == [
        (0, 0, "42", 1), (2, 0, "42", 1)]
    assert "KilledWorker" in records[0]["reason"]
    text = summary(load_study(str(journal)))
    assert "interrupted: 2 runs of 2 trials lost outside the trial" in text
    assert "batch jobs 42" in text
    assert "0 attempts retried, 0 cancelled" in text
