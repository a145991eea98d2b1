"""Checkpoints: the directory a trial may save to, and a later trial that continues from it.

    loop: submit trial 7 -> additional_info["checkpoint_dir"] = <root>/trial-000007
    worker: target(config, ..., checkpoint=Path(that dir))   (created when the target asks)
    optimizer: continue_trial(info_7, budget=9) -> a TrialInfo whose "continues" names that
               dir; the loop hands the same dir to it, so the target finds what trial 7 saved

Which directory a trial gets, and when one is removed, is the loop's business
(runner/_loop/checkpoints.py); here is only what a trial carries and what the worker does
with it, the same on every backend.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from trials import TrialInfo

__all__ = ["CHECKPOINT_KEY", "CONTINUES_KEY", "checkpoint_dir", "continue_trial",
           "trial_checkpoint"]

CHECKPOINT_KEY = "checkpoint_dir"
"""``TrialInfo.additional_info`` key: the directory the trial's ``checkpoint`` argument names
(set by the loop when the target takes ``checkpoint``)."""

CONTINUES_KEY = "continues"
"""``TrialInfo.additional_info`` key of a continuation: the checkpoint directory of the trial
it continues (set by `continue_trial`)."""


def checkpoint_dir(info: Any) -> str | None:
    """The checkpoint directory ``info`` carries (a ``TrialInfo`` or a worker's plain copy)."""
    extra = getattr(info, "additional_info", None)
    if extra is None:
        return getattr(info, "checkpoint", None)
    value = extra.get(CHECKPOINT_KEY)
    return value if isinstance(value, str) else None


def continue_trial(info: TrialInfo, budget: float | None) -> TrialInfo:
    """A trial that continues ``info`` at ``budget``: the same configuration, instance and seed,
    a copy of its ``additional_info``, and the checkpoint directory ``info`` saved to, so the
    target finds what it saved there. ``info`` must be a trial the loop ran with a checkpoint
    (its target takes ``checkpoint``); otherwise the continuation starts from scratch."""
    if not isinstance(info, TrialInfo):
        raise TypeError(f"continue_trial(info, budget): info must be a trials.TrialInfo the "
                        f"loop ran, got {info!r} (type {type(info).__name__})")
    extra = dict(info.additional_info)
    path = extra.pop(CHECKPOINT_KEY, None)
    extra.pop(CONTINUES_KEY, None)
    if isinstance(path, str):
        extra[CONTINUES_KEY] = path
    return TrialInfo(info.config, instance=info.instance, seed=info.seed, budget=budget,
                     additional_info=extra)


@contextmanager
def trial_checkpoint(path: str | None) -> Iterator[Path]:
    """The directory to pass as a target's ``checkpoint``: ``path`` (created if missing), or,
    for a trial that carries none (a runner used without the loop), a temporary directory
    removed when the trial ends, since nothing could continue from it."""
    if path is not None:
        os.makedirs(path, exist_ok=True)
        yield Path(path)
        return
    temporary = tempfile.mkdtemp(prefix="trial-checkpoint-")
    try:
        yield Path(temporary)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
