"""``run_suite``: the Python API behind ``python -m runner suite``: build the shared runner, the
studies (skipping those finished by an earlier run on the same ``out``), run them, write
``results.csv`` and the plots."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from runner.lowlevel import check_wait_for_decisions
from runner.problems import Problem
from runner.suites._optimizers import check_reports
from runner.suites._pool import SharedPool, SuiteTarget, accepts, suite_target
from runner.suites._resources import allocates, mark_allocating, runner_resources
from runner.suites._results import study_row, write_csv
from runner.suites._scheduler import Scheduler, Study
from runner.suites._spec import SuiteSpec, check_path_parts, load_suite
from runner.suites._suite_data import write_info

__all__ = ["BACKENDS", "SuiteResult", "check_backend", "make_runner", "run_suite"]

log = logging.getLogger(__name__)

BACKENDS = ("process", "thread", "dask", "serial", "simulated", "slurm")


@attrs.frozen
class SuiteResult:
    """What a suite run produced: one row per study (results.csv), the output folder, and the
    measured wall time and worker utilization of this run."""

    rows: list[dict[str, Any]]
    out: str
    wall_s: float
    utilization: float
    workers: int

    @property
    def failed(self) -> list[dict[str, Any]]:
        """The rows of failed studies."""
        return [r for r in self.rows if r["status"] == "failed"]


def make_runner(backend: str, workers: int, problems: Mapping[str, Problem], *,
                scheduler: str | None = None, limits: Mapping[str, float] | None = None,
                slurm: Mapping[str, Any] | None = None,
                resources: Mapping[str, Any] | None = None) -> Any:
    """The shared runner: ``suite_target`` on ``backend``, every problem's target shipped once
    (a `SuiteTarget` when some problem's target takes ``report`` or ``checkpoint``).
    ``slurm``: ``DaskRunner.slurm``'s job keywords, for the slurm backend; ``resources``: its
    ``resources=``/``trial_resources=`` (``runner.suites._resources.runner_resources``)."""
    import runner

    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {list(BACKENDS)}, got {backend!r}")
    if scheduler is not None and backend != "dask":
        raise ValueError(f"scheduler is only for the dask backend, got backend={backend!r}")
    shared = {"suite_problems": {k: (p.target, len(p.objectives)) for k, p in problems.items()}}
    kwargs: dict[str, Any] = {"shared_data": shared, **(limits or {}), **(resources or {})}
    taken = frozenset().union(*(accepts(p.target) for p in problems.values()))
    target: Any = suite_target
    if "report" in taken or "checkpoint" in taken:
        target = SuiteTarget("report" in taken, "checkpoint" in taken)
    shared_runner = _build(runner, backend, target, workers, scheduler, slurm, kwargs)
    if resources:
        mark_allocating(shared_runner)
    return shared_runner


def _build(runner: Any, backend: str, target: Any, workers: int, scheduler: str | None,
           slurm: Mapping[str, Any] | None, kwargs: dict[str, Any]) -> Any:
    """The runner of ``backend`` (``runner``: the package) around ``target``."""
    if backend == "process":
        return runner.ProcessPoolRunner(target, n_workers=workers, **kwargs)
    if backend == "thread":
        return runner.ThreadPoolRunner(target, n_workers=workers, **kwargs)
    if backend == "serial":
        return runner.SerialRunner(target, **kwargs)
    if backend == "dask":
        return runner.DaskRunner(target, client=scheduler, n_workers=workers, **kwargs)
    if backend == "slurm":
        return runner.DaskRunner.slurm(target, **(slurm or {}), **kwargs)
    simulated = getattr(runner, "SimulatedRunner", None) if "SimulatedRunner" in getattr(
        runner, "__all__", ()) else None
    if simulated is None:
        raise ValueError("the simulated backend needs runner.SimulatedRunner, which this "
                         "installation does not have")
    return simulated(target, n_workers=workers, **kwargs)


def check_backend(spec: SuiteSpec, problems: Mapping[str, Problem], simulated: bool) -> None:
    """``ValueError`` naming the study when a study needs reports its problem sends only on
    another backend (a learning curve, replayed by the simulated runner alone)."""
    for study in spec.studies():
        try:
            check_reports(study.optimizer, problems[study.problem], study.settings, simulated)
        except ValueError as exc:
            raise ValueError(f"study {study.key}: {exc}") from None


def run_suite(suite: SuiteSpec | str, *, backend: str = "process", workers: int = 2,
              scheduler: str | None = None, out: str | None = None, progress: bool = False,
              plots: bool = True, runner: Any = None, max_open: int | None = None,
              on_pass: Callable[[Scheduler], None] | None = None,
              source: str | None = None) -> SuiteResult:
    """Run (or resume) every study of ``suite`` (a spec or a suite file path) on one shared
    runner; ``out`` defaults to ``runs/<name>``. Pass ``runner`` to use a runner of your own
    (its target must be `runner.suites.suite_target`, or a
    `runner.suites.SuiteTarget` to carry reports and checkpoints, with the problems as
    shared data);
    ``max_open`` bounds the studies open at once (see `Scheduler`); ``source``: the
    suite file's text, recorded in ``out/suite-info.json`` for the report."""
    spec = load_suite(suite) if isinstance(suite, str) else suite
    check_path_parts(spec)  # names become folders under out: never one that leaves it
    out = out if out is not None else os.path.join("runs", spec.name)
    os.makedirs(out, exist_ok=True)
    if isinstance(suite, str) and source is None:
        with open(suite, encoding="utf-8") as f:
            source = f.read()
    write_info(out, spec, source)
    problems = {name: spec.problem(name) for name in spec.problems}
    check_backend(spec, problems, backend == "simulated" if runner is None
                  else callable(getattr(runner, "clock", None)))
    studies = [Study(s, problems[s.problem], out, spec.wait_for_decisions)
               for s in spec.studies()]
    for study in studies:
        study.error = study.changed()
        if study.error is not None:  # refused: its journal is another study's
            study.status, study.refused = "failed", True
            log.warning("study %s refused: %s", study.key, study.error)
        elif study.finished_before():
            study.status = "finished"
    skipped = sum(s.status == "finished" for s in studies)
    if skipped:
        log.info("%s: %d of %d studies finished in an earlier run; skipped", out, skipped,
                 len(studies))
    own = runner is None
    allocation = runner_resources(spec.resources, spec.trial_resources, backend)
    if allocation and not own and not allocates(runner):
        log.warning("suite %s: its resources/trial_resources are applied only by a runner "
                    "run_suite builds; the runner given must allocate them itself", spec.name)
    shared = runner if runner is not None else make_runner(
        backend, workers, problems, scheduler=scheduler, limits=spec.limits,
        resources=allocation)
    if spec.wait_for_decisions and not own:  # ours can; a runner of the caller's may not
        check_wait_for_decisions(True, shared)
    sched = Scheduler(SharedPool(shared), studies, on_pass, max_open=max_open)
    try:
        if progress:
            from runner.lowlevel import in_notebook

            if in_notebook():  # a line per running study under the totals, as a widget
                from runner.suites._notebook import SuiteWidget as Display
            else:
                from runner.suites._progress import SuiteProgress as Display  # type: ignore[assignment]
            display = Display(f"suite {spec.name}")
            sched.on_pass = _chain(on_pass, display.update)
            with display:
                sched.run()
        else:
            sched.run()
    finally:
        if own:
            shared.close()
        rows = _write_results(out, studies)  # also when interrupted: rows "unfinished"
    wall = time.monotonic() - sched.t0
    utilization = sched.utilization()
    if plots:
        _plots(out, studies)
    return SuiteResult(rows, out, wall, utilization, max(1, sched.workers))


def _write_results(out: str, studies: list[Study]) -> list[dict[str, Any]]:
    rows = [study_row(s.spec.problem, s.spec.optimizer, s.spec.seed,
                      "" if s.refused else s.journal, _final_status(s), s.error,
                      s.problem) for s in studies]
    write_csv(os.path.join(out, "results.csv"), rows)
    return rows


def _final_status(study: Study) -> str:
    if study.status in ("finished", "failed"):
        return study.status
    return "unfinished"


def _chain(*calls: Callable[[Scheduler], None] | None) -> Callable[[Scheduler], None]:
    def both(s: Scheduler) -> None:
        for call in calls:
            if call is not None:
                call(s)
    return both


def _plots(out: str, studies: list[Study]) -> None:
    """The report's figures of every problem under ``out/plots`` (``<problem>.png``, and
    ``<problem>-fronts.png`` for two objectives); skipped without matplotlib."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        log.warning("matplotlib is not installed: no plots (pip install 'trialrunner[plot]')")
        return
    from runner.suites._suite_data import load
    from runner.suites._suite_html import figures

    if not any(os.path.exists(s.journal) for s in studies):
        return
    for name, png in figures(load(out)):
        path = os.path.join(out, "plots", f"{name}.png")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(png)
