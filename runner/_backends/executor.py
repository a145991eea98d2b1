"""``ExecutorRunner``: trials on any ``concurrent.futures.Executor`` the user already has (loky,
``mpi4py.futures.MPIPoolExecutor``, a dask client's ``get_executor()``, a thread pool).

    submit_trial -> _pending (deque) --a free slot--> executor.submit(execute_trial, id, ship, info)
                                                        | no limit: the evaluator runs in the
                                                        |   executor's worker (its isolation)
                                                        | a limit: in a supervised WorkerProcess
                                                        |   that worker keeps (the dask task's path)
    _finished <---- _deliver <---- future done callback -+  (then the next queued trial starts)

* What travels per trial is a module-level function, the runner's cloudpickled evaluator payload
  (unpickled once per executor worker and runner, then cached) and the ``TrialInfo``; never the
  runner, its lock or the executor.
* At most ``n_workers`` trials are on the executor; the rest wait here, so ``close()`` cancels
  them cheaply and ``count_available_workers()`` means what it says.
* A future that fails (the executor broke, a worker died under an inline trial) is that trial's
  CRASHED value naming the executor's error; the runner never raises for it.
"""

from __future__ import annotations

import inspect
import logging
import threading
import uuid
from collections import OrderedDict
from concurrent.futures import CancelledError, Executor, Future
from typing import Any

from runner._core import verdicts
from runner._core.backend import BackendRunner
from runner._core.validation import check_concurrency, refuse_reports
from trials import TrialInfo, TrialValue

__all__ = ["ExecutorRunner", "execute_trial"]

log = logging.getLogger(__name__)

MAX_CACHED = 4
"""Unpickled evaluators one executor worker keeps (one per runner sharing the executor)."""

_LOCK = threading.Lock()
_EVALUATORS: OrderedDict[str, tuple[Any, Any, Any]] = OrderedDict()


def execute_trial(runner_id: str, shipment: Any, info: TrialInfo) -> Any:
    """The executor task: evaluate ``info`` in this executor worker. ``shipment`` is the payload
    bytes (no limit: run inline), or a dask ``Shipment`` (a limit: run in the supervised worker
    process this thread keeps for ``runner_id``, as the dask task does). Never raises for
    anything the target does."""
    if not isinstance(shipment, bytes):
        from runner._backends.dask.task import run_trial

        return run_trial("", runner_id, _pickled(info), shipment)
    with _LOCK:
        entry = _EVALUATORS.get(runner_id)
        if entry is not None:
            _EVALUATORS.move_to_end(runner_id)
    if entry is None:
        import cloudpickle

        entry = cloudpickle.loads(shipment)
        with _LOCK:
            _EVALUATORS[runner_id] = entry
            while len(_EVALUATORS) > MAX_CACHED:
                _EVALUATORS.popitem(last=False)
    evaluator, shared, override = entry
    return evaluator.evaluate(info, shared, override)


def _pickled(info: TrialInfo) -> bytes:
    import pickle

    return pickle.dumps(info, protocol=pickle.HIGHEST_PROTOCOL)


def _executor_workers(executor: Any) -> int:
    """How many workers ``executor`` has: mpi4py's public ``num_workers``, else the
    ``_max_workers`` that the standard library's and loky's executors keep."""
    for name in ("num_workers", "_max_workers"):
        n = getattr(executor, name, None)
        if isinstance(n, int) and not isinstance(n, bool) and n > 0:
            return n
    raise TypeError(f"cannot tell how many workers {type(executor).__name__} has; pass "
                    "n_workers= (how many trials it should run at once)")


