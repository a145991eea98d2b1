"""``ProcessPoolRunner``: long-lived worker processes, each supervised by one driver thread.

    submit_trial -> queue -> slot thread i --pipe--> worker process i (own session)
                                           <--pipe-- (status, cost, times, info)

A worker that dies (exit, signal, memory, wall-time kill) costs exactly the trial it was running:
the slot records that trial's status from the evidence, starts a new worker, and goes on; the
other slots never notice. Targets, ``shared_data`` and any ``run`` override travel to each worker
once, with cloudpickle; trials travel as plain pickles.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from runner._slots import SlotRunner, check_n_workers
from runner._supervisor import WorkerProcess
from trials import TrialInfo, TrialValue

__all__ = ["ProcessPoolRunner"]

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


class ProcessPoolRunner(SlotRunner):
    """Run trials on ``n_workers`` supervised worker processes (default: one per core).

    ``worker_env`` gives each worker its own environment overlay, e.g.
    ``worker_env=lambda i: {"CUDA_VISIBLE_DEVICES": str(i)}`` to pin one GPU per worker.
    """

    backend = "process"

    def __init__(self, target: Any = None, *, n_workers: int | None = None,
                 worker_env: WorkerEnv = None, **kwargs: Any) -> None:
        n = (os.cpu_count() or 1) if n_workers is None else check_n_workers(n_workers)
        envs = resolve_worker_env(worker_env, n)
        # attributes set before super().__init__ would travel with an overridden run
        super().__init__(target, n_workers=n, **kwargs)
        payload = self._payload()  # pre-flight: the target must survive the trip to workers
        self._workers = [WorkerProcess(payload, self._objectives, self._limits, env)
                         for env in envs]
        self._start_slots()

    def _setup_slot(self, i: int) -> None:
        self._workers[i].start()

    def _execute(self, i: int, info: TrialInfo) -> TrialValue:
        return self._workers[i].run(info)

    def _stop_slot(self, i: int) -> None:
        self._workers[i].close()

    def worker_pids(self) -> list[int | None]:
        """The pids of the worker processes now (for tests and diagnostics)."""
        return [w.pid for w in self._workers]

    def _backend_meta(self) -> dict[str, Any]:
        return {"n_workers": self._capacity}
