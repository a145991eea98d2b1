"""A public conformance suite for runners: ``check_runner(make_runner)`` proves that a runner
keeps the contract of ``AbstractRunner`` (DESIGN §3), so a third-party backend can show it fits
any loop written against that contract.

``make_runner(target, **kwargs)`` must build a fresh runner around ``target`` (a module-level
function of this module, so it travels to worker processes by reference) with the given
runner keywords (``objectives``, ``crash_cost``, limits). A runner that only takes ``async def``
targets converts them with `async_twin`. Every wait has a deadline: a runner that hangs
fails with an ``AssertionError`` saying what it was waiting for.

    from runner.testing import check_runner
    check_runner(lambda target, **kw: MyRunner(target, n_workers=2, **kw), n_workers=2)
"""

from runner.testing._checks import CHECKS, MakeRunner, check_runner
from runner.testing._helpers import drain, wait_until
from runner.testing._targets import (
    async_twin,
    cost_of,
    echo,
    raise_value_error,
    reports_steps,
    sleep_for,
    takes_all_fields,
    takes_seed,
    takes_var_kwargs,
)

__all__ = [
    "CHECKS", "MakeRunner", "async_twin", "check_runner", "drain", "wait_until",
    "cost_of", "echo", "raise_value_error", "reports_steps", "sleep_for", "takes_seed", "takes_all_fields",
    "takes_var_kwargs",
]
