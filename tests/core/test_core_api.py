"""The public surface: what imports, what ``__all__`` holds, what ``import runner`` costs, and
what travels to workers (STYLE habits 2 and 8)."""

from __future__ import annotations

import pickle
import queue
import subprocess
import sys
import threading
from concurrent.futures import Executor

import cloudpickle
import pytest

import runner
from runner import ProcessPoolRunner, SerialRunner, ThreadPoolRunner
from runner.testing import cost_of, drain
from trials import TrialInfo

DESIGN_NAMES = {"AbstractRunner", "SerialRunner", "ProcessPoolRunner", "DaskRunner",
                "ThreadPoolRunner", "AsyncioRunner", "SimulatedRunner", "OptimizationLoop", "Target"}


def test_design_imports_work():
    """The imports DESIGN.md shows work as written."""
    code = ("from trials import StatusType, TrialInfo, TrialValue, History\n"
            "from runner import AbstractRunner, SerialRunner, ProcessPoolRunner, DaskRunner\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# The Protocols of the optimizer contract and the runner's optional extras.
CONTRACT_NAMES = {"Optimizer", "OptimizerCapabilities", "DeclaresCapabilities", "SupportsAskBatch",
                  "SupportsOnReport", "SupportsRestore", "SupportsRestorePending",
                  "SupportsDropCheckpoints", "SupportsFingerprint", "Runner", "RunnerExtras",
                  "SupportsReports", "SupportsInterruptions", "SupportsReportPump",
                  "SupportsWaitForDecisions", "SupportsClock", "SupportsCheckpoints",
                  "SupportsClose"}

# Every public name of ``runner``: DESIGN.md's, then what a user meets (errors raised or warned,
# the objects the loop hands back, the optimizers the examples build).
PUBLIC_NAMES = DESIGN_NAMES | {
    "Decision", "ExecutorRunner", "Outcome", "ScriptTarget", "continue_trial", "TrialStopped",
    "GoalProgress", "Statistics", "Timings", "Hyperband", "RandomSearch", "SuccessiveHalving",
    "RunnerError", "RunnerClosedError", "PreflightError", "LimitError", "WorkerStartError",
    "LoopError", "StudyMismatchError", "RunnerBrokenError", "RetriesExceededError",
    "FailureRateError", "TrialEndedError", "MemoryLimitWarning", "StudyFailedError",
    "SuiteFileError", "SlurmStartError",
} | CONTRACT_NAMES


def test_all_is_the_public_names():
    """runner.__all__ is exactly the public names (no more, no fewer, no repeats), and each one
    resolves."""
    assert set(runner.__all__) == PUBLIC_NAMES
    assert len(runner.__all__) == len(set(runner.__all__))
    for name in runner.__all__:
        if name in {"DaskRunner", "AsyncioRunner", "OptimizationLoop"}:
            continue  # resolved lazily; checked in a fresh interpreter below
        assert getattr(runner, name) is not None
    assert sorted(dir(runner)) == sorted(runner.__all__)


def test_no_public_name_is_left_out_of_all():
    """Every class or function ``runner`` holds under a public name is in ``__all__``: nothing
    reaches users unlisted."""
    import inspect

    held = {name for name, value in vars(runner).items()
            if not name.startswith("_") and (inspect.isclass(value) or inspect.isfunction(value))
            and getattr(value, "__module__", "").startswith(("runner", "trials"))}
    assert held <= set(runner.__all__), held - set(runner.__all__)


def test_lowlevel_all_resolves():
    """``runner.lowlevel`` (what the public packages use of the internals) lists each name once,
    every one resolves, and importing it loads neither dask nor the notebook widgets."""
    code = ("import sys\n"
            "import runner.lowlevel as low\n"
            "assert 'distributed' not in sys.modules and 'ipywidgets' not in sys.modules\n"
            "assert len(low.__all__) == len(set(low.__all__))\n"
            "for name in low.__all__:\n"
            "    assert getattr(low, name) is not None, name\n"
            "assert sorted(dir(low)) == sorted(low.__all__)\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_unknown_attribute_is_attribute_error():
    """A name runner does not have is an AttributeError naming it."""
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        runner.Nope  # noqa: B018


def test_import_runner_is_light():
    """import runner imports neither dask nor distributed and starts no thread or process."""
    code = ("import sys, threading, psutil\n"
            "import runner\n"
            "assert 'distributed' not in sys.modules, 'distributed imported'\n"
            "assert 'dask' not in sys.modules, 'dask imported'\n"
            "assert threading.active_count() == 1, threading.enumerate()\n"
            "assert not psutil.Process().children(), 'a process was started'\n"
            "runner.ProcessPoolRunner, runner.ThreadPoolRunner\n"
            "assert 'distributed' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_lazy_backends_resolve():
    """The lazily loaded names resolve to classes in a fresh interpreter."""
    code = ("import runner\n"
            "for name in ('DaskRunner', 'AsyncioRunner', 'OptimizationLoop', "
            "'ProcessPoolRunner', 'ThreadPoolRunner'):\n"
            "    assert isinstance(getattr(runner, name), type), name\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_error_hierarchy_is_rooted_in_builtins():
    """Our errors subclass the builtin a caller would catch."""
    from runner.errors import (
        LimitError,
        PreflightError,
        RetriesExceededError,
        RunnerClosedError,
        RunnerError,
        WorkerStartError,
    )

    assert issubclass(RunnerClosedError, RuntimeError) and issubclass(RunnerClosedError, RunnerError)
    assert issubclass(PreflightError, ValueError)
    assert issubclass(LimitError, PreflightError)
    assert issubclass(WorkerStartError, RuntimeError)
    assert issubclass(RetriesExceededError, RuntimeError)


def test_error_tree_separates_misuse_from_a_failed_study():
    """``LoopError`` is misuse only; a study that ran and failed is a ``StudyFailedError``; a
    journal of another study is found before anything runs (a ``PreflightError``); errors and
    warnings that lived elsewhere are the same objects from their old homes."""
    from runner import errors
    from runner._backends.dask.slurm import SlurmStartError
    from runner._core.limits import MemoryLimitWarning
    from runner.suites import SuiteFileError

    for failed in (errors.RunnerBrokenError, errors.RetriesExceededError,
                   errors.FailureRateError):
        assert issubclass(failed, errors.StudyFailedError) and issubclass(failed, RuntimeError)
        assert not issubclass(failed, errors.LoopError), failed
    assert issubclass(errors.StudyMismatchError, errors.PreflightError)
    assert issubclass(errors.StudyMismatchError, ValueError)
    assert not issubclass(errors.StudyMismatchError, errors.LoopError)
    assert errors.SuiteFileError is SuiteFileError and issubclass(SuiteFileError, ValueError)
    assert errors.SlurmStartError is SlurmStartError
    assert errors.MemoryLimitWarning is MemoryLimitWarning is runner.MemoryLimitWarning
    assert issubclass(MemoryLimitWarning, UserWarning)
    drawn = errors.__doc__ or ""
    for name in errors.__all__:
        assert name in drawn, f"{name} is missing from the tree drawn in runner/errors.py"
        assert name in runner.__all__, name


def _walk(obj, seen=None):
    """Every object reachable through pickle's view of ``obj`` (``__reduce_ex__``)."""
    seen = set() if seen is None else seen
    stack = [obj]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        if isinstance(item, (str, bytes, int, float, bool, type(None), type)):
            continue
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(item)
        elif hasattr(item, "__getstate__"):
            try:
                state = item.__getstate__()
            except TypeError:
                continue
            if state is not None:
                stack.append(state)


FORBIDDEN = (type(threading.Lock()), type(threading.RLock()), threading.Condition,
             threading.Thread, threading.Event, queue.Queue, Executor)


@pytest.mark.parametrize(("cls", "kwargs"), [
    (ProcessPoolRunner, {"n_workers": 1}),
    (SerialRunner, {"walltime_limit": 5}),
    (ThreadPoolRunner, {"n_workers": 1, "walltime_limit": 5}),
])
def test_payload_is_small_plain_data(cls, kwargs):
    """The payload sent to workers holds no lock, thread, queue or executor, and stays small."""
    with cls(cost_of, **kwargs) as r:
        payload = r._payload()
        evaluator, shared, override = cloudpickle.loads(payload)
        assert override is None and shared == {}
        for item in _walk((evaluator, shared)):
            assert not isinstance(item, FORBIDDEN), f"payload holds {item!r}"
            assert not isinstance(item, runner.AbstractRunner), "payload holds the runner"
        assert len(payload) < 2000, f"payload is {len(payload)} bytes for a small target"
        assert len(pickle.dumps(TrialInfo({"x": 1.0}))) < 500  # what travels per trial


class Scaled(ProcessPoolRunner):
    """A subclass overriding run; its user state travels, the runner's own state does not."""

    def __init__(self, scale, **kwargs):
        self.scale = scale
        super().__init__(**kwargs)

    def run(self, config, instance=None, budget=None, seed=None):
        return config["x"] * self.scale


def test_run_override_payload_holds_only_user_state():
    """An overridden run travels as a stub with the attributes set before super().__init__."""
    with Scaled(3.0, n_workers=1) as r:
        _, _, override = cloudpickle.loads(r._payload())
        assert override.state.keys() == {"scale", "_evaluator", "_shared_data"}
        for item in _walk(override.state):
            assert not isinstance(item, FORBIDDEN), f"payload holds {item!r}"
        r.submit_trial(TrialInfo({"x": 2.0}))
        [(_, value)] = drain(r, 1)
        assert value.cost == 6.0


def test_py_typed_is_shipped():
    """Both packages ship py.typed."""
    import os

    import trials

    for pkg in (runner, trials):
        assert os.path.exists(os.path.join(os.path.dirname(pkg.__file__), "py.typed"))


def test_check_runner_passes_a_conforming_runner():
    """runner.testing.check_runner passes SerialRunner as a whole."""
    from runner.testing import check_runner

    check_runner(lambda target, **kw: SerialRunner(target, **kw), n_workers=1)


class _NegativeWorkers(SerialRunner):
    """Breaks the contract: reports a negative number of free workers."""

    def count_available_workers(self) -> int:
        return -1


def test_check_runner_names_the_failed_check():
    """check_runner fails with an AssertionError naming the check a runner breaks; unknown
    names in ``skip`` are a ValueError."""
    from runner.testing import CHECKS, check_runner

    others = [name for name in CHECKS if name != "available_workers"]
    with pytest.raises(AssertionError, match="conformance check 'available_workers' failed"):
        check_runner(lambda target, **kw: _NegativeWorkers(target, **kw), skip=others)
    with pytest.raises(ValueError, match="skip names unknown checks \\['nope'\\]"):
        check_runner(lambda target, **kw: SerialRunner(target, **kw), skip=["nope"])




def test_all_holds_the_optimizer_contract():
    """The Protocols of the optimizer contract (and the runner's extras) are public."""
    assert CONTRACT_NAMES <= set(runner.__all__)
    assert all(getattr(runner, name) is not None for name in CONTRACT_NAMES)
