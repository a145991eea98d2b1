"""Drive every study of a suite on one shared runner, one thread, no worker idle while any
study has a trial to give.

Each pass::

    route:  shared runner results -> the studies' views (a study with a result may ask again)
    fill:   as below, from studies without news (no journal sync delays a freed worker)
    step:   every study with news runs one loop pass with no slot (collect, journal, tell, goals)
    fill:   while the shared runner has a free worker: the study with a trial to give and the
            least progress ((finished + in flight) / n_trials) runs one loop pass with one slot;
            a study that submits nothing has nothing to give until its next result. At most
            ``max_open`` studies are open (journal and optimizer held) unless none of them has
            a trial to give, so a suite of thousands of studies does not hold thousands of files
    wait:   shared runner.wait(short timeout)

Each study keeps its own ``OptimizationLoop`` (optimizer, goals, retries, journal), so it gets the
same trials as alone; a study whose loop fails is recorded with its error and the others go on.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from typing import Any

from runner import OptimizationLoop, OptimizerCapabilities
from runner.lowlevel import runner_clock
from runner.problems import Problem
from runner.suites._optimizers import build_optimizer, sends_reports
from runner.suites._pool import SharedPool, StudyView, accepts
from runner.suites._results import MODEL, spent
from runner.suites._spec import StudySpec

__all__ = ["Scheduler", "Study"]

log = logging.getLogger(__name__)

_WAIT = 0.05  # seconds per shared runner.wait: how often the display and Ctrl-C are served


class TargetTime:
    """A loop goal: met once the study's trials took ``seconds`` of target time (`spent`,
    summed over its history as it grows)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.total = 0.0
        self._counted = 0

    def __call__(self, loop: OptimizationLoop) -> bool:
        history = loop.history
        for i in range(self._counted, len(history)):
            self.total += spent(history[i][1])
        self._counted = len(history)
        return self.total >= self.seconds

    def __repr__(self) -> str:
        return f"target_seconds={self.seconds!r}"


