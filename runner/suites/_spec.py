"""Suite files (TOML): read, validate (errors name the key and its line), expand into studies.

Shape::

    name = "smoke"
    problems = ["branin-mf", "hartmann3-mf"]
    optimizers = ["random", "hyperband"]
    seeds = [0, 1, 2]
    n_trials = 25                       # per study
    target_seconds = 3600               # optional: also end a study after this much target time
    retries = 0                         # optional: crashed trials resubmitted per trial
    walltime_limit = 30                 # optional suite-wide limits (one shared runner)
    wait_for_decisions = true           # optional: reports wait for on_report's decision

    [optimizer.hyperband]               # optional per-optimizer settings
    eta = 3
    [optimizer.hb-continue]             # a variant under its own name (listed in optimizers)
    use = "hyperband"
    continuation = true
    [problem.branin-mf]                 # optional per-problem settings (override the above)
    n_trials = 40
    min_budget = 3
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Mapping
from typing import Any

import attrs

from runner.errors import SuiteFileError
from runner.problems import Problem, get
from runner.suites._optimizers import (
    MULTI_FIDELITY,
    OPTIMIZERS,
    USE,
    check_reports,
    check_settings,
    resolve,
)
from runner.suites._resources import KEYS as RESOURCE_KEYS
from runner.suites._resources import check_resources

__all__ = ["StudySpec", "SuiteFileError", "SuiteSpec", "check_path_parts", "load_suite",
           "parse_suite"]

_TOP = {"name", "problems", "optimizers", "seeds", "n_trials", "retries", "walltime_limit",
        "cpu_time_limit", "memory_limit", "problem", "optimizer", "target_seconds",
        "wait_for_decisions", *RESOURCE_KEYS}
_LIMITS = ("walltime_limit", "cpu_time_limit", "memory_limit")
_STUDY_KEYS = {"n_trials", "retries", "min_budget", "max_budget", "target_seconds"}


_PART = re.compile(r"[A-Za-z0-9_\-][A-Za-z0-9_.:\-]{0,127}")
PART_RULE = ("one path component: 1 to 128 letters, digits, '_', '-', '.' or ':', not starting "
             "with '.' (no '/', no '..')")
"""What a suite, problem or optimizer name may be: each becomes a folder or file name under
``--out``, so none may climb out of it, name it (``.``), or be absolute."""


def path_problem(name: Any, nested: bool = False) -> str | None:
    """Why ``name`` cannot be a path part under ``--out`` (``None`` if it can); ``nested``: a
    problem's name, whose registered form may join such parts with '/' (a folder per part, as
    ``hpolib/naval_propulsion-mf``)."""
    parts = name.split("/") if nested and isinstance(name, str) else [name]
    if all(isinstance(part, str) and _PART.fullmatch(part) for part in parts):
        return None
    rule = PART_RULE + (", or such components joined by '/'" if nested else "")
    return f"{name!r} cannot name a folder under --out; expected {rule}"


def check_path_parts(spec: SuiteSpec) -> None:
    """`SuiteFileError` naming the first suite, problem or optimizer name of ``spec`` that
    is not one safe path component (a spec built in Python skips `parse_suite`)."""
    for key, names in (("name", (spec.name,)), ("problems", spec.problems),
                       ("optimizers", spec.optimizers)):
        for name in names:
            why = path_problem(name, nested=key == "problems")
            if why is not None:
                raise SuiteFileError(f"suite {spec.name!r}: {key}: {why}")


@attrs.frozen
class StudySpec:
    """One study of a suite: a problem, an optimizer with its settings, a seed, a trial count."""

    problem: str
    optimizer: str
    seed: int
    n_trials: int
    retries: int = 0
    settings: Mapping[str, Any] = attrs.field(factory=dict)
    target_seconds: float | None = None
    """Target time (seconds summed over the study's trials, modelled runtime where a trial
    reports one) after which the study asks no more, whichever comes first with ``n_trials``."""

    @property
    def key(self) -> str:
        """``<problem>/<optimizer>/seed-<k>``: the study's name and its place under ``--out``."""
        return f"{self.problem}/{self.optimizer}/seed-{self.seed}"


@attrs.frozen
class SuiteSpec:
    """A validated suite: problems x optimizers x seeds, with their settings."""

    name: str
    problems: tuple[str, ...]
    optimizers: tuple[str, ...]
    seeds: tuple[int, ...]
    n_trials: int
    retries: int = 0
    limits: Mapping[str, float] = attrs.field(factory=dict)
    problem_settings: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)
    optimizer_settings: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)
    target_seconds: float | None = None
    wait_for_decisions: bool = False
    """Each report of a running trial waits until its study's optimizer decided on it
    (``OptimizationLoop(..., wait_for_decisions=True)``, docs/early-stopping.md)."""
    resources: Mapping[str, Any] | None = None
    """What the shared runner has (its ``resources=``, docs/resources.md); ``None``: not set."""
    trial_resources: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)
    """What each problem's trials need, by problem name (``""``: every other problem's)."""

    def problem(self, name: str) -> Problem:
        """The problem called ``name`` in this suite."""
        return get(name)

    def studies(self) -> list[StudySpec]:
        """Every study, problem-major then optimizer then seed."""
        out = []
        for p in self.problems:
            for o in self.optimizers:
                merged = {**self.optimizer_settings.get(o, {}), **self.problem_settings.get(p, {})}
                n = merged.pop("n_trials", self.n_trials)
                retries = merged.pop("retries", self.retries)
                seconds = merged.pop("target_seconds", self.target_seconds)
                for seed in self.seeds:
                    out.append(StudySpec(p, o, seed, n, retries, dict(merged),
                                         None if seconds is None else float(seconds)))
        return out


