"""The loop's checkpoint directories: which directory each trial gets, which trial owns it now,
and when it is removed (docs/early-stopping.md, "Checkpoints").

    submit trial 7              -> <study dir>/trial-000007, written into its additional_info
    submit continue_trial(t7)   -> the same directory (``continues`` names it), now owned by
                                   the continuation; ``continues_trial`` = 7 in its info
    trial ends                  -> kept if it was paused, or if the optimizer lists what it no
                                   longer needs (``drop_checkpoints``); removed otherwise
    optimizer.drop_checkpoints  -> removed, unless a continuation of it owns it or is in flight
    the study finishes          -> the directories it made removed, then its study dir if empty
    ``keep_checkpoints=True``   -> nothing is ever removed

The study dir is ``<journal>.checkpoints`` beside the journal (so a resumed study finds them),
else a temporary directory; with ``checkpoints=DIR`` it is this study's own folder inside DIR
(``<journal name>-<hash of its path>``, or a fresh ``study-*`` without a journal), so studies
sharing DIR never meet. Paths from outside are data, not trust: a directory named by a journal,
an optimizer's ``additional_info`` or ``drop_checkpoints()`` is used or removed only if it is one
this study made (``trial-N`` directly in its study dir, resolved there, not a symlink); anything
else is refused naming the trial, or left alone. Only a runner whose target takes
``checkpoint`` gets directories; for any other, nothing here happens.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
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

_NAME = re.compile(r"trial-[0-9]{6,}")
"""The name of a directory the loop hands out (``trial-`` and the id of its first trial)."""

_KEPT = ("a trial's checkpoint outlives it only if it was paused, if the optimizer has "
         "drop_checkpoints() (until it lists the trial), or with keep_checkpoints=True")


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


def check_usable(root: Path, what: str) -> None:
    """Fail now, naming ``root``, if no directory can be made there (a file on the way, no
    write permission), rather than in every trial. Leaves nothing behind."""
    existing = root
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    try:
        if not existing.is_dir():
            raise NotADirectoryError(f"{str(existing)!r} is not a directory")
        os.rmdir(tempfile.mkdtemp(prefix=".trialrunner-probe-", dir=existing))
    except OSError as exc:
        raise ValueError(f"{what}={str(root)!r} cannot hold checkpoints: no directory can be "
                         f"made in {str(existing)!r} ({exc.strerror or exc}); choose a writable "
                         "directory with checkpoints=") from exc


def study_dir_name(journal_path: Path) -> str:
    """This study's folder in a shared ``checkpoints=`` root: the journal's name and a hash of
    its resolved path (the same on resume, different for every other journal)."""
    digest = hashlib.sha256(os.path.realpath(journal_path).encode()).hexdigest()[:12]
    return f"{journal_path.name}-{digest}"


class Checkpoints:
    """Hands out checkpoint directories and removes them when no longer needed."""

    def __init__(self, root: Path | None, journal_path: Path | None, keep: bool) -> None:
        self._temporary = root is None and journal_path is None
        self._base = root  # a directory the user named (shared with other studies, perhaps)
        self.root: Path | None = None  # this study's own directory (made when first needed)
        if root is not None:
            check_usable(root, "checkpoints")
            if journal_path is not None:
                self._set_root(root / study_dir_name(journal_path))
        elif journal_path is not None:
            path = journal_path.absolute()
            path = path.with_name(path.name + ".checkpoints")
            check_usable(path, "the checkpoint directory beside the journal")
            self._set_root(path)
        self.keep = keep
        self._owner: dict[str, tuple[int, TrialInfo]] = {}  # dir -> (trial id, its latest trial)
        self._in_flight: dict[str, int] = {}  # dir -> trial id running in it now
        self._made: set[str] = set()  # every directory this study handed out
        self._removed: dict[str, int] = {}  # dir -> the trial whose end removed it

    def _set_root(self, root: Path) -> None:
        self.root = root
        self._real = os.path.realpath(root)

    def _root(self) -> Path:
        if self.root is None:
            if self._base is not None:
                os.makedirs(self._base, exist_ok=True)
            self._set_root(Path(tempfile.mkdtemp(
                prefix="trialrunner-checkpoints-" if self._base is None else "study-",
                dir=self._base)))
        assert self.root is not None
        return self.root

    def ours(self, path: Any) -> bool:
        """Whether ``path`` is a directory this study hands out: ``trial-N`` directly in its
        study dir, resolving there (not a symlink, no ``..``)."""
        if not isinstance(path, str) or self.root is None:
            return False
        head, name = os.path.split(path)
        return (head == str(self.root) and _NAME.fullmatch(name) is not None
                and os.path.realpath(path) == os.path.join(self._real, name))

    def assign(self, trial_id: int, info: TrialInfo) -> None:
        """Give ``info`` its directory (at its first submission; a retry or a resumed trial
        keeps the one it has). Raises ``ValueError`` naming the trial for a directory it was not
        given, and for a continuation of a directory it may not continue."""
        extra = info.additional_info
        if CHECKPOINT_KEY in extra:
            path = extra[CHECKPOINT_KEY]
            owner = self._owner.get(path) if isinstance(path, str) else None
            if owner is None or owner[0] != trial_id or owner[1] is not info:
                raise ValueError(self._not_given(trial_id, path, owner))
        elif extra.get(CONTINUES_KEY) is not None:
            path = self._continued(trial_id, extra[CONTINUES_KEY], extra)
            extra[CONTINUES_TRIAL_KEY] = self._owner[path][0]
        else:
            path = str(self._root() / f"trial-{trial_id:06d}")
            if os.path.lexists(path):  # a session whose submit record was lost made it
                if not self.ours(path):
                    raise ValueError(f"trial {trial_id}: its checkpoint directory {path!r} "
                                     "exists and is not a directory of this study (a symlink?)"
                                     "; remove it")
                log.warning("trial %d: removing %s, left by an earlier session of this study "
                            "that did not record it", trial_id, path)
                shutil.rmtree(path, ignore_errors=True)
            self._made.add(path)
        extra[CHECKPOINT_KEY] = path
        self._owner[path] = (trial_id, info)
        self._in_flight[path] = trial_id

    def _not_given(self, trial_id: int, path: Any, owner: tuple[int, TrialInfo] | None) -> str:
        if owner is not None and owner[0] != trial_id:
            return (f"trial {trial_id} carries additional_info['checkpoint_dir'] = {path!r}, "
                    f"the directory of trial {owner[0]}, which the loop did not give it (a "
                    "copied additional_info?): the loop assigns checkpoint directories; to "
                    f"continue trial {owner[0]} from its checkpoint ask "
                    "runner.continue_trial(its info, budget), else drop 'checkpoint_dir'")
        return (f"trial {trial_id} carries additional_info['checkpoint_dir'] = {path!r}, which "
                f"is not a directory this study gave it (its checkpoints are made in "
                f"{str(self.root or self._base or 'a temporary directory')!r}): refused; the "
                "loop assigns checkpoint directories, a new trial must not carry one")

    def _continued(self, trial_id: int, wanted: Any, extra: dict[str, Any]) -> str:
        """The directory a continuation may take over, or a ``ValueError`` saying why not."""
        owner = self._owner.get(wanted) if isinstance(wanted, str) else None
        if owner is None:
            if wanted in self._removed:
                raise ValueError(
                    f"trial {trial_id} continues the checkpoint {wanted!r} of trial "
                    f"{self._removed[wanted]}, which was removed when that trial ended "
                    f"({_KEPT})")
            raise ValueError(
                f"trial {trial_id} continues the checkpoint {wanted!r}, which this study "
                "did not hand out: pass continue_trial() a trial the loop ran (and told)")
        if wanted in self._in_flight:
            raise ValueError(
                f"trial {trial_id} continues the checkpoint {wanted!r} of trial "
                f"{self._in_flight[wanted]}, which is still running")
        # The continuation copies its source's additional_info, so its "continues_trial" is the
        # source's own (absent for a first trial): it must be the current owner's, else a later
        # continuation has overwritten the state the source left.
        if extra.get(CONTINUES_TRIAL_KEY) != owner[1].additional_info.get(CONTINUES_TRIAL_KEY):
            raise ValueError(
                f"trial {trial_id} continues an earlier state of the checkpoint {wanted!r}: "
                f"trial {owner[0]} continued it since, so it holds trial {owner[0]}'s state; "
                f"continue trial {owner[0]} (continue_trial(its info, budget)) instead")
        if not self.ours(wanted):
            raise ValueError(
                f"trial {trial_id} continues the checkpoint {wanted!r} of trial {owner[0]}, "
                "which is no longer this study's directory (replaced by a symlink?): refused")
        if not os.path.isdir(wanted):
            raise ValueError(
                f"trial {trial_id} continues the checkpoint {wanted!r} of trial {owner[0]}, "
                "which is no longer there (removed when it ended in an earlier session, or by "
                f"hand; {_KEPT}); it would start from an empty directory")
        return str(wanted)

    def known(self, trial_id: int, info: TrialInfo, unfinished: bool = False) -> None:
        """A trial replayed from the journal on resume: it owns its directory (later trials of
        the same directory replace it, as they did in the first run), if the directory is one
        this study makes. Any other is left alone; an unfinished trial that would run in it is
        refused (``ValueError`` naming the trial)."""
        extra = info.additional_info
        if CHECKPOINT_KEY not in extra:
            return
        path = extra[CHECKPOINT_KEY]
        if not self.ours(path):
            where = str(self.root or self._base or "a temporary directory")
            if unfinished:
                raise ValueError(
                    f"trial {trial_id} of the journal would run again in checkpoint_dir "
                    f"{path!r}, which is not a directory this study makes (in {where!r}): "
                    "refused; resume with the checkpoints= the study was first run with")
            log.warning("trial %d of the journal names checkpoint_dir %r, not a directory of "
                        "this study (in %r): left alone, and it cannot be continued",
                        trial_id, path, where)
            return
        self._owner[path] = (trial_id, info)
        self._made.add(path)

    def ended(self, info: TrialInfo, keep: bool) -> None:
        """``info`` ended for good: keep its directory for a continuation, or remove it."""
        path = info.additional_info.get(CHECKPOINT_KEY)
        if not isinstance(path, str):
            return
        self._in_flight.pop(path, None)
        if not (keep or self.keep):
            self._remove(path, info)

    def drop(self, infos: Iterable[Any]) -> None:
        """The optimizer will never continue ``infos``: remove the directories they own. One
        it never got from the loop (or a copy naming another trial's directory) is left alone."""
        if self.keep:
            return
        for info in infos:
            extra = getattr(info, "additional_info", None) or {}
            path = extra.get(CHECKPOINT_KEY)
            if isinstance(path, str) and path not in self._in_flight:
                self._remove(path, info)

    def _remove(self, path: str, info: Any) -> None:
        owner = self._owner.get(path)
        if owner is None or (owner[1] is not info and owner[1] != info):
            return  # a continuation owns it now, or it was never this study's
        del self._owner[path]
        self._removed[path] = owner[0]
        self._rmtree(path)

    def _rmtree(self, path: str) -> None:
        if self.ours(path):  # checked again now: it may have become a symlink meanwhile
            shutil.rmtree(path, ignore_errors=True)
        else:
            log.warning("checkpoint directory %s is no longer this study's (a symlink?): left "
                        "alone", path)

    def finish(self) -> None:
        """The study finished: remove the directories it made, then its study dir if that is
        empty (a temporary one whole), unless kept. Nothing else in a named root is touched."""
        if self.keep or self.root is None:
            return
        if self._temporary:
            shutil.rmtree(self.root, ignore_errors=True)
        else:
            for path in sorted(self._made):
                if os.path.lexists(path):
                    self._rmtree(path)
            try:
                os.rmdir(self.root)
            except OSError:
                pass  # not empty (something not ours is there), or gone
        self._owner.clear()
        self._made.clear()
