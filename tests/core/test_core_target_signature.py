"""Target signatures the runner can never satisfy are refused at construction, naming the
argument, instead of crashing every trial (issue #14, item 4)."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import pytest

from runner import AsyncioRunner, ProcessPoolRunner, SerialRunner, Target, ThreadPoolRunner
from runner.testing import drain
from trials import StatusType, TrialInfo


def needs_epochs(config: Any, seed: int, epochs: int) -> float:
    return 0.0


def needs_rng_keyword(config: Any, *, rng: Any) -> float:
    return 0.0


def needs_positional_only(config: Any, extra: Any, /) -> float:
    return 0.0


def table_and_seed(config: Any, table: list[int], seed: int) -> float:
    return float(sum(table) + seed)


def all_defaults(config: Any, epochs: int = 3, *, rng: Any = None) -> float:
    return float(epochs)


async def async_target(config: Any) -> float:
    await asyncio.sleep(0)
    return 1.0


class AsyncCallable(Target):
    async def __call__(self, config: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        return 1.0


@pytest.mark.parametrize(("fn", "name"), [
    (needs_epochs, "epochs"), (needs_rng_keyword, "rng"), (needs_positional_only, "extra"),
])
@pytest.mark.parametrize("cls", [SerialRunner, functools.partial(ThreadPoolRunner, n_workers=1)],
                         ids=["serial", "threads"])
def test_required_argument_never_passed_is_refused(cls: Any, fn: Any, name: str) -> None:
    """A required argument other than config, the trial fields and shared_data is a TypeError
    naming it, before any trial runs."""
    with pytest.raises(TypeError, match=rf"{fn.__name__} requires the .*{name!r}.*never passes"):
        cls(fn)


def test_required_argument_refused_on_the_process_pool_before_workers_start() -> None:
    """The same refusal on a process backend, at construction."""
    with pytest.raises(TypeError, match=r"\['epochs'\]"):
        ProcessPoolRunner(needs_epochs, n_workers=1)


def test_required_shared_data_argument_is_accepted() -> None:
    """A required argument that shared_data supplies is fine, and is passed."""
    with SerialRunner(table_and_seed, shared_data={"table": [1, 2]}) as runner:
        runner.submit_trial(TrialInfo({}, seed=4))
        [(_, value)] = drain(runner, 1)
    assert value.status is StatusType.SUCCESS and value.cost == 7.0


def test_arguments_with_defaults_are_accepted() -> None:
    """Optional extra arguments keep their defaults."""
    with SerialRunner(all_defaults) as runner:
        runner.submit_trial(TrialInfo({}))
        [(_, value)] = drain(runner, 1)
    assert value.cost == 3.0


@pytest.mark.parametrize("target", [async_target, functools.partial(async_target),
                                    AsyncCallable()])
@pytest.mark.parametrize("cls", [SerialRunner, functools.partial(ThreadPoolRunner, n_workers=1)],
                         ids=["serial", "threads"])
def test_async_target_on_a_sync_runner_is_refused(cls: Any, target: Any) -> None:
    """An `async def` target would give a coroutine per trial: refused, pointing at
    AsyncioRunner."""
    with pytest.raises(TypeError, match=r"`async def`.*AsyncioRunner"):
        cls(target)


def test_async_target_still_runs_on_the_asyncio_runner() -> None:
    """The runner that awaits it keeps accepting it."""
    with AsyncioRunner(async_target) as runner:
        runner.submit_trial(TrialInfo({}))
        [(_, value)] = drain(runner, 1)
    assert value.status is StatusType.SUCCESS and value.cost == 1.0
