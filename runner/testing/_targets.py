"""The conformance targets: module-level functions (they travel to workers by reference),
each with an ``async def`` twin for runners that await their targets."""


from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import Any


def cost_of(config: Any) -> Any:
    """Returns ``config["x"]``."""
    return config["x"]


def echo(config: Any) -> Any:
    """Returns ``config["ret"]`` whatever it is (every return form, valid or not)."""
    return config["ret"]


def raise_value_error(config: Any) -> Any:
    """Raises ``ValueError(config["msg"])``."""
    raise ValueError(config["msg"])


def _sleep_marker(config: Any) -> None:
    folder = config.get("dir")
    if folder:
        name = os.path.join(folder, f"started-{config['id']}")
        with open(name + ".tmp", "w") as f:
            f.write(str(os.getpid()))
        os.replace(name + ".tmp", name)


def _stop_requested(config: Any) -> bool:
    folder = config.get("dir")
    return bool(folder) and os.path.exists(os.path.join(folder, "stop"))


def sleep_for(config: Any) -> Any:
    """Sleeps ``config["s"]`` seconds (writing its pid to ``dir/started-id`` first; returning
    early once ``dir/stop`` exists, so a thread that cannot be killed still ends); cost 0."""
    _sleep_marker(config)
    end = time.monotonic() + config["s"]
    while time.monotonic() < end and not _stop_requested(config):
        time.sleep(min(0.05, max(0.0, end - time.monotonic())))
    return 0.0


def reports_steps(config: Any, report: Any) -> Any:
    """Reports steps 1..``config["n"]`` with cost ``1/step``, one every ``config["every"]``
    seconds; returns cost 0 with its learning curve (``curve``, ``runtime``: what the
    simulated runner replays instead of the calls)."""
    n, every = config["n"], config["every"]
    for step in range(1, n + 1):
        time.sleep(every)
        report(step, 1.0 / step, phase="train")
    return 0.0, _curve(n, every)


def _curve(n: int, every: float) -> dict[str, Any]:
    return {"curve": [(s, 1.0 / s, s * every, {"phase": "train"}) for s in range(1, n + 1)],
            "runtime": n * every}


def takes_seed(config: Any, seed: Any) -> Any:
    """Accepts only ``seed``; reports it."""
    return 0.0, {"seed": seed}


def takes_all_fields(config: Any, instance: Any, seed: Any, budget: Any) -> Any:
    """Accepts every trial field; reports them."""
    return 0.0, {"instance": instance, "seed": seed, "budget": budget}


def takes_var_kwargs(config: Any, **kwargs: Any) -> Any:
    """Accepts ``**kwargs``; reports which keywords came."""
    return 0.0, {"keys": sorted(kwargs)}


async def cost_of_async(config: Any) -> Any:
    """``async`` twin of `cost_of`."""
    return cost_of(config)


async def echo_async(config: Any) -> Any:
    """``async`` twin of `echo`."""
    return echo(config)


async def raise_value_error_async(config: Any) -> Any:
    """``async`` twin of `raise_value_error`."""
    return raise_value_error(config)


async def sleep_for_async(config: Any) -> Any:
    """``async`` twin of `sleep_for` (awaits instead of blocking the loop)."""
    _sleep_marker(config)
    end = time.monotonic() + config["s"]
    while time.monotonic() < end and not _stop_requested(config):
        await asyncio.sleep(min(0.05, max(0.0, end - time.monotonic())))
    return 0.0


async def takes_seed_async(config: Any, seed: Any) -> Any:
    """``async`` twin of `takes_seed`."""
    return takes_seed(config, seed)


async def takes_all_fields_async(config: Any, instance: Any, seed: Any, budget: Any) -> Any:
    """``async`` twin of `takes_all_fields`."""
    return takes_all_fields(config, instance, seed, budget)


async def takes_var_kwargs_async(config: Any, **kwargs: Any) -> Any:
    """``async`` twin of `takes_var_kwargs`."""
    return takes_var_kwargs(config, **kwargs)


async def reports_steps_async(config: Any, report: Any) -> Any:
    """``async`` twin of `reports_steps` (awaits its reports)."""
    n, every = config["n"], config["every"]
    for step in range(1, n + 1):
        await asyncio.sleep(every)
        await report(step, 1.0 / step, phase="train")
    return 0.0, _curve(n, every)


_TWINS: dict[Callable[..., Any], Callable[..., Any]] = {
    cost_of: cost_of_async, echo: echo_async, raise_value_error: raise_value_error_async,
    sleep_for: sleep_for_async, takes_seed: takes_seed_async,
    takes_all_fields: takes_all_fields_async, takes_var_kwargs: takes_var_kwargs_async,
    reports_steps: reports_steps_async,
}


def async_twin(target: Callable[..., Any]) -> Callable[..., Any]:
    """The ``async def`` version of a conformance target (``KeyError`` for one without)."""
    return _TWINS[target]