def _load_toml(text: str, where: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SuiteFileError(f"{where}: not valid TOML: {exc}") from None


def load_suite(path: str) -> SuiteSpec:
    """Read and validate the suite file at ``path``."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise SuiteFileError(f"cannot read suite file {path!r}: {exc.strerror}") from None
    return parse_suite(text, path)


class _Checker:
    """Validates one parsed file, turning every problem into an error naming key and line."""

    def __init__(self, text: str, where: str) -> None:
        self.lines = text.splitlines()
        self.where = where

    def fail(self, table: str, key: str, message: str, item: Any = None) -> SuiteFileError:
        line = self.line(table, key, item)
        at = f"{self.where}, line {line}" if line else self.where
        name = f"{table}.{key}" if table else key
        return SuiteFileError(f"{at}: {name}: {message}")

    def line(self, table: str, key: str, item: Any = None) -> int | None:
        """The line defining ``key`` in ``[table]`` (or of ``item`` in its list), 1-based."""
        current, found = "", None
        key_re = re.compile(rf"""^\s*["']?{re.escape(key)}["']?\s*=""")
        for number, raw in enumerate(self.lines, 1):
            header = re.match(r"^\s*\[([^\[\]]+)\]\s*(#.*)?$", raw)
            if header:
                current = re.sub(r"[\s\"']", "", header[1])
                if found is not None:
                    break
                continue
            if found is None and current == table and key_re.match(raw):
                found = number
                if item is None:
                    return number
            if found is not None and item is not None and repr(item)[1:-1] in raw:
                return number
        return found

    def seconds(self, table: str, key: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                math.isfinite(value) and value > 0):
            raise self.fail(table, key, f"expected a number of seconds > 0, got {value!r}")
        return float(value)

    def integer(self, table: str, key: str, value: Any, low: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(table, key, f"expected an integer >= {low}, got {value!r}")
        if value < low:
            raise self.fail(table, key, f"expected an integer >= {low}, got {value}")
        return value

    def names(self, key: str, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail("", key, f"expected a non-empty list of names, got {value!r}")
        for item in value:
            if not isinstance(item, str) or not item:
                raise self.fail("", key, f"expected names (strings), got {item!r}")
        if len(set(value)) != len(value):
            raise self.fail("", key, f"lists a name twice: {value!r}")
        return tuple(value)

    def problems(self, names: tuple[str, ...]) -> dict[str, Problem]:
        out = {}
        for name in names:
            try:
                out[name] = get(name)
            except (ValueError, TypeError, ImportError) as exc:
                raise self.fail("", "problems", str(exc), item=name) from None
        return out

    def tables(self, data: dict[str, Any], kind: str, known: tuple[str, ...]
               ) -> dict[str, dict[str, Any]]:
        tables = data.get(kind, {})
        if not isinstance(tables, dict):
            raise self.fail("", kind, f"expected tables [{kind}.<name>], got {tables!r}")
        for name, settings in tables.items():
            if name not in known:
                raise self.fail(f"{kind}.{name}", next(iter(settings), ""),
                                f"[{kind}.{name}] names no entry of '{kind}s' ({list(known)})")
            if not isinstance(settings, dict):
                raise self.fail(kind, name, f"expected a table of settings, got {settings!r}")
        return tables


def parse_suite(text: str, where: str = "<suite>") -> SuiteSpec:
    """Validate the TOML ``text`` of a suite file (``where`` names it in errors)."""
    try:
        return _parse(text, where)
    except RecursionError:  # the TOML reader, or a repr in an error, on deep nesting
        raise SuiteFileError(f"{where}: arrays or tables are nested too deeply to read; a suite "
                             f"file needs at most a few levels") from None


def _parse(text: str, where: str) -> SuiteSpec:
    check = _Checker(text, where)
    data = _load_toml(text, where)
    for key in data:
        if key not in _TOP:
            raise check.fail("", key, f"unknown key; expected one of {sorted(_TOP)}")
    for key in ("name", "problems", "optimizers", "seeds", "n_trials"):
        if key not in data:
            raise SuiteFileError(f"{where}: the required key {key!r} is missing")
    name = data["name"]
    if not isinstance(name, str) or ":" in name or path_problem(name) is not None:
        raise check.fail("", "name", f"expected a name of letters, digits, '_', '-', '.', not "
                                     f"starting with '.' (it names the default --out folder "
                                     f"runs/<name>), got {name!r}")
    problem_names = check.names("problems", data["problems"])
    optimizers = check.names("optimizers", data["optimizers"])
    for key, names in (("problems", problem_names), ("optimizers", optimizers)):
        for item in names:
            why = path_problem(item, nested=key == "problems")
            if why is not None:
                raise check.fail("", key, why, item=item)
    problems = check.problems(problem_names)
    raw_tables = data.get("optimizer", {})
    for opt in optimizers:
        table = raw_tables.get(opt) if isinstance(raw_tables, dict) else None
        use = table.get(USE) if isinstance(table, dict) else None
        if use is not None:
            if not isinstance(use, str) or (use not in OPTIMIZERS and ":" not in use):
                raise check.fail(f"optimizer.{opt}", USE, f"expected one of "
                                 f"{sorted(OPTIMIZERS)} or 'package.module:factory', got "
                                 f"{use!r}")
        elif opt not in OPTIMIZERS and ":" not in opt:
            raise check.fail("", "optimizers", f"unknown optimizer {opt!r}; expected one of "
                             f"{sorted(OPTIMIZERS)} or 'package.module:factory', or a variant "
                             f"named by a table [optimizer.{opt}] with use = '<optimizer>'",
                             item=opt)
    seeds = data["seeds"]
    if not isinstance(seeds, list) or not seeds:
        raise check.fail("", "seeds", f"expected a non-empty list of integers, got {seeds!r}")
    seeds = [check.integer("", "seeds", s, 0) for s in seeds]
    if len(set(seeds)) != len(seeds):
        raise check.fail("", "seeds", f"lists a seed twice: {seeds!r}")
    n_trials = check.integer("", "n_trials", data["n_trials"], 1)
    retries = check.integer("", "retries", data.get("retries", 0), 0)
    limits = {}
    for key in _LIMITS:
        if key in data:
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                    math.isfinite(value) and value > 0):
                raise check.fail("", key, f"expected a number of {'MB' if 'memory' in key else 's'}"
                                          f" > 0, got {value!r}")
            limits[key] = float(value)
    p_tables = check.tables(data, "problem", problem_names)
    o_tables = check.tables(data, "optimizer", optimizers)
    for kind, tables in (("problem", p_tables), ("optimizer", o_tables)):
        for tname, settings in tables.items():
            for key, value in settings.items():
                table = f"{kind}.{tname}"
                if key in ("n_trials", "retries"):
                    check.integer(table, key, value, 1 if key == "n_trials" else 0)
                elif key == "target_seconds":
                    check.seconds(table, key, value)
                elif key in RESOURCE_KEYS and (kind == "optimizer" or key == "resources"):
                    raise check.fail(table, key, "resources is what the shared runner has (at "
                                     "the top of the file); trial_resources is what a trial "
                                     "needs (at the top, or per problem in [problem.X])")
                elif key == "trial_resources":
                    continue  # checked by check_resources, below
                elif kind == "problem" and key not in _STUDY_KEYS:
                    raise check.fail(table, key, f"unknown problem setting; expected one of "
                                                 f"{sorted(_STUDY_KEYS)}")
    seconds = (check.seconds("", "target_seconds", data["target_seconds"])
               if "target_seconds" in data else None)
    waits = data.get("wait_for_decisions", False)
    if not isinstance(waits, bool):
        raise check.fail("", "wait_for_decisions", f"expected true or false, got {waits!r}")
    has, needs = check_resources(data, p_tables, check.fail)
    p_tables = {k: {s: v for s, v in t.items() if s != "trial_resources"}
                for k, t in p_tables.items()}
    spec = SuiteSpec(name, problem_names, optimizers, tuple(seeds), n_trials, retries, limits,
                     p_tables, o_tables, seconds, waits, has, needs)
    for study in spec.studies():
        problem = problems[study.problem]
        if resolve(study.optimizer, study.settings)[0] in MULTI_FIDELITY and \
                problem.fidelity is None:
            raise check.fail("", "optimizers", f"{study.optimizer!r} needs a multi-fidelity "
                             f"problem, but {study.problem!r} has no budget (try "
                             f"'{study.problem}-mf')", item=study.optimizer)
        try:
            check_settings(study.optimizer, problem, study.settings)
            check_reports(study.optimizer, problem, study.settings, simulated=None)
        except (ValueError, TypeError) as exc:
            table, key = _blame(study, p_tables, o_tables, exc)
            raise check.fail(table, key, f"{study.key}: {exc}") from None
    return spec


def _blame(study: StudySpec, p_tables: Mapping[str, Any], o_tables: Mapping[str, Any],
           exc: Exception) -> tuple[str, str]:
    """The table and key a settings error most likely comes from (the key its message names)."""
    for kind, tables, name in (("problem", p_tables, study.problem),
                               ("optimizer", o_tables, study.optimizer)):
        for key in tables.get(name, {}):
            if key in str(exc):
                return f"{kind}.{name}", key
    return "", "optimizers"
