"""The loop's pass has one copy (issue #29 item 3): ``OptimizationLoop.step()`` and the
driver's waiting loop both run ``Driver.one_pass``, and the driver is an object given its state,
not a mixin declaring its host's attributes (item 2)."""

from __future__ import annotations

import ast
import pathlib

from runner import OptimizationLoop, SerialRunner
from runner._loop.driver import Driver
from runner.optimizers import RandomSearch

LOOP = pathlib.Path(__file__).resolve().parents[2] / "runner" / "_loop"
PIECES = {"take_reports", "collect", "check_goals", "fill"}


def _calls(path: pathlib.Path, function: str) -> set[str]:
    """The attribute names called in ``function`` of ``path``."""
    tree = ast.parse(path.read_text())
    body = next(n for n in ast.walk(tree)
                if isinstance(n, ast.FunctionDef) and n.name == function)
    return {n.func.attr for n in ast.walk(body)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}


def test_step_and_drive_run_the_same_pass() -> None:
    """Neither step() nor drive() spells the pass out: both call one_pass, which does."""
    for path, function in ((LOOP / "loop.py", "step"), (LOOP / "driver.py", "drive")):
        called = _calls(path, function)
        assert "one_pass" in called and not called & PIECES, (function, called & PIECES)
    assert PIECES <= _calls(LOOP / "driver.py", "one_pass")


def test_the_loop_is_not_a_driver() -> None:
    """OptimizationLoop holds a Driver; it does not inherit one."""
    assert not issubclass(OptimizationLoop, Driver)
    with SerialRunner(lambda config: config["x"]) as runner:
        loop = OptimizationLoop(RandomSearch({"x": (0.0, 1.0)}, seed=3), runner,
                                n_trials_goal=4)
        while loop.step():
            pass
    assert loop.status() == "finished" and len(loop.history) == 4
