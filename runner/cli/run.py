"""``trialrunner run``: start a study from the command line; everything ``resume`` needs goes
into the journal header (see ``runner.cli._command``)."""

from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import time
import warnings
from typing import Any

from runner.cli._command import BACKENDS, COMMAND_VERSION, enter_cwd
from runner.cli._common import UsageError
from runner.cli._optimizers import available
from runner.cli._resources import add_resource_options, resource_command
from runner.cli._slurm import add_slurm_options, slurm_spec
from runner.cli._space import read_space_file
from runner.cli._study_run import execute

__all__ = ["add_parser", "check_it_ends", "command_from_args", "main"]

HELP = "start a study: a target, a search space, an optimizer, a backend"


def add_parser(verbs: Any) -> argparse.ArgumentParser:
    """The ``run`` verb's arguments."""
    p: argparse.ArgumentParser = verbs.add_parser(
        "run", help=HELP, description=HELP + ". The journal header records the whole command, "
        "so `trialrunner resume JOURNAL` continues the study from the journal alone.")
    what = p.add_argument_group("what to evaluate")
    what.add_argument("target", nargs="?", metavar="MODULE:FUNCTION",
                      help="a Python callable target(config, ...), found from this folder")
    what.add_argument("--script", metavar="COMMAND",
                      help='a command line target instead, e.g. "python train.py" (SMAC3\'s '
                           "script protocol: it prints cost=...)")
    what.add_argument("--space", required=True, metavar="FILE",
                      help="search space: our spec as .toml/.json, or a ConfigSpace .json")
    what.add_argument("--objectives", default="cost", metavar="NAMES",
                      help="comma-separated objective names (default: cost)")
    what.add_argument("--crash-cost", type=float, metavar="X",
                      help="cost recorded for a failed trial (default: inf)")
    how = p.add_argument_group("optimizer")
    how.add_argument("--optimizer", default="random", metavar="NAME",
                     help=f"one of {', '.join(available())} (default: random)")
    how.add_argument("--seed", type=int, help="optimizer seed (default: drawn and recorded)")
    how.add_argument("--min-budget", type=float, metavar="B", help="smallest budget (hyperband)")
    how.add_argument("--max-budget", type=float, metavar="B",
                     help="largest budget (hyperband; random: the budget of every trial)")
    how.add_argument("--eta", type=int, help="hyperband's reduction factor (default 3)")
    how.add_argument("--iterations", type=int, dest="n_iterations", metavar="N",
                     help="hyperband iterations (default 1)")
    how.add_argument("--opt", action="append", default=[], metavar="KEY=VALUE",
                     help="another optimizer option (VALUE read as JSON, else text); repeatable")
    where = p.add_argument_group("where trials run")
    where.add_argument("--backend", default="process", choices=BACKENDS,
                       help="default: process")
    where.add_argument("--workers", type=int, metavar="N", help="workers (default: cores)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="a dask scheduler address (tcp://host:8786); implies --backend dask")
    add_slurm_options(where)
    where.add_argument("--walltime-limit", type=float, metavar="S", help="seconds per trial")
    where.add_argument("--cpu-time-limit", type=float, metavar="S", help="CPU seconds per trial")
    where.add_argument("--memory-limit", type=float, metavar="MB", help="megabytes per trial")
    add_resource_options(p)
    stop = p.add_argument_group("when to stop, what to keep")
    stop.add_argument("--n-trials", type=int, metavar="N", help="stop after N finished trials")
    stop.add_argument("--cost-goal", type=float, metavar="X", help="stop once a cost <= X")
    stop.add_argument("--duration-goal", type=float, metavar="S",
                      help="stop asking after S seconds (of this session)")
    stop.add_argument("--duration", type=float, dest="old_duration", help=argparse.SUPPRESS)
    stop.add_argument("--retries", type=int, default=0, metavar="N",
                      help="re-run a crashed trial up to N times (default 0)")
    stop.add_argument("--keep-going", action="store_true",
                      help="a trial that crashed after its retries is told to the optimizer and "
                           "the study goes on (default: the study stops, as in Python)")
    stop.add_argument("--max-failure-rate", type=float, metavar="SHARE",
                      help="end the study once more than SHARE (in (0, 1]) of the last "
                           "--failure-window finished trials failed (default: never)")
    stop.add_argument("--failure-window", type=int, default=20, metavar="N",
                      help="how many of the last finished trials --max-failure-rate looks at "
                           "(default 20)")
    stop.add_argument("--journal", metavar="FILE",
                      help="journal path (default: runs/<target>-<time>.jsonl)")
    stop.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                      help="live progress display (default: when the output is a terminal)")
    p.set_defaults(func=main)
    return p


def _option(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise UsageError(f"--opt: expected KEY=VALUE, got {text!r}")
    try:
        return key.replace("-", "_"), json.loads(value)
    except ValueError:
        return key.replace("-", "_"), value


def _positive(name: str, value: float | None, *, integer: bool = False) -> None:
    if value is not None and not value > 0:
        raise UsageError(f"{name} must be {'an int ' if integer else 'a number '}> 0, got {value}")


def _renamed_duration(args: argparse.Namespace) -> None:
    """``--duration``, the old name of ``--duration-goal`` (the loop's ``duration_goal``), works
    for one release and warns; shown even though Python hides DeprecationWarnings by default."""
    old = getattr(args, "old_duration", None)
    if old is None:
        return
    if args.duration_goal is not None:
        raise UsageError("--duration is the old name of --duration-goal: give only "
                         "--duration-goal")
    with warnings.catch_warnings():
        warnings.simplefilter("always", DeprecationWarning)
        warnings.warn("--duration is deprecated and will be removed in the next release; use "
                      "--duration-goal (the same seconds)", DeprecationWarning, stacklevel=2)
    args.duration_goal = old


def _target(args: argparse.Namespace) -> dict[str, Any]:
    if (args.target is None) == (args.script is None):
        raise UsageError("give a target as MODULE:FUNCTION or --script COMMAND (exactly one)")
    if args.script is not None:
        argv = shlex.split(args.script)
        if not argv:
            raise UsageError("--script: the command is empty")
        return {"script": argv}
    if ":" not in args.target:
        raise UsageError(f"target: expected MODULE:FUNCTION (e.g. train:objective), got "
                         f"{args.target!r}")
    return {"function": args.target}


def command_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The header's ``command`` dict for these arguments (checked; files read now)."""
    _renamed_duration(args)
    for name in ("workers", "walltime_limit", "cpu_time_limit", "memory_limit", "n_trials",
                 "duration_goal"):
        _positive("--" + name.replace("_", "-"), getattr(args, name),
                  integer=name in ("workers", "n_trials"))
    if args.retries < 0:
        raise UsageError(f"--retries must be >= 0, got {args.retries}")
    rate = args.max_failure_rate
    if rate is not None and not 0 < rate <= 1:
        raise UsageError(f"--max-failure-rate must be a share in (0, 1] (0.5: stop once more "
                         f"than half of the last --failure-window trials failed), got {rate:g}")
    _positive("--failure-window", args.failure_window, integer=True)
    backend = "dask" if args.scheduler else args.backend
    if args.scheduler and args.backend not in ("dask", "process"):
        raise UsageError(f"--scheduler needs --backend dask, got --backend {args.backend}")
    options: dict[str, Any] = {"min_budget": args.min_budget, "max_budget": args.max_budget,
                               "eta": args.eta, "n_iterations": args.n_iterations}
    options.update(_option(o) for o in args.opt)
    objectives = [o.strip() for o in args.objectives.split(",") if o.strip()]
    if not objectives:
        raise UsageError("--objectives: give at least one name")
    if args.optimizer not in available():
        raise UsageError(f"--optimizer: unknown optimizer {args.optimizer!r}; choose from "
                         f"{', '.join(available())}")
    return {
        "version": COMMAND_VERSION,
        "cwd": os.path.abspath(os.getcwd()),
        "target": _target(args),
        "space": read_space_file(args.space),
        "optimizer": {"name": args.optimizer,
                      "seed": args.seed if args.seed is not None else random.randrange(2**31),
                      "options": {k: v for k, v in options.items() if v is not None}},
        "backend": {"name": backend, "workers": args.workers, "scheduler": args.scheduler,
                    **slurm_spec(args, backend)},
        "limits": {"walltime_limit": args.walltime_limit, "cpu_time_limit": args.cpu_time_limit,
                   "memory_limit": args.memory_limit},
        "objectives": objectives,
        "crash_cost": args.crash_cost,
        "goals": {"n_trials": args.n_trials, "cost": args.cost_goal,
                  "duration": args.duration_goal},
        "retries": args.retries,
        "max_failure_rate": rate,
        "failure_window": args.failure_window,
        "keep_going": args.keep_going,
        **resource_command(args),
    }


def check_it_ends(command: dict[str, Any]) -> None:
    """Refuse a random search with no goal: it would never end."""
    if (command["optimizer"]["name"] == "random" and "n_trials" not in
            command["optimizer"]["options"] and
            all(v is None for v in command["goals"].values())):
        raise UsageError("random search never ends by itself: give --n-trials, --cost-goal or "
                         "--duration-goal")


def _default_journal(target: dict[str, Any]) -> str:
    if "function" in target:
        name = target["function"].replace(":", "-").replace(".", "-")
    else:
        name = os.path.splitext(os.path.basename(target["script"][-1]))[0] or "script"
    stem = os.path.join("runs", f"{name}-{time.strftime('%Y%m%d-%H%M%S')}")
    path, n = stem + ".jsonl", 1
    while os.path.exists(path):  # two studies started within the same second
        path, n = f"{stem}-{n}.jsonl", n + 1
    return path


def main(args: argparse.Namespace) -> int:
    """Check everything, write the journal header, run the study, print its summary."""
    command = command_from_args(args)
    check_it_ends(command)
    journal = os.path.abspath(args.journal or _default_journal(command["target"]))
    if os.path.exists(journal) and os.path.getsize(journal) > 0:
        raise UsageError(f"--journal {journal} already holds a study: continue it with "
                         f"`trialrunner resume {journal}`, or choose another path")
    enter_cwd(command)
    return execute(command, journal, progress=args.progress, new=True)
