"""The public conformance suite (``runner.testing``) on every backend."""

from __future__ import annotations

import pytest

from runner import testing


@pytest.mark.parametrize("check", list(testing.CHECKS))
def test_conformance(make_any_runner, check):
    """Each backend passes each check of runner.testing (see the check's docstring)."""
    testing.CHECKS[check](make_any_runner, make_any_runner.n_workers)
