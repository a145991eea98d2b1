"""Inside the worker process: give one trial exactly its share of the runner's resources
(runner/_core/resources.py decides the share) and take it back afterwards.

The share arrives with the trial as plain data ``(core ids, environment, memory MB)``: the
environment (device ids in ``CUDA_VISIBLE_DEVICES`` and the ROCm/oneAPI equivalents, thread
counts) is laid over the worker's, the process is bound to the cores with
``os.sched_setaffinity`` where the OS has it, and the memory share caps the address space the
trial may add when the runner has no ``memory_limit`` of its own. All of it is put back when the
trial ends, so the worker's next trial starts clean (the hygiene check would put back the
environment anyway; the affinity it does not know about).
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["Share"]

WireShare = tuple[tuple[int, ...], dict[str, str], float]


class Share:
    """Applies a trial's share on ``__enter__`` and takes it back on ``__exit__``."""

    def __init__(self, share: WireShare, memory_limited: bool) -> None:
        self._cpus, self._env, self._memory = share
        self._memory_limited = memory_limited
        self._saved_env: dict[str, str | None] = {}
        self._saved_cpus: set[int] | None = None
        self._saved_as: tuple[int, int] | None = None

    def __enter__(self) -> Share:
        environ = os.environ
        self._saved_env = {k: environ.get(k) for k in self._env}
        environ.update(self._env)
        if self._cpus and hasattr(os, "sched_setaffinity"):
            try:
                self._saved_cpus = os.sched_getaffinity(0)
                os.sched_setaffinity(0, self._cpus)
            except OSError:  # a core this process may not use (a container's cpuset)
                self._saved_cpus = None
        if self._memory and not self._memory_limited:
            self._cap_memory()
        return self

    def _cap_memory(self) -> None:
        try:
            import resource

            soft, hard = resource.getrlimit(resource.RLIMIT_AS)
            with open("/proc/self/statm", "rb") as f:
                vm_now = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        except (ImportError, OSError, AttributeError, ValueError):
            return  # not Linux: the share is booked, not enforced
        cap = vm_now + int(self._memory * 2**20)
        if hard != resource.RLIM_INFINITY:
            cap = min(cap, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
        self._saved_as = (soft, hard)

    def __exit__(self, *exc: Any) -> None:
        if self._saved_as is not None:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, self._saved_as)
        if self._saved_cpus is not None:
            os.sched_setaffinity(0, self._saved_cpus)
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
