"""Inside the worker process: give one trial exactly its share of the runner's resources
(runner/_core/resources.py decides the share) and take it back afterwards.

The share arrives with the trial as plain data ``(core ids, environment, memory MB)``: the
environment (device ids in ``CUDA_VISIBLE_DEVICES`` and the ROCm/oneAPI equivalents, thread
counts) is laid over the worker's, the process is bound to the cores with
``os.sched_setaffinity`` where the OS has it, and the memory share caps the address space the
trial may add when the runner has no ``memory_limit`` of its own. All of it is put back when the
trial ends, so the worker's next trial starts clean (the hygiene check would put back the
environment anyway; the affinity it does not know about): the memory cap before the result is
serialised (as ``memory_limit``'s), the environment and the affinity by `put_back` once the
answer is on its way, off the trial's critical path.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["Share", "put_back"]

WireShare = tuple[tuple[int, ...], dict[str, str], float]


_BASE_CPUS: set[int] | None = None  # the worker's own cores, read once
_APPLIED: list[Share] = []  # the share of the trial that just ended, until `put_back`


def put_back() -> None:
    """Take back the environment and cores of the trial that ended (after its answer is sent)."""
    while _APPLIED:
        _APPLIED.pop().put_back()


def _environ_data() -> Any:
    """``os.environ``'s own storage where CPython has it (bytes keys on POSIX), else ``None``:
    setting it and ``putenv`` directly costs a fraction of ``os.environ[key] = value``."""
    data = getattr(os.environ, "_data", None)
    return data if isinstance(data, dict) and os.name == "posix" else None


class Share:
    """Applies a trial's share on ``__enter__``; ``__exit__`` lifts its memory cap and leaves
    the rest for `put_back`."""

    def __init__(self, share: WireShare, memory_limited: bool) -> None:
        cpus, env, self._memory = share
        self._cpus = cpus if cpus and hasattr(os, "sched_setaffinity") else ()
        self._env = env
        self._memory_limited = memory_limited
        self._saved_env: list[tuple[Any, Any]] = []
        self._bound = False
        self._saved_as: tuple[int, int] | None = None

    def __enter__(self) -> Share:
        data = _environ_data()
        if data is None:
            self._saved_env = [(k, os.environ.get(k)) for k in self._env]
            os.environ.update(self._env)
        else:
            putenv = os.putenv
            for key, value in self._env.items():
                k, v = key.encode(), value.encode()
                self._saved_env.append((k, data.get(k)))
                putenv(k, v)
                data[k] = v
        if self._cpus:
            global _BASE_CPUS
            try:
                if _BASE_CPUS is None:
                    _BASE_CPUS = os.sched_getaffinity(0)
                os.sched_setaffinity(0, self._cpus)
                self._bound = True
            except OSError:  # a core this process may not use (a container's cpuset)
                pass
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
            self._saved_as = None
        _APPLIED.append(self)

    def put_back(self) -> None:
        """The worker's own environment and cores again."""
        if self._bound and _BASE_CPUS is not None:
            os.sched_setaffinity(0, _BASE_CPUS)
        data = _environ_data()
        if data is None:
            for key, old in self._saved_env:
                if old is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = old
            return
        for k, old in self._saved_env:
            if old is None:
                os.unsetenv(k)
                data.pop(k, None)
            else:
                os.putenv(k, old)
                data[k] = old
