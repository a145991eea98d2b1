"""A real one-node SLURM for the tests in this folder (see slurm_host.py).

``slurm_host`` (session): installs Debian's SLURM and munge when missing (root), starts our own
munged, slurmctld and slurmd, waits for the node to be idle, and stops them by pid at the end.
Where that is impossible the tests are skipped, the reason printed. ``slurm``: the same host for
one test, which must leave no job behind (``squeue`` empty afterwards, else the test fails).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.slurm_host import SlurmHost, ensure_packages, wait_for


@pytest.fixture(scope="session")
def slurm_host(persistent_pids: set[int]) -> Iterator[SlurmHost]:
    """Our own one-node SLURM, for the session; ``SLURM_CONF`` points the clients at it."""
    pytest.importorskip("dask_jobqueue", reason="the [slurm] extra (dask-jobqueue) is missing")
    why = ensure_packages()
    if why is not None:
        print(f"\nSLURM tests skipped: {why}", file=sys.stderr)
        pytest.skip(f"no SLURM on this host: {why}")
    folder = Path(tempfile.mkdtemp(prefix="trialrunner-slurm-"))
    host = SlurmHost(folder)
    saved = {k: os.environ.get(k) for k in ("SLURM_CONF", "PATH")}
    try:
        host.start()
        persistent_pids.update(host.pids.values())
        host.wait_idle()
        os.environ.update({k: host.env[k] for k in saved})
        yield host
    finally:
        try:
            host.cancel_all()
        except Exception as exc:  # the daemons may be dead already: stop them anyway
            print(f"cancelling the SLURM jobs failed: {exc!r}", file=sys.stderr)
        host.stop()
        shutil.rmtree(folder, ignore_errors=True)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def slurm(slurm_host: SlurmHost) -> Iterator[SlurmHost]:
    """The session's SLURM for one test, which must leave ``squeue`` empty."""
    slurm_host.cancel_all()
    yield slurm_host
    try:
        # a runner's close() cancels its jobs; SLURM may show them COMPLETING for a moment
        wait_for(lambda: not slurm_host.jobs(), 20, "squeue to be empty after the test")
    except TimeoutError:
        left = slurm_host.jobs()
        slurm_host.cancel_all()
        pytest.fail(f"the test left SLURM jobs {left} behind", pytrace=False)
