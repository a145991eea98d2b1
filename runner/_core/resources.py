"""Resources per trial: what a runner has (``resources=``), what each trial needs
(``trial_resources=``, a callable of the ``TrialInfo``, or ``info.additional_info["resources"]``),
and the allocator that hands out specific core ids, device ids and memory.

    submit_trial ──> need(info) ──> refused now if it can never fit (names both numbers)
    head of the queue ──> Allocator.allocate(need) ──> Assignment (cores, devices, MB) or None
    trial ends ──> Allocator.free(assignment)

Pure bookkeeping, no processes: the backends ask and apply (runner/_worker/assign.py applies an
assignment inside the worker process). Policy (docs/decisions.md): trials start in submission
order; a trial at the head of the queue that does not fit waits there, and nothing behind it
jumps ahead, so what frees up accumulates for it and a big trial is never starved by small ones.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

__all__ = ["NOTHING", "Allocator", "Assignment", "Capacity", "Need", "TrialNeeds",
           "machine_capacity", "parse_capacity", "parse_need"]

GPU_VARIABLES = ("CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES",
                 "ZE_AFFINITY_MASK")
"""Device-selection variables set to a trial's device ids (NVIDIA, AMD ROCm, Intel oneAPI
Level Zero; ``ONEAPI_DEVICE_SELECTOR`` is left alone: ``ZE_AFFINITY_MASK`` selects the same)."""
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
"""Thread-count variables set to a trial's number of cores."""
_EPS = 1e-9


class Capacity(NamedTuple):
    """What a runner has: core ids, device ids, memory in MB (``None``: not counted)."""

    cpus: tuple[int, ...]
    gpus: tuple[str, ...]
    memory: float | None


class Need(NamedTuple):
    """What one trial needs: cores, devices (a fraction below 1 shares one), memory in MB."""

    cpu: int = 0
    gpu: float = 0.0
    memory: float = 0.0


class Assignment(NamedTuple):
    """What one trial got: specific core ids, device ids (its share of each), memory in MB."""

    cpus: tuple[int, ...]
    gpus: tuple[str, ...]
    gpu_share: float
    memory: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe, for ``additional_info["resources"]`` and the journal."""
        out: dict[str, Any] = {"cpu": list(self.cpus), "gpu": list(self.gpus)}
        if self.gpus and self.gpu_share < 1:
            out["gpu_share"] = self.gpu_share
        if self.memory:
            out["memory"] = self.memory
        return out

    def environment(self) -> dict[str, str]:
        """The variables the trial runs with: its devices and its thread counts."""
        env: dict[str, str] = {}
        if self.gpus:
            ids = ",".join(self.gpus)
            env.update(dict.fromkeys(GPU_VARIABLES, ids))
        if self.cpus:
            env.update(dict.fromkeys(THREAD_VARIABLES, str(len(self.cpus))))
        return env


NOTHING = Assignment((), (), 0.0, 0.0)
"""What a trial that needs nothing gets."""


def machine_capacity() -> Capacity:
    """The defaults: this process's cores, ``CUDA_VISIBLE_DEVICES`` (or none), the machine's
    memory."""
    cpus = tuple(sorted(os.sched_getaffinity(0))) if hasattr(os, "sched_getaffinity") else tuple(
        range(os.cpu_count() or 1))
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "").strip()
    gpus = tuple(d.strip() for d in visible.split(",") if d.strip()) if visible else ()
    try:
        memory: float | None = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20
    except (ValueError, OSError, AttributeError):
        memory = None
    return Capacity(cpus, gpus, memory)


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(
            float(value)) or value < 0:
        raise ValueError(f"{what} must be a finite number >= 0, got {value!r} "
                         f"(type {type(value).__name__})")
    return float(value)


def _keys(value: Any, what: str, example: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(f"{what} must be a dict such as {example}, got {value!r} "
                        f"(type {type(value).__name__})")
    out = {str(k).lower(): v for k, v in value.items()}
    unknown = sorted(set(out) - {"cpu", "gpu", "memory"})
    if unknown:
        raise ValueError(f"{what} has unknown key(s) {unknown}; the keys are 'cpu', 'gpu' "
                         f"and 'memory' (MB), e.g. {example}")
    return out


def parse_capacity(value: Mapping[str, Any] | None, *, name: str = "resources") -> Capacity:
    """What a runner has, from ``resources=``: missing keys take the machine's defaults."""
    example = '{"cpu": 16, "gpu": ["0", "1"], "memory": 64000}'
    default = machine_capacity()
    if value is None:
        return default
    given = _keys(value, name, example)
    cpus, gpus, memory = default
    if "cpu" in given:
        cpu = given["cpu"]
        if isinstance(cpu, (list, tuple)):
            if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in cpu):
                raise ValueError(f"{name}['cpu'] as a list must hold core ids (ints >= 0), "
                                 f"got {cpu!r}")
            cpus = tuple(dict.fromkeys(cpu))
        else:
            count = _number(cpu, f"{name}['cpu']")
            if count != int(count):
                raise ValueError(f"{name}['cpu'] must be a whole number of cores or a list "
                                 f"of core ids, got {cpu!r}")
            cpus = tuple(range(int(count)))
    if "gpu" in given:
        gpu = given["gpu"]
        if isinstance(gpu, str):
            gpu = [g.strip() for g in gpu.split(",") if g.strip()]
        if isinstance(gpu, int) and not isinstance(gpu, bool):
            gpu = [str(i) for i in range(gpu)]
        if not isinstance(gpu, (list, tuple)) or not all(
                isinstance(g, (str, int)) and not isinstance(g, bool) for g in gpu):
            raise TypeError(f"{name}['gpu'] must be a list of device ids such as ['0', '1'], "
                            f"got {gpu!r} (type {type(gpu).__name__})")
        gpus = tuple(dict.fromkeys(str(g) for g in gpu))
    if "memory" in given:
        memory = None if given["memory"] is None else _number(given["memory"],
                                                               f"{name}['memory'] (MB)")
    return Capacity(cpus, gpus, memory)


