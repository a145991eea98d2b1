"""A study as the CLI starts it: the ``command`` dict written into the journal header by ``run``
and read back by ``resume``, and what builds the target, runner, optimizer and loop from it.

The dict is JSON and holds everything the study depends on (the space file's content, the seed
actually drawn, the working directory the target was found in), so a resume needs the journal
alone::

    {"version": 1, "cwd": "/home/me/proj",
     "target": {"function": "train:objective"} | {"script": ["python", "train.py"]},
     "space": {"format": "spec", "spec": {...}} | {"format": "configspace", "json": {...}},
     "optimizer": {"name": "random", "seed": 7, "options": {...}},
     "backend": {"name": "process", "workers": 2, "scheduler": null},
                 (--backend slurm adds "slurm": {"jobs": 2, "cores": 1, "memory": "2GB",
                  "walltime": "01:00:00", "queue": null, "log_directory": "..."}),
     "limits": {"walltime_limit": 60, "cpu_time_limit": null, "memory_limit": 2048},
     "objectives": ["cost"], "crash_cost": null,
     "goals": {"n_trials": 100, "cost": null, "duration": null}, "retries": 1,
     "max_failure_rate": 0.5, "failure_window": 20}

(``max_failure_rate``/``failure_window`` are absent from journals written before they existed:
no failure-rate policy.)
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from collections.abc import Mapping
from typing import Any

from runner.cli._common import UsageError
from runner.cli._optimizers import build_optimizer
from runner.cli._resources import resource_kwargs
from runner.cli._slurm import build_slurm_runner
from runner.cli._space import build_space

__all__ = ["BACKENDS", "COMMAND_VERSION", "build_loop", "build_runner", "build_study_optimizer",
           "enter_cwd", "load_target"]

log = logging.getLogger(__name__)

COMMAND_VERSION = 1
BACKENDS = ("serial", "thread", "process", "dask", "slurm")


def enter_cwd(command: Mapping[str, Any]) -> None:
    """Work in the study's folder (targets and scripts are found relative to it) and make its
    modules importable here and in every worker process this one starts."""
    cwd = command.get("cwd")
    if not isinstance(cwd, str):
        return
    if not os.path.isdir(cwd):
        raise UsageError(f"the study's folder {cwd} no longer exists")
    if os.path.abspath(os.getcwd()) != cwd:
        log.info("working in the study's folder %s", cwd)
        os.chdir(cwd)
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    paths = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    if cwd not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (cwd, *paths) if p)


def load_target(target: Mapping[str, Any]) -> Any:
    """The callable named ``module:function``, or the script's argument list."""
    if "script" in target:
        return list(target["script"])
    ref = str(target.get("function"))
    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"target: expected module:function (e.g. train:objective), got {ref!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise UsageError(f"target {ref}: cannot import {module_name!r} ({e})") from None
    except Exception as e:  # the user's module failed while importing
        raise UsageError(f"target {ref}: importing {module_name!r} raised {e!r}") from None
    obj: Any = module
    for part in attr.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise UsageError(f"target {ref}: {module_name!r} has no attribute {attr!r}")
    if isinstance(obj, type):  # a runner.Target subclass, or any class of callables
        try:
            obj = obj()
        except Exception as e:
            raise UsageError(f"target {ref}: {attr}() raised {e!r}; a class target must build "
                             "without arguments") from None
    if not callable(obj):
        raise UsageError(f"target {ref} is not callable ({type(obj).__name__})")
    return obj


def build_runner(command: Mapping[str, Any]) -> Any:
    """The runner the command names; construction errors are `UsageError`."""
    target = load_target(command["target"])
    backend = command["backend"]
    name, workers, scheduler = backend["name"], backend.get("workers"), backend.get("scheduler")
    kwargs: dict[str, Any] = {k: v for k, v in command.get("limits", {}).items() if v is not None}
    objectives = command.get("objectives") or ["cost"]
    kwargs["objectives"] = objectives[0] if len(objectives) == 1 else list(objectives)
    if command.get("crash_cost") is not None:
        kwargs["crash_cost"] = command["crash_cost"]
    kwargs.update(resource_kwargs(command, name))
    import runner

    try:
        if name == "serial":
            return runner.SerialRunner(target, **kwargs)
        if name == "thread":
            return runner.ThreadPoolRunner(target, n_workers=workers or os.cpu_count() or 1,
                                           **kwargs)
        if name == "process":
            return runner.ProcessPoolRunner(target, n_workers=workers, **kwargs)
        if name == "dask":
            return runner.DaskRunner(target, client=scheduler, n_workers=workers, **kwargs)
        if name == "slurm":
            return build_slurm_runner(target, backend, kwargs)
    except (TypeError, ValueError, OSError, runner.RunnerError) as e:
        raise UsageError(f"--backend {name}: {e}") from None
    raise UsageError(f"--backend: unknown backend {name!r}; choose from {', '.join(BACKENDS)}")


def build_study_optimizer(command: Mapping[str, Any]) -> Any:
    """The optimizer over the command's space (checked before anything is written)."""
    space = build_space(command["space"])
    spec = command["optimizer"]
    return build_optimizer(spec["name"], space, spec["seed"], spec.get("options", {}))


def build_loop(command: Mapping[str, Any], optimizer: Any, runner: Any, journal: str) -> Any:
    """The loop on ``journal`` (which resumes whatever the journal holds)."""
    from runner import OptimizationLoop
    from trials import JournalError

    goals = command.get("goals", {})
    # a journal written before --keep-going existed went on after a crash: it still does
    try:
        return OptimizationLoop(
            optimizer, runner, n_trials_goal=goals.get("n_trials"), cost_goal=goals.get("cost"),
            duration_goal=goals.get("duration"), retries=command.get("retries", 0),
            raise_if_retries_exceeded=not command.get("keep_going", True), journal=journal,
            max_failure_rate=command.get("max_failure_rate"),
            failure_window=command.get("failure_window", 20))
    except (TypeError, ValueError, JournalError) as e:  # also: locked by a running study
        raise UsageError(str(e)) from None
