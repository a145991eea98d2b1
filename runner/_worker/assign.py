"""Inside the worker process: give one trial exactly its share of the runner's resources
(runner/_core/resources.py decides the share) and take it back afterwards.

The share arrives with the trial as plain data ``(core ids, environment, memory MB)``: the
environment (device ids in ``CUDA_VISIBLE_DEVICES`` and the ROCm/oneAPI equivalents, thread
counts) is laid over the worker's, the process is bound to the cores with
``os.sched_setaffinity`` where the OS has it, and the memory share caps the address space the
trial may add when the runner has no ``memory_limit`` of its own. All of it is put back when the
trial ends, so the worker's next trial starts clean (the hygiene check would put back the
environment anyway; the affinity it does not know about): the memory cap before the result is
serialised (`lift_memory`, as ``memory_limit``'s), the environment and the affinity by
`put_back` once the answer is on its way, off the trial's critical path.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["apply", "lift_memory", "put_back"]

WireShare = tuple[tuple[int, ...], dict[str, str], float]

_BASE_CPUS: set[int] | None = None  # the worker's own cores, read once
_ENCODED: dict[int, tuple[dict[str, str], list[tuple[bytes, bytes]]]] = {}
_DATA: Any = getattr(os.environ, "_data", None)
if not (isinstance(_DATA, dict) and os.name == "posix"):
    _DATA = None  # not CPython's POSIX environ: go through os.environ
_saved_env: list[tuple[Any, Any]] = []  # what the running trial's variables were before
_saved_as: list[tuple[int, int]] = []  # the address-space limit before the memory cap
_bound = [False]  # whether the running trial's cores were bound


def apply(share: WireShare, memory_limited: bool) -> None:
    """Give the trial about to run its share: variables, cores, a memory cap (unless the
    runner's ``memory_limit`` applies)."""
    cpus, env, memory = share
    data = _DATA
    if data is None:
        _saved_env[:] = [(k, os.environ.get(k)) for k in env]
        os.environ.update(env)
    else:
        pairs = _encoded(env)
        get = data.get
        _saved_env[:] = [(k, get(k)) for k, _ in pairs]
        putenv = os.putenv
        for k, v in pairs:
            putenv(k, v)
            data[k] = v
    if cpus and hasattr(os, "sched_setaffinity"):
        global _BASE_CPUS
        try:
            if _BASE_CPUS is None:
                _BASE_CPUS = os.sched_getaffinity(0)
            os.sched_setaffinity(0, cpus)
            _bound[0] = True
        except OSError:  # a core this process may not use (a container's cpuset)
            pass
    if memory and not memory_limited:
        _cap_memory(memory)


def _encoded(env: dict[str, str]) -> list[tuple[bytes, bytes]]:
    """The variables as ``os.environ`` stores them; once per share (a share arrives once per
    worker and is kept, runner/_worker/wire.py, so its dict is the same object each time)."""
    try:
        return _ENCODED[id(env)][1]
    except KeyError:
        pairs = [(k.encode(), v.encode()) for k, v in env.items()]
        _ENCODED[id(env)] = (env, pairs)  # the dict held: its id stays its own
        return pairs


def _cap_memory(memory: float) -> None:
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        with open("/proc/self/statm", "rb") as f:
            vm_now = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (ImportError, OSError, AttributeError, ValueError):
        return  # not Linux: the share is booked, not enforced
    cap = vm_now + int(memory * 2**20)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    _saved_as.append((soft, hard))


def lift_memory() -> None:
    """Lift the trial's memory cap (before its result is serialised, as ``memory_limit``)."""
    if _saved_as:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, _saved_as.pop())


def put_back() -> None:
    """The worker's own variables and cores again (after the trial's answer is sent)."""
    if _bound[0]:
        _bound[0] = False
        if _BASE_CPUS is not None:
            os.sched_setaffinity(0, _BASE_CPUS)
    if not _saved_env:
        return
    data = _DATA
    if data is None:
        for key, old in _saved_env:
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
    else:
        putenv, unsetenv = os.putenv, os.unsetenv
        for k, old in _saved_env:
            if old is None:
                unsetenv(k)
                del data[k]
            else:
                putenv(k, old)
                data[k] = old
    _saved_env.clear()
