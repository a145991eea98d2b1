"""Waiting with a deadline: the helpers every check (and our own tests) use."""


from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from runner import AbstractRunner
from trials import TrialInfo, TrialValue

Pair = tuple[TrialInfo, TrialValue]

# -- helpers ------------------------------------------------------------------------------------

def wait_until(predicate: Callable[[], Any], timeout: float, what: str,
               interval: float = 0.01) -> None:
    """Poll ``predicate`` until it is true; ``AssertionError`` naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def drain(runner: AbstractRunner, n: int, timeout: float = 30.0) -> list[Pair]:
    """Collect ``n`` results with ``wait``/``iter_results``; fail if they do not come in time."""
    results: list[Pair] = []
    deadline = time.monotonic() + timeout
    while True:
        results.extend(runner.iter_results())
        if len(results) >= n:
            return results
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"only {len(results)} of {n} results within {timeout:g} s "
                                 f"(is_running={runner.is_running()})")
        if not runner.is_running():
            results.extend(runner.iter_results())
            if len(results) < n:
                raise AssertionError(f"the runner stopped running with {len(results)} of {n} "
                                     "results yielded")
        runner.wait(min(left, 1.0))


def returns_within(fn: Callable[[], Any], seconds: float, what: str) -> float:
    """Run ``fn`` in a thread; fail if it has not returned after ``seconds``; its duration."""
    done = threading.Event()
    t0 = time.monotonic()

    def call() -> None:
        fn()
        done.set()

    threading.Thread(target=call, daemon=True, name="conformance-call").start()
    if not done.wait(seconds):
        raise AssertionError(f"{what} did not return within {seconds:g} s")
    return time.monotonic() - t0


# -- conformance targets: module-level, so they travel by reference -----------------------------

