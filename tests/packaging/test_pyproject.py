"""Packaging metadata a fresh install relies on (issue #14, item 10)."""

from __future__ import annotations

import ast
import pathlib
import re

import pytest

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\[<>=!~ ;]", r, maxsplit=1)[0].lower() for r in requirements}


def test_pynisher_is_a_benchmark_extra_not_a_core_dependency() -> None:
    """The library never imports pynisher; only the benchmarks compare against it."""
    assert "pynisher" not in _names(PROJECT["dependencies"])
    assert "pynisher" in _names(PROJECT["optional-dependencies"]["bench"])


def test_library_code_never_imports_pynisher() -> None:
    """What the core dependency list no longer promises, the library must not import."""
    for path in [*ROOT.joinpath("runner").rglob("*.py"), *ROOT.joinpath("trials").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            assert not any(m.split(".")[0] == "pynisher" for m in modules), path


def test_license_is_an_spdx_string() -> None:
    """A TOML table makes setuptools >= 77 print a deprecation banner on every install."""
    assert PROJECT["license"] == "BSD-3-Clause"
