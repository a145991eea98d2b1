"""Benchmark problems for suites: synthetic functions, multi-fidelity variants, real ML targets.

``get(name)`` builds one (``names()`` lists the built-ins); see `Problem` for the fields a
problem of your own needs, and docs/suites.md for naming one as ``module:attribute``.
"""

from runner.problems._problem import Problem
from runner.problems._registry import get, names

__all__ = ["Problem", "get", "names"]
