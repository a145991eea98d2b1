"""The public conformance suite (``runner.testing``) on every backend."""

from __future__ import annotations

import pytest

from runner import testing

SAME_AS_PROCESS_POOL = {"invalid_returns", "return_forms", "trial_fields"}
"""Checks of what the evaluator in a worker process decides: on a limited serial or thread
runner it is the same code in the same kind of worker as on the process pool."""


@pytest.mark.parametrize("check", list(testing.CHECKS))
def test_conformance(make_any_runner, check):
    """Each backend passes each check of runner.testing (see the check's docstring)."""
    if make_any_runner.name.endswith("-limited") and check in SAME_AS_PROCESS_POOL:
        pytest.skip("the same worker-side code as on the process pool, checked there")
    testing.CHECKS[check](make_any_runner, make_any_runner.n_workers)
