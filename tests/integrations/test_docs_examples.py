"""Every ```python block of docs/integrations.md runs as written (each in a fresh namespace, in
a temporary working directory), except one whose first line says it is not run."""

from __future__ import annotations

import os
import re

import pytest

pytestmark = pytest.mark.integration

PAGE = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "integrations.md")
NOT_RUN = "# needs mpiexec: not run by the docs test"


def _blocks() -> list[tuple[int, str]]:
    text = open(PAGE, encoding="utf-8").read()
    found = []
    for match in re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M):
        line = text.count("\n", 0, match.start()) + 1
        found.append((line, match.group(1)))
    return found


BLOCKS = _blocks()
IMPORTS = {"smac": "smac", "optuna": "optuna", "adaptive": "adaptive", "loky": "loky"}


def test_the_page_has_examples() -> None:
    """The page has a runnable example for each adapter and the executor runner."""
    code = "\n".join(block for _, block in BLOCKS)
    for name in ("SMACTargetRunner", "SMACOptimizer", "OptunaOptimizer", "AdaptiveOptimizer",
                 "ExecutorRunner"):
        assert name in code, name


def _params() -> list[object]:
    """One param per block; SMAC3's examples (a few seconds each: its model) are slow."""
    return [pytest.param(line, code, id=f"line{line}",
                         marks=[pytest.mark.slow] if "from smac" in code else [])
            for line, code in BLOCKS]


@pytest.mark.parametrize("line,code", _params())
def test_example_runs(line: int, code: str, tmp_path, monkeypatch) -> None:
    """The example block starting at ``line`` of docs/integrations.md runs and its asserts
    hold."""
    if code.startswith(NOT_RUN):
        pytest.skip(f"line {line}: {NOT_RUN[2:]}")
    for word, module in IMPORTS.items():
        if re.search(rf"^(from|import) {word}\b", code, re.M):
            pytest.importorskip(module)
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": f"docs_example_line{line}"}
    exec(compile(code, f"docs/integrations.md:{line}", "exec"), namespace)  # noqa: S102
