"""The loop's checkpoint directories: which directory each trial gets, which trial owns it now,
and when it is removed (docs/early-stopping.md, "Checkpoints").

    submit trial 7              -> <root>/trial-000007, written into its additional_info
    submit continue_trial(t7)   -> the same directory (``continues`` names it), now owned by
                                   the continuation; ``continues_trial`` = 7 in its info
    trial ends                  -> kept if it was paused, or if the optimizer lists what it no
                                   longer needs (``drop_checkpoints``); removed otherwise
    optimizer.drop_checkpoints  -> removed, unless a continuation of it owns it or is in flight
    the study finishes          -> the root removed
    ``keep_checkpoints=True``   -> nothing is ever removed

The root is ``checkpoints=`` if given, else ``<journal>.checkpoints`` beside the journal (so a
resumed study finds them), else a temporary directory. Only a runner whose target takes
``checkpoint`` gets directories; for any other, nothing here happens.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs

from runner._core.checkpoints import CHECKPOINT_KEY, CONTINUES_KEY
from trials import TrialInfo, TrialValue

__all__ = ["CONTINUES_TRIAL_KEY", "PAUSED_KEY", "Checkpoints", "check_checkpoint_arguments",
           "paused_value"]

log = logging.getLogger(__name__)

CONTINUES_TRIAL_KEY = "continues_trial"
"""``additional_info`` key the loop sets on a continuation: the id of the trial it continues
(the journal then says which trial continues which)."""

PAUSED_KEY = "paused"
"""``TrialValue.additional_info`` key: ``True`` on a STOPPED trial that a "pause" decision
stopped (its checkpoint is kept, so a continuation may resume it)."""


def paused_value(value: TrialValue) -> TrialValue:
    """``value`` (STOPPED) marked as paused."""
    return attrs.evolve(value, additional_info={**value.additional_info, PAUSED_KEY: True})


def check_checkpoint_arguments(checkpoints: Any, keep_checkpoints: Any) -> Path | None:
    """``checkpoints`` as a path (or ``None``); errors name the parameter."""
    if not isinstance(keep_checkpoints, bool):
        raise TypeError(f"keep_checkpoints must be a bool, got {keep_checkpoints!r}")
    if checkpoints is None:
        return None
    if not isinstance(checkpoints, (str, os.PathLike)):
        raise TypeError(f"checkpoints must be a directory path (str or os.PathLike) or None, "
                        f"got {checkpoints!r} (type {type(checkpoints).__name__})")
    path = Path(checkpoints).absolute()  # workers may run in another directory
    if path.exists() and not path.is_dir():
        raise ValueError(f"checkpoints={str(path)!r} exists and is not a directory")
    return path


class Checkpoints:
    """Hands out checkpoint directories and removes them when no longer needed."""

    def __init__(self, root: Path | None, journal_path: Path | None, keep: bool) -> None:
        self._temporary = root is None and journal_path is None
        self.root = root if root is not None else (
            journal_path.absolute().with_name(journal_path.name + ".checkpoints")
            if journal_path is not None else None)
        self.keep = keep
        self._owner: dict[str, tuple[int, TrialInfo]] = {}  # dir -> (trial id, its latest trial)
        self._in_flight: dict[str, int] = {}  # dir -> trial id running in it now

    def _root(self) -> Path:
        if self.root is None:
            self.root = Path(tempfile.mkdtemp(prefix="trialrunner-checkpoints-"))
        return self.root

    def assign(self, trial_id: int, info: TrialInfo) -> None:
        """Give ``info`` its directory (at its first submission; a retry or a resumed trial
        keeps the one it has). Raises ``ValueError`` for a continuation of a directory this
        study never handed out."""
        extra = info.additional_info
        path = extra.get(CHECKPOINT_KEY)
        if not isinstance(path, str):
            wanted = extra.get(CONTINUES_KEY)
            if wanted is not None:
                if wanted not in self._owner:
                    raise ValueError(
                        f"trial {trial_id} continues the checkpoint {wanted!r}, which this study "
                        "did not hand out: pass continue_trial() a trial the loop ran (and told)")
                if wanted in self._in_flight:
                    raise ValueError(
                        f"trial {trial_id} continues the checkpoint {wanted!r} of trial "
                        f"{self._in_flight[wanted]}, which is still running")
                path = wanted
                extra[CONTINUES_TRIAL_KEY] = self._owner[wanted][0]
            else:
                path = str(self._root() / f"trial-{trial_id:06d}")
            extra[CHECKPOINT_KEY] = path
        self._owner[path] = (trial_id, info)
        self._in_flight[path] = trial_id

    def known(self, trial_id: int, info: TrialInfo) -> None:
        """A trial replayed from the journal on resume: it owns its directory (later trials of
        the same directory replace it, as they did in the first run)."""
        path = info.additional_info.get(CHECKPOINT_KEY)
        if isinstance(path, str):
            self._owner[path] = (trial_id, info)

    def ended(self, info: TrialInfo, keep: bool) -> None:
        """``info`` ended for good: keep its directory for a continuation, or remove it."""
        path = info.additional_info.get(CHECKPOINT_KEY)
        if not isinstance(path, str):
            return
        self._in_flight.pop(path, None)
        if not (keep or self.keep):
            self._remove(path, info)

    def drop(self, infos: Iterable[Any]) -> None:
        """The optimizer will never continue ``infos``: remove the directories they own."""
        if self.keep:
            return
        for info in infos:
            extra = getattr(info, "additional_info", None) or {}
            path = extra.get(CHECKPOINT_KEY)
            if isinstance(path, str) and path not in self._in_flight:
                self._remove(path, info)

    def _remove(self, path: str, info: Any) -> None:
        owner = self._owner.get(path)
        if owner is not None and owner[1] is not info and owner[1] != info:
            return  # a continuation owns it now
        self._owner.pop(path, None)
        shutil.rmtree(path, ignore_errors=True)

    def finish(self) -> None:
        """The study finished: remove every checkpoint (the whole root), unless kept."""
        if self.keep or self.root is None:
            return
        if self._temporary or self.root.name.endswith(".checkpoints"):
            shutil.rmtree(self.root, ignore_errors=True)
        else:  # a directory the user named: remove what we made there, not the directory
            for path in list(self._owner):
                shutil.rmtree(path, ignore_errors=True)
            for child in self.root.glob("trial-*"):
                shutil.rmtree(child, ignore_errors=True)
        self._owner.clear()