class Study:
    """One study's state in a suite run: its files, its loop once started, its outcome."""

    def __init__(self, spec: StudySpec, problem: Problem, out: str,
                 wait_for_decisions: bool = False) -> None:
        self.spec = spec
        self.wait_for_decisions = wait_for_decisions
        self.problem = problem
        self.journal = os.path.join(out, spec.problem, spec.optimizer, f"seed-{spec.seed}.jsonl")
        self.status_file = self.journal[: -len(".jsonl")] + ".json"
        self.loop: OptimizationLoop | None = None
        self.view: StudyView | None = None
        self.status = "pending"  # pending, running, finished, failed
        self.error: str | None = None
        self.refused = False  # its journal belongs to another version of it (see changed())
        self.hungry = True  # may have a trial to give
        self.started = 0.0
        self.target_time = (TargetTime(spec.target_seconds) if spec.target_seconds is not None
                            else None)
        state = self._state() if os.path.exists(self.journal) else None
        # a journal an earlier version began stays marked as such (see _results.study_row)
        self.model = MODEL if not os.path.exists(self.journal) else (
            state.get("model") if state is not None else None)

    @property
    def key(self) -> str:
        return self.spec.key

    def identity(self) -> dict[str, Any]:
        """What must not change for this study's journal to be continued: problem, optimizer
        name, every setting (``use`` included) and seed, as JSON keeps them. ``n_trials``,
        ``target_seconds`` and ``retries`` may change: raising them continues the study."""
        spec = self.spec
        data = {"problem": spec.problem, "optimizer": spec.optimizer, "seed": spec.seed,
                "settings": dict(spec.settings)}
        out: dict[str, Any] = json.loads(json.dumps(data, sort_keys=True, default=str))
        return out

    def _state(self) -> dict[str, Any] | None:
        try:
            with open(self.status_file, encoding="utf-8") as f:
                state = json.load(f)
        except (OSError, ValueError):
            return None
        return state if isinstance(state, dict) else None

    def finished_before(self) -> bool:
        """Whether an earlier run finished this very study: its status file says finished, with
        the same identity, ``n_trials`` and ``target_seconds``."""
        state = self._state()
        return bool(state is not None and state.get("status") == "finished" and
                    state.get("identity") == self.identity() and
                    state.get("n_trials") == self.spec.n_trials and
                    state.get("target_seconds") == self.spec.target_seconds)

    def changed(self) -> str | None:
        """Why this study's journal cannot be continued (an earlier run recorded another
        identity for it: the suite file was edited), or ``None``."""
        state = self._state()
        theirs = state.get("identity") if state is not None else None
        if not isinstance(theirs, dict) or theirs == self.identity():
            return None  # none recorded (a run before identities): the loop's own check
        ours, diffs = self.identity(), []
        for key in sorted(set(theirs) | set(ours)):
            if key == "settings" and isinstance(theirs.get(key), dict):
                old, new = theirs[key], ours[key]
                diffs += [f"{k}: {old.get(k)!r} -> {new.get(k)!r}"
                          for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
            elif theirs.get(key) != ours.get(key):
                diffs.append(f"{key}: {theirs.get(key)!r} -> {ours.get(key)!r}")
        return (f"the suite file changed this study since {self.journal} was written "
                f"({'; '.join(diffs)}); its old results are not reported as the new study's. "
                f"Remove that journal and {self.status_file} to run it anew, or use another "
                f"--out")

    def progress(self) -> float:
        """(finished + in flight) / n_trials, or the share of ``target_seconds`` spent if that
        is further: what the scheduler balances."""
        done = len(self.loop.history) if self.loop is not None else 0
        flying = self.view.in_flight if self.view is not None else 0
        share = (done + flying) / self.spec.n_trials
        if self.target_time is not None:
            share = max(share, self.target_time.total / self.target_time.seconds)
        return share

    def done_trials(self) -> int:
        return len(self.loop.history) if self.loop is not None else 0

    def start(self, pool: SharedPool) -> None:
        """Build the optimizer and the loop (resuming its journal)."""
        os.makedirs(os.path.dirname(self.journal), exist_ok=True)
        spec = self.spec
        optimizer = build_optimizer(spec.optimizer, self.problem, spec.seed, spec.n_trials,
                                    spec.settings)
        if OptimizerCapabilities.of(optimizer).on_report is not None and not sends_reports(
                self.problem, callable(getattr(pool.runner, "clock", None))):
            log.warning("study %s: its optimizer decides on trials' reports (on_report), but "
                        "the trials of problem %r send none on this backend: it will stop "
                        "none of them", self.key, self.problem.name)
        self.view = StudyView(pool, spec.problem, len(self.problem.objectives),
                              wants_checkpoint="checkpoint" in accepts(self.problem.target)
                              and bool(getattr(pool.runner, "wants_checkpoint", False)))
        self.loop = OptimizationLoop(optimizer, self.view, n_trials_goal=spec.n_trials,
                                     goal=self.target_time, retries=spec.retries,
                                     raise_if_retries_exceeded=False, journal=self.journal,
                                     wait_for_decisions=self.wait_for_decisions)
        self.status, self.started = "running", time.monotonic()
        self.write_status()  # its identity, so a rerun with other settings is refused

    def write_status(self) -> None:
        """Record the outcome next to the journal (atomically: write, then rename)."""
        state = {"status": self.status, "error": self.error, "n_trials": self.spec.n_trials,
                 "target_seconds": self.spec.target_seconds, "study": self.key,
                 "identity": self.identity(), "model": self.model}
        tmp = self.status_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(state, f)
        os.replace(tmp, self.status_file)


class Scheduler:
    """Runs ``studies`` to the end on ``pool`` (see the module doc)."""

    def __init__(self, pool: SharedPool, studies: list[Study],
                 on_pass: Callable[[Scheduler], None] | None = None,
                 max_open: int | None = None) -> None:
        """``max_open``: studies open at once (default ``max(32, 4 x workers)``); one more
        opens whenever no open study has a trial to give, so no worker idles for it."""
        self.pool = pool
        self.max_open = max_open
        self.studies = studies
        self.active = [s for s in studies if s.status in ("pending", "running")]
        self.on_pass = on_pass
        self.workers = 0  # the most free workers seen (all of them at the start)
        self.t0 = 0.0
        self._clock = runner_clock(pool.runner) or time.monotonic  # a simulated runner's time
        self._c0 = 0.0

    def run(self) -> None:
        """Until every study is finished or failed; Ctrl-C cancels them all (journals marked)."""
        self.t0, self._c0 = time.monotonic(), self._clock()
        pump = getattr(self.pool.runner, "set_report_pump", None)
        if callable(pump):  # a runner running trials in this thread: decide on reports there
            pump(self.pool.pump_reports)
        try:
            while self.active:
                news = self.pool.route()
                # Refill freed workers first from studies with no news: their pass journals and
                # syncs nothing, so no worker waits on another study's fdatasync.
                self._fill(skip=news)
                for study in [s for s in self.active if s.view in news]:
                    study.hungry = True
                    self._step(study, 0)
                self._fill()
                if self.on_pass is not None:
                    self.on_pass(self)
                if self.active:
                    self.pool.runner.wait(_WAIT)
        except BaseException:
            for study in self.active:
                if study.loop is not None:
                    study.loop.cancel()
                    study.loop.step()
            raise
        finally:
            if callable(pump):
                pump(None)

    def utilization(self) -> float:
        """Target time of the trials finished so far / (workers x elapsed): the share of worker
        time spent in targets (what ``OptimizationLoop.overhead`` leaves, as a fraction)."""
        elapsed = self._clock() - self._c0
        return self.pool.target_seconds / max(1e-9, max(1, self.workers) * elapsed)

    def _fill(self, skip: set[StudyView] | frozenset[StudyView] = frozenset()) -> None:
        runner = self.pool.runner
        free = runner.count_available_workers()
        self.workers = max(self.workers, free)
        while free > 0:
            hungry = [s for s in self.active if s.hungry]
            if any(s.loop is not None for s in hungry) and self._n_open() >= self._window():
                hungry = [s for s in hungry if s.loop is not None]  # open one more only when
                # none of the open studies has a trial to give
            hungry = [s for s in hungry if s.view not in skip]
            if not hungry:
                return
            study = min(hungry, key=Study.progress)
            if study.loop is None:
                try:
                    study.start(self.pool)
                except Exception as exc:  # the optimizer or its journal: this study only
                    self._fail(study, f"could not start: {exc!r}")
                    continue
            assert study.view is not None
            before = study.view.submitted
            self._step(study, 1)
            if study.view.submitted == before:
                study.hungry = False
            free -= study.view.submitted - before  # workers freed meanwhile: next pass, routed

    def _window(self) -> int:
        """How many studies may be open at once (journal, optimizer) while they have work."""
        return self.max_open if self.max_open is not None else max(32, 4 * self.workers)

    def _n_open(self) -> int:
        return sum(1 for s in self.active if s.loop is not None)

    def _step(self, study: Study, slots: int) -> None:
        assert study.loop is not None and study.view is not None
        study.view.grant = slots
        try:
            alive = study.loop.step()
        finally:
            study.view.grant = 0
        if alive:
            return
        if study.loop.status() == "failed":
            try:
                study.loop.block_until_done(0)
            except Exception as exc:
                self._fail(study, repr(exc))
                return
        history = study.loop.history
        if len(history) and all(v.status.name != "SUCCESS" for _, v in history):
            first = next(iter(history))[1].additional_info.get("error", "no error recorded")
            self._fail(study, f"every trial crashed; the first: {first}")
            return
        study.status = "finished"
        self._finish(study)

    def _fail(self, study: Study, error: str) -> None:
        log.warning("study %s failed: %s", study.key, error)
        study.status, study.error = "failed", error
        self._finish(study)

    def _finish(self, study: Study) -> None:
        self.active.remove(study)
        try:
            study.write_status()
        except OSError as exc:
            log.warning("could not write the status of study %s: %s", study.key, exc)
