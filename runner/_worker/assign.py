"""Inside the worker process: give one trial exactly its share of the runner's resources
(runner/_core/resources.py decides the share) and take it back afterwards.

The share arrives with the trial as plain data ``(core ids, environment, memory MB)``: the
environment (device ids in ``CUDA_VISIBLE_DEVICES`` and the ROCm/oneAPI equivalents, thread
counts) is laid over the worker's, the process is bound to the cores with
``os.sched_setaffinity`` where the OS has it, and the memory share caps the address space the
trial may add when the runner has no ``memory_limit`` of its own. The memory cap is lifted
before the result is serialised (`lift_memory`, as ``memory_limit``'s).

Both the variables and the binding are kept between trials: a worker usually gets the same
share again (the allocator hands out the cores and devices freed last, and the pools hand the
next trial to the worker that became idle last), so the next trial of that share costs no
system call at all, and a worker left unbound between trials may drift to another core that
the next binding undoes with a kernel migration (docs/performance.md). `apply` changes only
what differs from the share the worker holds: the worker's own variables come back before a
different share's are laid over them, and its own cores before a share without cores;
`release` gives both back before a trial with no share at all, so no trial ever sees a
variable or a binding its own share does not give it. The hygiene check after each trial
compares the environment with the worker's own plus the share it holds (`held_environment`),
so a trial that changes one of its share's variables gets them put back. If a trial changes
the affinity itself, `after_trial` notices and the next trial is bound afresh.
"""

from __future__ import annotations

import os
from typing import Any

from runner._core.limits import address_space_now

try:
    import resource
except ImportError:  # pragma: no cover - not POSIX
    resource = None  # type: ignore[assignment]

__all__ = ["after_trial", "apply", "held_environment", "lift_memory", "release", "unbind"]

WireShare = tuple[tuple[int, ...], dict[str, str], float]

_BASE_CPUS: set[int] | None = None  # the worker's own cores, read once
_ENCODED: dict[int, tuple[dict[str, str], list[tuple[bytes, bytes]]]] = {}
_DATA: Any = getattr(os.environ, "_data", None)
if not (isinstance(_DATA, dict) and os.name == "posix"):
    _DATA = None  # not CPython's POSIX environ: go through os.environ
_saved_env: list[tuple[Any, Any]] = []  # the worker's own values of the held share's variables
_held_env: list[dict[str, str] | None] = [None]
"""The environment of the share whose variables are set now (the same dict object for each
trial of a share: runner/_worker/wire.py keeps it), or ``None``."""
_saved_as: list[tuple[int, int]] = []  # the address-space limit before the memory cap
_bound: list[tuple[int, ...] | None] = [None]
"""The cores a share bound this process to, or ``None`` when it has its own cores; ``()`` when
the binding is not known (a trial changed it itself): the next share binds afresh."""


def apply(share: WireShare, memory_limited: bool) -> None:
    """Give the trial about to run its share: variables, cores, a memory cap (unless the
    runner's ``memory_limit`` applies). Nothing to do for what the worker already holds."""
    cpus, env, memory = share
    if env is not _held_env[0]:  # the same dict each trial of a held share: one comparison
        _set_environment(env)
    if cpus:
        if cpus != _bound[0]:  # the same tuple each trial of a held share: one comparison
            _bind(cpus)
    elif _bound[0] is not None:  # a share without cores: the worker's own again
        unbind()
    if memory and not memory_limited:
        _cap_memory(memory)


def held_environment() -> dict[str, str] | None:
    """The variables of the share the worker holds (laid over its own), or ``None``."""
    return _held_env[0]


def _set_environment(env: dict[str, str]) -> None:
    """The worker's own variables back, then ``env`` laid over them."""
    _restore_environment()
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
    _held_env[0] = env


def _bind(cpus: tuple[int, ...]) -> None:
    """Bind this process to ``cpus`` (where the OS has affinity and allows those cores)."""
    global _BASE_CPUS
    if not hasattr(os, "sched_setaffinity"):
        return
    try:
        if _BASE_CPUS is None:
            _BASE_CPUS = os.sched_getaffinity(0)
        os.sched_setaffinity(0, cpus)
    except OSError:  # a core this process may not use (a container's cpuset)
        return
    _bound[0] = cpus


def unbind() -> None:
    """Give the worker its own cores back if a share bound it (before a trial with no share
    of cores; cheap when it is not bound)."""
    if _bound[0] is None or _BASE_CPUS is None:
        return
    try:
        os.sched_setaffinity(0, _BASE_CPUS)
    except OSError:  # its own cores shrank under it (a cpuset changed): stay bound, try again
        _bound[0] = ()
        return
    _bound[0] = None


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
    if resource is None:
        return  # not POSIX: the share is booked, not enforced
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = address_space_now() + int(memory * 2**20)
    except (OSError, AttributeError):
        return  # not Linux: the share is booked, not enforced
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    _saved_as.append((soft, hard))


def lift_memory() -> None:
    """Lift the trial's memory cap (before its result is serialised, as ``memory_limit``)."""
    if _saved_as:
        resource.setrlimit(resource.RLIMIT_AS, _saved_as.pop())


def after_trial() -> None:
    """After the trial's answer is sent: if the trial changed the binding itself, the next
    share binds afresh (about 1 µs to read). The variables stay for the next trial."""
    bound = _bound[0]
    if bound:
        try:
            if os.sched_getaffinity(0) != set(bound):
                _bound[0] = ()  # the trial moved it: the next share binds afresh
        except OSError:
            _bound[0] = ()


def release() -> None:
    """Before a trial with no share: the worker's own variables and cores again (cheap when
    it holds no share)."""
    if _held_env[0] is not None:
        _restore_environment()
    if _bound[0] is not None:
        unbind()


def _restore_environment() -> None:
    """The worker's own values of the variables the held share set."""
    _held_env[0] = None
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
                data.pop(k, None)
            else:
                putenv(k, old)
                data[k] = old
    _saved_env.clear()
