"""The optimizer contract is written once, as Protocols in runner/_core/capabilities.py, and read
once: no other module asks an optimizer what it has with ``getattr``/``hasattr`` (issue #29
item 1); wrappers say what they forward instead of forwarding everything."""

from __future__ import annotations

import ast
import pathlib
import re

import pytest

import runner
from runner import (
    Optimizer,
    OptimizerCapabilities,
    RunnerExtras,
    SerialRunner,
    SupportsAskBatch,
    SupportsFingerprint,
    SupportsOnReport,
    SupportsRestore,
)
from runner.optimizers import ASHA, MedianStopping, RandomSearch
from trials import TrialInfo, TrialValue

ROOT = pathlib.Path(__file__).resolve().parents[2]
CAPABILITIES = ROOT / "runner" / "_core" / "capabilities.py"
OPTIMIZER = re.compile(r"(^|\.)_?(optimizer|opt)$")


def _probes(path: pathlib.Path) -> list[str]:
    """``getattr``/``hasattr`` calls in ``path`` whose object is an optimizer (by its name)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ("getattr", "hasattr") and node.args
                and OPTIMIZER.search(ast.unparse(node.args[0]))):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_getattr_on_the_optimizer_outside_capabilities() -> None:
    """Only runner/_core/capabilities.py looks for an optimizer's optional methods."""
    found = [hit for path in sorted((ROOT / "runner").rglob("*.py")) if path != CAPABILITIES
             for hit in _probes(path)]
    assert not found, "optimizer capabilities probed outside capabilities.py:\n" + "\n".join(found)


def test_the_rule_sees_a_probe() -> None:
    """The AST check finds the spellings it forbids (so a passing test means something)."""
    code = ("getattr(self.optimizer, 'x', None)\nhasattr(optimizer, 'y')\n"
            "getattr(loop._optimizer, 'z')\ngetattr(runner, 'clock', None)\n")
    hits = [n for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Call)
            and OPTIMIZER.search(ast.unparse(n.args[0]))]
    assert len(hits) == 3


def test_wrappers_do_not_forward_by_getattr() -> None:
    """MedianStopping declares what it forwards; it has no ``__getattr__``."""
    assert "__getattr__" not in vars(MedianStopping)


class _Plain:
    def ask(self) -> TrialInfo | None:
        return None

    def tell(self, info: TrialInfo, value: TrialValue) -> None:
        pass


def test_capabilities_are_read_from_the_methods_an_optimizer_has() -> None:
    """A plain ask/tell optimizer has no capability; RandomSearch and ASHA have theirs."""
    assert OptimizerCapabilities.of(_Plain()) == OptimizerCapabilities()
    assert isinstance(_Plain(), Optimizer) and not isinstance(_Plain(), SupportsAskBatch)
    random = RandomSearch({"x": (0.0, 1.0)}, seed=1, n_trials=3)
    can = OptimizerCapabilities.of(random)
    assert isinstance(random, SupportsFingerprint) and can.fingerprint is not None
    assert (can.restore is not None) == isinstance(random, SupportsRestore)
    asha = ASHA({"x": (0.0, 1.0)}, 1, 9)
    assert (OptimizerCapabilities.of(asha).on_report is not None) == isinstance(
        asha, SupportsOnReport)


def test_median_stopping_forwards_exactly_what_it_wraps() -> None:
    """The wrapper's record: its own on_report and fingerprint, and the wrapped optimizer's
    other capabilities, none it lacks."""
    random = RandomSearch({"x": (0.0, 1.0)}, seed=1, n_trials=3)
    inner = OptimizerCapabilities.of(random)
    rule = OptimizerCapabilities.of(MedianStopping(random))
    assert rule.on_report is not None and rule.fingerprint is not None
    for name in ("ask_batch", "restore", "restore_pending", "drop_checkpoints"):
        assert (getattr(rule, name) is None) == (getattr(inner, name) is None), name
    plain = OptimizerCapabilities.of(MedianStopping(_Plain()))
    assert plain.restore is None and plain.ask_batch is None and plain.drop_checkpoints is None
    assert MedianStopping(_Plain()).fingerprint() == {}


def test_a_bad_declaration_is_refused() -> None:
    """``optimizer_capabilities()`` must return an OptimizerCapabilities, said by name."""
    class Liar(_Plain):
        def optimizer_capabilities(self) -> object:
            return {"ask_batch": None}

    with pytest.raises(TypeError, match=r"Liar.optimizer_capabilities\(\) must return"):
        OptimizerCapabilities.of(Liar())


def test_runner_extras_are_read_once() -> None:
    """A built-in runner's extras: reports, decisions, the pump, waiting for decisions."""
    with SerialRunner(lambda config: 0.0) as serial:
        extras = RunnerExtras.of(serial)
        assert isinstance(serial, runner.Runner)
    assert extras.iter_reports is not None and extras.decide is not None
    assert extras.set_wait_for_decisions is not None and extras.clock is None
    assert RunnerExtras.of(object()) == RunnerExtras()
