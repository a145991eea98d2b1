"""``--backend slurm``: the options (``--jobs``, ``--job-cores``, ``--job-memory``,
``--job-walltime``, ``--queue``), their check (SLURM installed, values sane) into the command's
``backend["slurm"]`` dict, and the runner built from it (``DaskRunner.slurm``). Shared by
``run``, ``resume`` and ``suite``."""

from __future__ import annotations

import argparse
import os
import shutil
from collections.abc import Mapping
from typing import Any

from runner.cli._common import UsageError

__all__ = ["add_slurm_options", "build_slurm_runner", "slurm_spec"]

LOG_FOLDER = os.path.join("runs", "slurm-logs")
"""Where the jobs' logs go, under the study's folder (SLURM's default is the submit folder)."""


def add_slurm_options(group: Any) -> None:
    """The SLURM job options, on an argument group or parser."""
    group.add_argument("--jobs", type=int, default=2, metavar="N",
                       help="--backend slurm: SLURM jobs of dask workers kept running (default 2)")
    group.add_argument("--job-cores", type=int, default=1, metavar="C",
                       help="--backend slurm: cores per job, one trial each (default 1)")
    group.add_argument("--job-memory", default="2GB", metavar="M",
                       help="--backend slurm: memory per job, e.g. 4GB (default 2GB)")
    group.add_argument("--job-walltime", default="01:00:00", metavar="HH:MM:SS",
                       help="--backend slurm: walltime per job; workers retire before it and a "
                            "replacement job takes over (default 01:00:00)")
    group.add_argument("--queue", metavar="Q", help="--backend slurm: the partition (-p)")
    group.add_argument("--notice-signals", default="USR1", metavar="SIGS",
                       help="--backend slurm: comma-separated signals that warn a job of its "
                            "kill (its trials pause or move; docs/clusters.md), '' for none "
                            "(default USR1)")


def slurm_spec(args: argparse.Namespace, backend: str) -> dict[str, Any]:
    """``{"slurm": {...}}`` for ``--backend slurm`` (checked: SLURM is here, values are sane),
    else ``{}``; the SLURM options without ``--backend slurm`` are refused."""
    given = [f"--{n.replace('_', '-')}" for n, default in (
        ("jobs", 2), ("job_cores", 1), ("job_memory", "2GB"), ("job_walltime", "01:00:00"),
        ("queue", None), ("notice_signals", "USR1")) if getattr(args, n, default) != default]
    if backend != "slurm":
        if given:
            verb = "needs" if len(given) == 1 else "need"
            raise UsageError(f"{', '.join(given)} {verb} --backend slurm, got --backend {backend}")
        return {}
    if shutil.which("sbatch") is None:
        raise UsageError("--backend slurm: SLURM is not installed here (no `sbatch` on PATH); "
                         "run on the cluster's login node")
    from runner.lowlevel import parse_walltime

    for name in ("jobs", "job_cores"):
        if getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be an int > 0, got "
                             f"{getattr(args, name)}")
    try:
        parse_walltime(args.job_walltime)
    except ValueError as e:
        raise UsageError(f"--job-walltime: {e}") from None
    spec = {"jobs": args.jobs, "cores": args.job_cores, "memory": args.job_memory,
            "walltime": args.job_walltime, "queue": args.queue,
            "log_directory": os.path.abspath(LOG_FOLDER)}
    signals = getattr(args, "notice_signals", "USR1")
    if signals != "USR1":
        from runner.lowlevel import check_notice_signals

        try:
            spec["notice_signals"] = list(check_notice_signals(
                [s.strip() for s in signals.split(",") if s.strip()]))
        except ValueError as e:
            raise UsageError(f"--notice-signals: {e}") from None
    return {"slurm": spec}


def build_slurm_runner(target: Any, backend: Mapping[str, Any], kwargs: dict[str, Any]) -> Any:
    """``DaskRunner.slurm`` from the command's backend dict."""
    spec = backend.get("slurm")
    if not isinstance(spec, Mapping):
        raise UsageError("--backend slurm: this study was not started with --backend slurm, so "
                         "its jobs are unknown; start a new study with --jobs, --job-cores, ...")
    if shutil.which("sbatch") is None:
        raise UsageError("--backend slurm: SLURM is not installed here (no `sbatch` on PATH); "
                         "run on the cluster's login node")
    from runner import DaskRunner

    os.makedirs(spec["log_directory"], exist_ok=True)
    return DaskRunner.slurm(target, **spec, **kwargs)
