"""``LokyExecutorRunner``: an ``ExecutorRunner`` over a fresh two-worker loky executor that it
shuts down on ``close()``, so the contract suite can build one per test like any backend."""

from __future__ import annotations

from typing import Any

from runner import ExecutorRunner


class LokyExecutorRunner(ExecutorRunner):
    """``ExecutorRunner(target, loky.ProcessPoolExecutor(n_workers), shutdown_executor=True)``."""

    def __init__(self, target: Any = None, *, n_workers: int = 2, **kwargs: Any) -> None:
        import loky

        from runner._core.validation import check_n_workers

        check_n_workers(n_workers)  # before an executor is started for nothing
        super().__init__(target, loky.ProcessPoolExecutor(max_workers=n_workers),
                         n_workers=n_workers, shutdown_executor=True, **kwargs)