def parse_need(value: Mapping[str, Any] | None, what: str) -> Need:
    """What one trial needs; ``what`` names where it came from in errors."""
    if value is None:
        return Need()
    given = _keys(value, what, '{"cpu": 2, "gpu": 1}')
    cpu = _number(given.get("cpu", 0), f"{what}['cpu']")
    if cpu != int(cpu):
        raise ValueError(f"{what}['cpu'] must be a whole number of cores, got {cpu!r}")
    gpu = _number(given.get("gpu", 0), f"{what}['gpu']")
    if gpu > 1 and gpu != int(gpu):
        raise ValueError(f"{what}['gpu'] must be a whole number of devices, or a fraction "
                         f"below 1 to share one device, got {gpu!r}")
    memory = _number(given.get("memory", 0), f"{what}['memory'] (MB)")
    return Need(int(cpu), gpu, memory)


class TrialNeeds:
    """A trial's need: ``info.additional_info["resources"]`` if the optimizer set it, else
    ``trial_resources`` (a dict, or a callable of the ``TrialInfo`` returning one)."""

    def __init__(self, trial_resources: Mapping[str, Any] | Callable[[Any], Any] | None) -> None:
        self._call: Callable[[Any], Any] | None = None
        self.default = Need()
        if callable(trial_resources):
            self._call = trial_resources
        else:
            self.default = parse_need(trial_resources, "trial_resources")
        self.fixed = self._call is None
        """Every trial needs `default` unless its ``additional_info`` says otherwise."""

    def of(self, info: Any) -> Need:
        extra = getattr(info, "additional_info", None) or {}
        if "resources" in extra:
            return parse_need(extra["resources"], "the trial's additional_info['resources']")
        if self._call is not None:
            return parse_need(self._call(info), "trial_resources(info)")
        return self.default


