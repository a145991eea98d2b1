"""dask-jobqueue replaces the SIGINT handler when imported; DaskRunner.slurm must not let that
turn a user's Ctrl-C into ``sys.exit()`` (the loop marks trials in flight on KeyboardInterrupt)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

CHECK = """
import signal
from runner._backends.dask.slurm import _import_jobqueue
before = signal.getsignal(signal.SIGINT)
_import_jobqueue()
assert signal.getsignal(signal.SIGINT) is before, signal.getsignal(signal.SIGINT)
try:
    signal.raise_signal(signal.SIGINT)
except KeyboardInterrupt:
    print("KeyboardInterrupt")
"""


def test_importing_dask_jobqueue_keeps_ctrl_c_a_keyboard_interrupt() -> None:
    """After DaskRunner.slurm's import of dask-jobqueue, SIGINT still raises KeyboardInterrupt
    (dask_jobqueue.runner installs a handler calling sys.exit() at import)."""
    if importlib.util.find_spec("dask_jobqueue") is None:  # (importing it here would do it)
        pytest.skip("the [slurm] extra is not installed")
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "KeyboardInterrupt"
