"""Benchmark suites: problems x optimizers x seeds, every study on one shared runner.

``run_suite(path_or_spec, backend=..., workers=..., out=...)`` is the Python API; ``main(argv)``
the ``suite`` verb of the command line. See docs/suites.md.
"""

from runner.suites._cli import main
from runner.suites._pool import SuiteTarget, suite_target
from runner.suites._run import SuiteResult, make_runner, run_suite
from runner.suites._spec import StudySpec, SuiteFileError, SuiteSpec, load_suite, parse_suite

__all__ = ["StudySpec", "SuiteFileError", "SuiteResult", "SuiteSpec", "SuiteTarget", "load_suite",
           "main", "make_runner", "parse_suite", "run_suite", "suite_target"]