class Allocator:
    """Free and taken cores, device shares and memory; not thread-safe (the runner's lock).
    On every trial's path: kept to list and dict operations (a few microseconds a trial)."""

    def __init__(self, capacity: Capacity) -> None:
        self.capacity = capacity
        self._order = {g: k for k, g in enumerate(capacity.gpus)}
        # free cores, the most recently freed last: a worker that frees its cores and takes
        # the next trial gets the same cores back (see allocate)
        self._free_cpus = list(reversed(capacity.cpus))
        # whole devices nobody uses, the most recently freed last, as the cores: a worker
        # that frees its device and takes the next trial gets it back, so the device variables
        # it has set stay as they are (runner/_worker/assign.py)
        self._free_gpus = list(reversed(capacity.gpus))
        self._used: dict[str, float] = {}  # device id -> share in use, for shared devices
        self._memory = capacity.memory

    def check(self, need: Need, who: str) -> None:
        """Raise ``ValueError`` if ``need`` can never fit, however long it waited."""
        cap = self.capacity
        if need.cpu > len(cap.cpus):
            raise ValueError(f"{who} needs {need.cpu} CPU cores but the runner has "
                             f"{len(cap.cpus)}; ask for fewer or give resources={{'cpu': ...}}")
        if math.ceil(need.gpu - _EPS) > len(cap.gpus):
            raise ValueError(f"{who} needs {need.gpu:g} GPUs but the runner has "
                             f"{len(cap.gpus)} ({list(cap.gpus)}); ask for fewer or give "
                             "resources={'gpu': [device ids]}")
        if cap.memory is not None and need.memory > cap.memory:
            raise ValueError(f"{who} needs {need.memory:g} MB of memory but the runner has "
                             f"{cap.memory:g} MB")

    def allocate(self, need: Need) -> Assignment | None:
        """Take ``need`` (specific ids), or ``None`` if it does not fit now."""
        cpu, gpu, memory = need
        if not (cpu or gpu or memory):
            return NOTHING
        free_cpus = self._free_cpus
        if cpu > len(free_cpus):
            return None
        if memory and self._memory is not None and memory > self._memory + _EPS:
            return None
        share = 0.0
        gpus: tuple[str, ...] = ()
        if gpu >= 1:
            n = int(gpu)
            if n > len(self._free_gpus):
                return None
            free_gpus = self._free_gpus
            gpus = tuple(free_gpus[-n:]) if n == 1 else tuple(
                sorted(free_gpus[-n:], key=self._order.__getitem__))
            del free_gpus[-n:]
            share = 1.0
        elif gpu > 0:
            device = self._shared_device(gpu)
            if device is None:
                return None
            gpus, share = (device,), gpu
        cpus: tuple[int, ...] = ()
        if cpu:
            # the most recently freed: the pools hand the next trial to the worker that became
            # idle last (runner/_backends/process_pool.py), which freed these, so a worker
            # keeps its cores and is not migrated to other ones (about 90 µs of the worker's
            # time per forced migration on a loaded 2-core machine, docs/performance.md)
            cpus = tuple(sorted(free_cpus[-cpu:]))
            del free_cpus[-cpu:]
        if memory and self._memory is not None:
            self._memory -= memory
        return Assignment(cpus, gpus, share, memory)

    def _shared_device(self, gpu: float) -> str | None:
        """A device for a fractional share: the busiest shared one it still fits on, else a
        free one (packing keeps whole devices free for whole-device trials)."""
        fits = [g for g, used in self._used.items() if used + gpu <= 1 + _EPS]
        if fits:
            device = max(fits, key=self._used.__getitem__)
        elif self._free_gpus:
            device = self._free_gpus.pop()
            self._used[device] = 0.0
        else:
            return None
        self._used[device] += gpu
        return device

    def free(self, assignment: Assignment) -> None:
        """Give back what ``allocate`` handed out."""
        cpus, gpus, share, memory = assignment
        if cpus:
            self._free_cpus.extend(reversed(cpus))  # taken first by the next allocate
        if gpus:
            if share < 1:
                left = self._used[gpus[0]] - share
                if left > _EPS:
                    self._used[gpus[0]] = left
                    gpus = ()
                else:
                    del self._used[gpus[0]]
            self._free_gpus.extend(reversed(gpus))  # taken first by the next allocate
        if memory and self._memory is not None:
            self._memory += memory

    def count_fitting(self, need: Need) -> int:
        """How many more trials needing ``need`` would fit now."""
        cpu, gpu, memory = need
        fit = 1 << 30
        if cpu:
            fit = len(self._free_cpus) // cpu
        if memory and self._memory is not None:
            fit = min(fit, int(self._memory // memory + _EPS))
        if gpu >= 1:
            fit = min(fit, len(self._free_gpus) // int(gpu))
        elif gpu > 0:
            per_device = int(1 / gpu + _EPS)
            fit = min(fit, len(self._free_gpus) * per_device + sum(
                int((1 - used) / gpu + _EPS) for used in self._used.values()))
        return fit
