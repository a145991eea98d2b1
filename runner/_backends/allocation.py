"""``ResourcePlan``: a runner's resources and its trials' needs, as the backends use them
(the bookkeeping itself is runner/_core/resources.py; the worker applies a share with
runner/_worker/assign.py).

    submit_trial ──> admit(info): the need, refused if it can never fit
    starting it  ──> take(info): an Assignment, or None (it waits at the head of the queue)
    it ended     ──> give_back(assignment); stamp(value, assignment): additional_info["resources"]

Not thread-safe: the backend calls it with its own lock held.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from runner._core.resources import (
    NOTHING,
    Allocator,
    Assignment,
    Need,
    TrialNeeds,
    parse_capacity,
)
from trials import TrialInfo, TrialValue

__all__ = ["ResourcePlan", "TrialResources", "plan_of"]

TrialResources = Mapping[str, Any] | Callable[[TrialInfo], Mapping[str, Any]] | None


def plan_of(resources: Mapping[str, Any] | None,
            trial_resources: TrialResources) -> ResourcePlan | None:
    """The plan, validated now; ``None`` when neither keyword is given (nothing is allocated)."""
    if resources is None and trial_resources is None:
        return None
    return ResourcePlan(resources, trial_resources)


def _trial_name(info: TrialInfo) -> str:
    config = repr(dict(info.config)) if isinstance(info.config, Mapping) else repr(info.config)
    if len(config) > 80:
        config = config[:77] + "..."
    return f"the trial with config {config}"  # the message goes on " needs ..."


class ResourcePlan:
    """What the runner has, what each trial needs, and what each running trial holds."""

    def __init__(self, resources: Mapping[str, Any] | None,
                 trial_resources: TrialResources) -> None:
        self.allocator = Allocator(parse_capacity(resources))
        self.needs = TrialNeeds(trial_resources)
        self.allocator.check(self.needs.default, "trial_resources")  # the default fits
        self._needs: dict[int, Need] = {}  # id(info) of a submitted trial -> its own need
        self._wire: dict[Assignment, Any] = {}  # what a share travels as, made once

    def admit(self, info: TrialInfo) -> None:
        """Check ``info``'s need at submit: ``ValueError`` if the runner can never fit it."""
        need = self.needs.of(info)
        if need is not self.needs.default:  # the default was checked at construction
            try:
                self.allocator.check(need, "")
            except ValueError as exc:
                raise ValueError(_trial_name(info) + str(exc)) from None
            self._needs[id(info)] = need

    def take(self, info: TrialInfo) -> Assignment | None:
        """``info``'s share if it fits now, else ``None``."""
        need = self._needs.pop(id(info), None)
        if need is None:
            need = self.needs.of(info)
        got = self.allocator.allocate(need)
        if got is None and need is not self.needs.default:
            self._needs[id(info)] = need
        return got

    def wire(self, share: Assignment | None) -> Any:
        """A share as the plain data a worker applies (runner/_worker/assign.py): ``None``
        when empty; made once per distinct share."""
        if share is None or share is NOTHING:
            return None
        try:
            return self._wire[share]
        except KeyError:
            if len(self._wire) > 4096:  # many distinct shares (memory from a callable)
                self._wire.clear()
            data = self._wire[share] = wire(share)
            return data

    def give_back(self, share: Assignment | None) -> None:
        if share is not None:
            self.allocator.free(share)

    def count_fitting(self) -> int:
        """How many more trials of the default size (``trial_resources`` as a dict) fit."""
        return self.allocator.count_fitting(self.needs.default)

    @property
    def capacity_meta(self) -> dict[str, Any]:
        cap = self.allocator.capacity
        return {"resources": {"cpu": list(cap.cpus), "gpu": list(cap.gpus),
                              "memory": cap.memory}}


def wire(share: Assignment | None) -> Any:
    """A share as the plain data a worker applies (runner/_worker/assign.py); ``None`` if empty."""
    if share is None or not (share.cpus or share.gpus or share.memory):
        return None
    return share.cpus, share.environment(), share.memory


_RECORDS: dict[Assignment, dict[str, Any]] = {}


def stamp(value: TrialValue, share: Assignment | None) -> TrialValue:
    """Record what the trial got in its ``additional_info["resources"]`` (and so the journal);
    nothing for a trial that got nothing."""
    if share is None or share is NOTHING:
        return value
    record = _RECORDS.get(share)
    if record is None:
        if len(_RECORDS) > 4096:
            _RECORDS.clear()
        record = _RECORDS[share] = share.as_dict()
    value.additional_info["resources"] = {k: v[:] if isinstance(v, list) else v
                                          for k, v in record.items()}
    return value
