"""Which device ran which trial, for ``report``: the share each attempt got
(``additional_info["resources"]``, docs/resources.md) read back from the journal, as a text
table per device and a timeline panel with one row per device.

Devices are GPU ids when any attempt got one, else core ids (a study that only bound cores);
a fractional share (``gpu_share``) counts the device as used by each trial sharing it. The
journal is scanned once more, and only lines that mention ``"resources"`` are decoded, so a
study without shares costs a byte search per line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from runner.cli._journal_view import Attempt, Study
from runner.cli._summary import printable

__all__ = ["DeviceUse", "device_lines", "device_order", "device_text", "device_uses"]

_MARK = b'"resources"'
_MAX_ROWS = 32
"""Devices listed one per line; more are summarised (a 64-core study's cores)."""


@attrs.frozen
class DeviceUse:
    """One attempt on one device: ``kind`` is ``"gpu"`` or ``"cpu"``, ``device`` its id."""

    kind: str
    device: str
    attempt: Attempt


def _shares(path: str, attempts: Mapping[int, Attempt]) -> dict[int, dict[str, Any]]:
    """The ``resources`` entry of each attempt's result line that has one, by line offset."""
    found: dict[int, dict[str, Any]] = {}
    end = max(attempts, default=-1)
    offset = 0
    with open(path, "rb") as f:
        for line in f:
            here, offset = offset, offset + len(line)
            if here > end:
                break
            if _MARK not in line or here not in attempts:
                continue
            try:
                value = json.loads(line).get("value") or {}
                share = (value.get("additional_info") or {}).get("resources")
            except (ValueError, AttributeError):
                continue  # a torn or foreign line: report what can be read
            if isinstance(share, Mapping):
                found[here] = dict(share)
    return found


def _ids(share: Mapping[str, Any], kind: str) -> list[str]:
    """The share's ids of ``kind`` as text fit to print: a journal is data, and an id must not
    drive the terminal (`printable`) nor push the table apart (at most 32 characters)."""
    ids = share.get(kind)
    return [printable(i)[:32] for i in ids] if isinstance(ids, list) else []


def device_uses(study: Study) -> list[DeviceUse]:
    """Every attempt's devices (GPUs if any attempt had one, else cores), in journal order;
    empty when no attempt recorded a share."""
    by_offset = {a.offset: a for a in study.attempts if a.offset >= 0}
    shares = _shares(study.path, by_offset) if by_offset else {}
    kind = "gpu" if any(_ids(s, "gpu") for s in shares.values()) else "cpu"
    return [DeviceUse(kind, device, by_offset[offset])
            for offset, share in sorted(shares.items()) for device in _ids(share, kind)]


def device_order(uses: list[DeviceUse], study: Study | None = None) -> list[str]:
    """The device ids in a stable, human order (numbers numerically, then the rest): those
    trials used, and those ``trialrunner run --gpus`` gave that none used."""
    ids = {u.device for u in uses}
    if study is not None and uses and uses[0].kind == "gpu":
        entry = (study.command or {}).get("resources") or {}
        has = (entry.get("resources") or {}) if isinstance(entry, Mapping) else {}
        ids.update(_ids(has, "gpu") if isinstance(has, Mapping) else [])
    return sorted(ids, key=lambda d: (0, int(d), "") if d.isdigit() else (1, 0, d))


def device_lines(study: Study, uses: list[DeviceUse] | None = None) -> list[str]:
    """The report's device table: trials and busy seconds per device, and the trial ids each
    ran (the first few); nothing when no attempt recorded a share."""
    uses = device_uses(study) if uses is None else uses
    if not uses:
        return []
    kind = uses[0].kind
    name = "GPU" if kind == "gpu" else "core"
    starts = [a.span[0] for a in study.attempts]
    ends = [a.span[1] for a in study.attempts]
    elapsed = max(ends) - min(starts) if starts else 0.0
    per: dict[str, list[Attempt]] = {}
    for use in uses:
        per.setdefault(use.device, []).append(use.attempt)
    order = device_order(uses, study)
    lines = [f"devices: {len(per)} {name}{'' if len(per) == 1 else 's'} ran "
             f"{len({(u.attempt.trial, u.attempt.attempt) for u in uses})} attempts "
             "(additional_info['resources']); busy: share of the elapsed time",
             f"  {name:>8}  {'attempts':>8}  {'busy s':>9}  {'busy':>6}  trials"]
    for device in order[:_MAX_ROWS]:
        ran = per.get(device, [])
        busy = sum(a.span[1] - a.span[0] for a in ran)
        share = f"{100 * busy / elapsed:5.1f} %" if elapsed > 0 else "    - "
        trials = sorted({a.trial for a in ran})
        shown = ", ".join(str(t) for t in trials[:8]) + (
            f", ... ({len(trials)} trials)" if len(trials) > 8 else "") or "(none: unused)"
        lines.append(f"  {device:>8}  {len(ran):>8}  {busy:>9.2f}  {share}  {shown}")
    if len(order) > _MAX_ROWS:
        lines.append(f"  ... and {len(order) - _MAX_ROWS} more {name}s")
    return lines


def device_text(study: Study, uses: list[DeviceUse] | None = None) -> str:
    """`device_lines` as text to append to the summary ("" without shares)."""
    lines = device_lines(study, uses)
    return "".join(line + "\n" for line in lines)
