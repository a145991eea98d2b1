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

__all__ = ["WAIT", "ResourcePlan", "TrialResources", "WorkerShares", "plan_of"]

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
        if self.needs.fixed and not info.additional_info:
            return  # the default need, checked at construction
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


WAIT: Any = object()
"""`WorkerShares.take`'s answer when the trial's share is not free now."""


class WorkerShares:
    """A pool's shares by worker (runner/_backends/process_pool.py): a worker keeps the share of
    its last trial of the default need while it idles, and its next such trial runs on that
    share again, with no allocation on the driver's side and nothing to set in the worker
    process, whose variables and cores are still set (runner/_worker/assign.py). What idle
    workers keep is given back as soon as a trial that does not fit needs it, so keeping never
    holds a trial up. Not thread-safe: the pool's lock is held (`count_fitting` only reads)."""

    def __init__(self, plan: ResourcePlan, n_workers: int) -> None:
        self.plan = plan
        self._allocator = plan.allocator
        self._default = plan.needs.default
        self._fixed = plan.needs.fixed
        self._share: list[Assignment | None] = [None] * n_workers  # held by each worker
        self._data: list[Any] = [None] * n_workers  # its share as the worker gets it
        self._record: list[dict[str, Any] | None] = [None] * n_workers  # and as recorded
        self._kept: set[int] = set()  # idle workers keeping a share of the default need
        self._is_default = [False] * n_workers  # worker i's share was taken for the default

    def take(self, i: int, info: TrialInfo) -> Any:
        """The share for ``info`` on worker ``i``, as the data the worker applies (``None``:
        nothing), or `WAIT` if it does not fit now."""
        plan = self.plan
        need = plan._needs.pop(id(info), None) if plan._needs else None
        if need is None:
            need = (self._default if self._fixed and not info.additional_info
                    else plan.needs.of(info))
        if i in self._kept:
            self._kept.discard(i)
            if need == self._default:  # the worker's own share again: nothing to do
                return self._data[i]
            self.drop(i)
        got = self._allocator.allocate(need)
        if got is None and self._kept:  # what idle workers keep goes back, then try again
            for k in list(self._kept):
                self.drop(k)
            got = self._allocator.allocate(need)
        if got is None:
            if need is not self._default:
                plan._needs[id(info)] = need
            return WAIT
        self._share[i], self._is_default[i] = got, need == self._default
        self._record[i] = None if got is NOTHING else got.as_dict()
        data = self._data[i] = plan.wire(got)
        return data

    def ended(self, i: int, value: TrialValue, alive: bool) -> None:
        """Worker ``i``'s trial ended with ``value``: record its share there (and so in the
        journal); the worker keeps it if it lives on and it is of the default need."""
        record = self._record[i]
        if record is not None:
            copy = dict(record)  # the lists copied: the user may change what they get
            copy["cpu"], copy["gpu"] = record["cpu"][:], record["gpu"][:]
            value.additional_info["resources"] = copy
        if alive and self._is_default[i]:
            if self._share[i] is not None:
                self._kept.add(i)
        else:
            self.drop(i)

    def drop(self, i: int) -> None:
        """Worker ``i`` is gone, or its trial goes elsewhere: its share is free."""
        share = self._share[i]
        if share is not None:
            self._share[i] = self._record[i] = None
            self._kept.discard(i)
            self._allocator.free(share)

    def count_fitting(self) -> int:
        """How many more trials of the default size fit: on what idle workers keep, and in
        what is free."""
        return len(self._kept) + self._allocator.count_fitting(self._default)


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
