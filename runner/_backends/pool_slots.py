"""The process pool's worker table: one `Slot` per worker process and its state, the
`PoolState` record that the pool's threads share (the pool, its keeper thread, its poll), and
each worker's environment overlay (``worker_env``)."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from runner._worker.process import WorkerProcess
from trials import TrialInfo

__all__ = ["BROKEN", "BUSY", "DEAD", "FAILED", "IDLE", "STARTING", "PoolState", "Slot",
           "WorkerEnv", "resolve_worker_env"]

WorkerEnv = Sequence[Mapping[str, str]] | Callable[[int], Mapping[str, str]] | None


def resolve_worker_env(worker_env: WorkerEnv, n_workers: int) -> list[dict[str, str] | None]:
    """One environment overlay per worker, from a list or a function of the worker index."""
    if worker_env is None:
        return [None] * n_workers
    if callable(worker_env):
        envs = [dict(worker_env(i)) for i in range(n_workers)]
    elif isinstance(worker_env, Sequence) and not isinstance(worker_env, str):
        if len(worker_env) != n_workers:
            raise ValueError(f"worker_env has {len(worker_env)} entries for n_workers="
                             f"{n_workers}; give one mapping per worker")
        envs = [dict(e) for e in worker_env]
    else:
        raise TypeError("worker_env must be a list of one mapping per worker or a function "
                        f"of the worker index, got {type(worker_env).__name__}")
    for env in envs:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
            raise TypeError("worker_env values must map str to str, e.g. "
                            "{'CUDA_VISIBLE_DEVICES': '0'}")
    return list(envs)


# A slot's states. Only the thread holding the pump lock closes a worker's descriptors (it is
# the only one polling them); the keeper only starts processes and sends signals.
STARTING = "starting"  # the keeper is starting its process
IDLE = "idle"          # alive, waiting for a trial
BUSY = "busy"          # running ``info``
BROKEN = "broken"      # found dead while idle; the pump cleans it up
DEAD = "dead"          # cleaned up; the keeper starts a new process
FAILED = "failed"      # could not start; the keeper retries at ``retry_at``


class Slot:
    """One worker of the pool: its process, its state, the trial it runs."""

    __slots__ = ("index", "worker", "state", "info", "retry_at", "error")

    def __init__(self, index: int, worker: WorkerProcess) -> None:
        self.index = index
        self.worker = worker
        self.state = STARTING
        self.info: TrialInfo | None = None
        self.retry_at = 0.0
        self.error: BaseException | None = None


class PoolState:
    """What the pool's threads share; every field but ``pump_lock`` is read and changed with
    ``lock`` (the runner's) held. ``queued``: the runner's queue of trials; ``idle``: indices of
    idle slots; ``generation``: bumped whenever the set of descriptors to poll changes;
    ``keeper_wake``: wakes the keeper; ``pump_lock``: held by the one thread reading results."""

    __slots__ = ("lock", "keeper_wake", "pump_lock", "slots", "idle", "queued", "generation")

    def __init__(self, lock: threading.Lock, slots: list[Slot], queued: deque[Any]) -> None:
        self.lock = lock
        self.keeper_wake = threading.Condition(lock)
        self.pump_lock = threading.Lock()
        self.slots = slots
        self.idle: list[int] = []
        self.queued = queued
        self.generation = 0
