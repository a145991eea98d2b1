"""A study's identity: its name and the fingerprint of what must stay the same for a journal to
be resumed (optimizer kind and space, target, objectives), recorded in the journal's header, and
the check a resuming loop makes against it (docs/loop.md, "Study identity").

Where the identity is recorded: the header of a journal the loop creates (``"study"`` and
``"fingerprint"``); a ``{"type": "study", ...}`` record appended when a journal had none (one
written before identities existed) or when a changed study was resumed with ``resume="force"``.
The last record wins over the header.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

from runner.errors import StudyMismatchError
from trials import Journal

__all__ = ["FIELDS", "ResumeMode", "check_study", "identity", "check_resume_mode"]

log = logging.getLogger(__name__)

ResumeMode = Literal["check", "force"]

FIELDS = ("optimizer", "space", "target", "objectives")
"""The fingerprint's fields, compared in this order; ``None`` on either side means unknown and
is not compared."""


def check_resume_mode(resume: Any) -> ResumeMode:
    if resume not in ("check", "force"):
        raise ValueError(f"resume must be 'check' (refuse a journal of another study) or 'force' "
                         f"(resume it anyway, recording the change), got {resume!r}")
    return resume  # type: ignore[no-any-return]


def check_name(study: Any) -> str | None:
    if study is not None and (not isinstance(study, str) or not study):
        raise TypeError(f"study must be a non-empty str or None, got {study!r} "
                        f"(type {type(study).__name__})")
    return study


def identity(optimizer: Any, runner: Any,
             fingerprint: Callable[[], Mapping[str, Any]] | None) -> dict[str, Any]:
    """The fingerprint of a loop's study: optimizer class and its ``fingerprint()`` (our
    optimizers give their space; any optimizer may define one), the runner's target name
    (without the enclosing function of a nested one) and objectives from its ``meta``."""
    extra = fingerprint() if fingerprint is not None else {}
    if not isinstance(extra, Mapping):
        raise TypeError(f"{type(optimizer).__name__}.fingerprint() must return a dict, got "
                        f"{type(extra).__name__}")
    try:
        meta = runner.meta
    except Exception:  # a third-party runner without meta: target and objectives unknown
        meta = {}
    meta = meta if isinstance(meta, Mapping) else {}
    target = meta.get("target")
    if isinstance(target, str):  # where a function was defined is not part of what it is
        target = target.rsplit("<locals>.", 1)[-1]
    found = {"optimizer": type(optimizer).__name__, "space": extra.get("space"),
             "target": target, "objectives": meta.get("objectives"),
             **{k: v for k, v in extra.items() if k not in FIELDS}}
    try:  # as the journal will give it back (tuples become lists), and JSON-safe
        return json.loads(json.dumps(found, allow_nan=False))  # type: ignore[no-any-return]
    except (TypeError, ValueError) as exc:
        raise TypeError(f"the study fingerprint is not JSON-safe ({exc}); "
                        f"{type(optimizer).__name__}.fingerprint() must return plain data") from exc


def _recorded(journal: Journal) -> tuple[str | None, dict[str, Any] | None]:
    """The study name and fingerprint the journal holds (the last study record, else its
    header); ``None`` for what it does not hold."""
    name, fingerprint = journal.header.get("study"), journal.header.get("fingerprint")
    for record in journal.records:
        if record.get("type") == "study":
            name = record.get("study", name)
            fingerprint = record.get("fingerprint", fingerprint)
    return name, fingerprint if isinstance(fingerprint, dict) else None


def _differences(name: str | None, current: Mapping[str, Any], old_name: str | None,
                 old: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    diffs: dict[str, tuple[Any, Any]] = {}
    if name is not None and old_name is not None and name != old_name:
        diffs["study"] = (old_name, name)
    for key in sorted(set(old) | set(current), key=lambda k: (k not in FIELDS, k)):
        theirs, ours = old.get(key), current.get(key)
        if theirs is not None and ours is not None and theirs != ours:
            diffs[key] = (theirs, ours)
    return diffs


def _label(name: str | None, fingerprint: Mapping[str, Any] | None) -> str:
    fp = fingerprint or {}
    space = fp.get("space")
    params = sorted(space) if isinstance(space, Mapping) else "?"
    return (f"study {name!r}: {fp.get('optimizer', '?')} on {params}, target "
            f"{fp.get('target', '?')!r}, objectives {fp.get('objectives', '?')}")


def check_study(journal: Journal, name: str | None, current: dict[str, Any],
                resume: ResumeMode) -> None:
    """Refuse (``StudyMismatchError``), or with ``resume="force"`` warn and record, a journal
    whose study differs from this loop's; record the identity in a journal that had none."""
    old_name, old = _recorded(journal)
    diffs = _differences(name, current, old_name, old or {})
    if not diffs:
        if old is None or (name is not None and old_name is None):
            # A journal from before identities, or one opened by the user without them.
            _append(journal, name or old_name, current, forced=False)
        return
    what = "; ".join(f"{key}: {theirs!r} in the journal, {ours!r} now"
                     for key, (theirs, ours) in diffs.items())
    if resume == "force":
        log.warning("journal %s: resuming a changed study on purpose (resume='force'): %s",
                    journal.path, what)
        _append(journal, name or old_name, current, forced=True, changed=sorted(diffs))
        return
    raise StudyMismatchError(
        f"journal {journal.path} holds another study than this loop's, so resuming it would mix "
        f"their trials.\n  journal:   {_label(old_name, old)}\n  this loop: "
        f"{_label(name or old_name, current)}\n  differs in {what}.\nUse another journal path "
        "for a new study, or pass resume='force' to OptimizationLoop to continue this journal "
        "on purpose (the change is recorded in it)",
        journal=journal.path, recorded={"study": old_name, **(old or {})},
        current={"study": name, **current}, differences=diffs)


def _append(journal: Journal, name: str | None, fingerprint: dict[str, Any], *, forced: bool,
            changed: list[str] | None = None) -> None:
    record: dict[str, Any] = {"type": "study", "study": name, "fingerprint": fingerprint,
                              "forced": forced, "time": time.time()}
    if changed:
        record["changed"] = changed
    journal.append(record)
