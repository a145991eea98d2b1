"""The public conformance suite (``runner.testing``) on every backend."""

from __future__ import annotations

import pytest

from contract.conftest import BACKENDS, LIMITED
from runner import testing

SAME_AS_PROCESS_POOL = {"invalid_returns", "return_forms", "trial_fields"}
"""Checks of what the evaluator in a worker process decides: on a limited serial or thread
runner it is the same code in the same kind of worker as on the process pool."""


@pytest.mark.parametrize("make_any_runner, check", [
    pytest.param(backend, check, id=f"{backend.name}-{check}")
    for backend in BACKENDS + LIMITED for check in testing.CHECKS
    if not (backend.name.endswith("-limited") and check in SAME_AS_PROCESS_POOL)],
    indirect=["make_any_runner"])
def test_conformance(make_any_runner, check):
    """Each backend passes each check of runner.testing (see the check's docstring); the checks
    in ``SAME_AS_PROCESS_POOL`` are not generated for the limited configurations."""
    testing.CHECKS[check](make_any_runner, make_any_runner.n_workers)