class ExecutorRunner(BackendRunner):
    """Run trials on ``executor``, at most ``n_workers`` at once (``None``: the executor's own
    worker count). The isolation is the executor's: a process executor contains a crash to its
    worker, a thread executor shares this process. With a limit set every trial runs in a
    supervised process inside the executor's worker (limits then hold as on the process pool).
    ``shutdown_executor=True`` shuts the executor down on ``close()`` (killing loky's workers);
    otherwise it is left to its owner and a trial already running there is reported CANCELLED
    and its late result dropped."""

    backend = "executor"

    def __init__(self, target: Any = None, executor: Executor | None = None, *,
                 n_workers: int | None = None, shutdown_executor: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(target, **kwargs)
        refuse_reports("ExecutorRunner", self._target, "its trials run wherever the executor "
                       "puts them, with no channel back while they run")
        if executor is None or not callable(getattr(executor, "submit", None)):
            raise TypeError("executor must be a concurrent.futures.Executor (an object with "
                            f"submit()), got {type(executor).__name__}")
        if not isinstance(shutdown_executor, bool):
            raise TypeError(f"shutdown_executor must be a bool, got {shutdown_executor!r}")
        self._executor = executor
        self._capacity = (_executor_workers(executor) if n_workers is None
                          else check_concurrency(n_workers, "n_workers"))  # maybe remote
        self._shutdown_executor = shutdown_executor
        self._id = uuid.uuid4().hex
        payload = self._payload()  # pre-flight: the target must travel to the executor
        if self._limits.any:
            from runner._backends.dask.task import Shipment

            self._shipment: Any = Shipment(payload, self._objectives, self._limits)
        else:
            self._shipment = payload
        self._futures: dict[Future[Any], TrialInfo] = {}

    def submit_trial(self, info: TrialInfo) -> None:
        self._check_submit(info)
        with self._lock:
            self._enqueue(info)
        self._start_ready()

    def _start_ready(self) -> None:
        """Hand queued trials to the executor while it has free slots (submit outside the lock:
        a future may complete, and call back, within ``submit``)."""
        while (info := self._start_next()) is not None:
            try:
                future = self._executor.submit(execute_trial, self._id, self._shipment, info)
            except Exception as exc:  # shut down or broken: this trial only
                log.warning("the executor refused a trial: %r", exc)
                self._deliver(info, self._failed_value(exc))
                continue
            with self._lock:
                self._futures[future] = info
            future.add_done_callback(self._on_done)

    def _on_done(self, future: Future[Any]) -> None:
        with self._lock:
            info = self._futures.pop(future, None)
        if info is None:  # reported already (close), or added after a synchronous completion
            return
        self._deliver(info, self._value_of(future))
        self._start_ready()

    def _value_of(self, future: Future[Any]) -> TrialValue:
        try:
            value = future.result()
        except CancelledError:
            return self._cancelled_value()
        except Exception as exc:
            return self._failed_value(exc)
        if not isinstance(value, TrialValue):  # the dask path's Unrun: closed meanwhile
            return self._cancelled_value()
        return value

    def _failed_value(self, exc: BaseException) -> TrialValue:
        return verdicts.not_run(self._objectives.crash_cost,
                                f"the executor could not run the trial: {exc!r}", exc)

    def count_available_workers(self) -> int:
        return max(0, self._capacity - self._executing - len(self._pending))

    def _close(self) -> None:
        self._cancel_pending()
        with self._lock:
            flying, self._futures = self._futures, {}
        for future in flying:
            future.cancel()
        for info in flying.values():
            self._deliver(info, self._cancelled_value())
        if self._limits.any:  # supervised processes this process holds (a thread executor)
            from runner._backends.dask.task import close_runner

            close_runner(self._id)
        if self._shutdown_executor:
            _shutdown(self._executor)

    def _backend_meta(self) -> dict[str, Any]:
        return {**super()._backend_meta(), "executor": type(self._executor).__name__}


def _shutdown(executor: Any) -> None:
    """Shut ``executor`` down without waiting, cancelling its queue and killing its workers where
    its ``shutdown`` offers that (loky: ``kill_workers``; Python >= 3.9: ``cancel_futures``)."""
    try:
        params = inspect.signature(executor.shutdown).parameters
    except (TypeError, ValueError):
        params = {}  # type: ignore[assignment]
    kwargs: dict[str, Any] = {"wait": False}
    if "kill_workers" in params:
        kwargs["kill_workers"] = True
    if "cancel_futures" in params:
        kwargs["cancel_futures"] = True
    try:
        executor.shutdown(**kwargs)
    except Exception:
        log.exception("shutting the executor down failed")
