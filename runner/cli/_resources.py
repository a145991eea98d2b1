"""``trialrunner run``'s resource options: ``--trial-cpus``, ``--trial-gpus``, ``--gpus``
(docs/resources.md). They go into the command's ``resources`` entry (absent when none is
given) and from there to the runner's ``resources=``/``trial_resources=``."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from runner.cli._common import UsageError

__all__ = ["add_resource_options", "resource_command", "resource_kwargs"]


def add_resource_options(parser: argparse.ArgumentParser) -> None:
    """The option group on ``run``."""
    group = parser.add_argument_group("resources per trial")
    group.add_argument("--trial-cpus", type=int, metavar="N",
                       help="cores each trial gets (bound by affinity; thread counts set to N)")
    group.add_argument("--trial-gpus", type=float, metavar="N",
                       help="devices each trial gets (a fraction below 1 shares a device)")
    group.add_argument("--gpus", metavar="IDS",
                       help="the device ids trials share out, e.g. 0,1 (default: "
                            "CUDA_VISIBLE_DEVICES)")


def resource_command(args: argparse.Namespace) -> dict[str, Any]:
    """``{"resources": {...}}`` for the command dict, or ``{}`` when no option is given."""
    cpus, gpus, ids = (getattr(args, "trial_cpus", None), getattr(args, "trial_gpus", None),
                       getattr(args, "gpus", None))
    if cpus is None and gpus is None and ids is None:
        return {}
    if cpus is not None and cpus < 1:
        raise UsageError(f"--trial-cpus must be a whole number >= 1, got {cpus}")
    if gpus is not None and not (gpus > 0 and (gpus < 1 or gpus == int(gpus))):
        raise UsageError(f"--trial-gpus must be a whole number >= 1 or a fraction below 1, "
                         f"got {gpus:g}")
    has: dict[str, Any] = {}
    if ids is not None:
        has["gpu"] = [d.strip() for d in ids.split(",") if d.strip()]
        if not has["gpu"]:
            raise UsageError(f"--gpus: give device ids such as 0,1, got {ids!r}")
    need: dict[str, Any] = {}
    if cpus is not None:
        need["cpu"] = cpus
    if gpus is not None:
        need["gpu"] = int(gpus) if gpus == int(gpus) else gpus
    return {"resources": {"resources": has or None, "trial_resources": need or None}}


def resource_kwargs(command: Mapping[str, Any], backend: str) -> dict[str, Any]:
    """The runner keywords for the command's ``resources`` entry (``{}`` without one)."""
    entry = command.get("resources")
    if not entry:
        return {}
    if backend in ("dask", "slurm"):  # the workers' dask resources say what the runner has
        if entry.get("resources"):
            raise UsageError(f"--gpus does not apply to --backend {backend}: its dask workers "
                             "have the devices they were started with (`dask worker "
                             "--resources GPU=2`; for SLURM jobs, gpus=); give --trial-gpus")
        return {"trial_resources": entry["trial_resources"]} if entry.get(
            "trial_resources") else {}
    return {k: v for k, v in entry.items() if v is not None}
