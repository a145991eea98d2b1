"""Resources per trial in a suite (docs/resources.md, docs/suites.md): ``resources`` at the top
of the suite file is what the shared runner has; ``trial_resources`` at the top is what each
trial needs by default, and in ``[problem.X]`` what the trials of problem ``X`` need (a large
model two GPUs, a small one one). Validated when the file is read, errors naming the key and
the problem; the shared runner gets ``resources=`` and a ``trial_resources=`` callable that
looks the need up by the trial's problem (its ``instance``)."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from typing import Any

from runner.lowlevel import Allocator, parse_capacity, parse_need

__all__ = ["KEYS", "ProblemNeeds", "allocates", "check_resources", "mark_allocating",
           "runner_resources"]

KEYS = ("resources", "trial_resources")
"""The suite file's resource keys: both at the top; ``trial_resources`` also per problem."""

Fail = Callable[[str, str, str], Exception]
"""``fail(table, key, message)``: the suite checker's error naming file, line and key."""


def check_resources(data: Mapping[str, Any], problem_tables: Mapping[str, Any], fail: Fail
                    ) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]]]:
    """``(resources, {problem: trial_resources})`` from a parsed suite file, every problem of
    ``problem_tables`` that needs something listed (the top-level ``trial_resources`` under
    ``""``). Raises ``fail(...)`` for a bad value, or a need the runner can never fit."""
    has = data.get("resources")
    if has is not None:
        _check_table("", "resources", has, fail)
        try:
            capacity = parse_capacity(has, name="resources")
        except (TypeError, ValueError) as exc:
            raise fail("", "resources", str(exc)) from None
    else:
        capacity = parse_capacity(None)  # the machine's, as the runner's default
    allocator = Allocator(capacity)
    needs: dict[str, dict[str, Any]] = {}
    where = [("", "", data.get("trial_resources"))] + [
        (f"problem.{name}", name, table.get("trial_resources"))
        for name, table in problem_tables.items() if isinstance(table, Mapping)]
    for table, problem, need in where:
        if need is None:
            continue
        _check_table(table, "trial_resources", need, fail)
        who = f"problem {problem!r}" if problem else "every trial (the top-level default)"
        try:
            parsed = parse_need(need, "trial_resources")
            allocator.check(parsed, who)
        except (TypeError, ValueError) as exc:
            raise fail(table, "trial_resources", str(exc)) from None
        needs[problem] = {str(k).lower(): v for k, v in need.items()}
    return (None if has is None else dict(has)), needs


def _check_table(table: str, key: str, value: Any, fail: Fail) -> None:
    if not isinstance(value, Mapping):
        example = ('{ cpu = 16, gpu = ["0", "1"], memory = 64000 }' if key == "resources"
                   else "{ cpu = 2, gpu = 1 }")
        raise fail(table, key, f"expected a table such as {key} = {example}, got {value!r}")


class ProblemNeeds:
    """``trial_resources=`` of the shared runner: a trial's need by its problem (the trial's
    ``instance``), else the suite's default; a study's own optimizer may still set
    ``additional_info["resources"]``, which wins (docs/resources.md)."""

    def __init__(self, needs: Mapping[str, Mapping[str, Any]]) -> None:
        self.default = dict(needs.get("", {}))
        self.needs = {k: dict(v) for k, v in needs.items() if k}

    def __call__(self, info: Any) -> dict[str, Any]:
        return self.needs.get(getattr(info, "instance", None) or "", self.default)

    def __repr__(self) -> str:
        return f"ProblemNeeds(default={self.default!r}, per_problem={self.needs!r})"


def runner_resources(resources: Mapping[str, Any] | None,
                     needs: Mapping[str, Mapping[str, Any]], backend: str) -> dict[str, Any]:
    """The shared runner's ``resources=``/``trial_resources=`` keywords (``{}`` when the suite
    sets neither). ``ValueError`` on a backend that cannot allocate them yet."""
    if resources is None and not needs:
        return {}
    if backend in ("dask", "slurm"):
        given = " and ".join(k for k, v in zip(KEYS, (resources, needs), strict=True) if v)
        raise ValueError(f"the suite file sets {given}, which the {backend} backend does not "
                         "allocate yet; use --backend process, thread, serial or simulated")
    kwargs: dict[str, Any] = {"resources": None if resources is None else dict(resources)}
    if needs:
        kwargs["trial_resources"] = ProblemNeeds(needs)
    return kwargs


_ALLOCATING: weakref.WeakSet[Any] = weakref.WeakSet()
"""Shared runners ``make_runner`` built with a suite's resources (the CLI builds its own and
hands it to ``run_suite``)."""


def mark_allocating(runner: Any) -> None:
    """Remember that ``runner`` was built with the suite's resource keywords."""
    try:
        _ALLOCATING.add(runner)
    except TypeError:  # not weakly referable: run_suite will warn, harmlessly
        pass


def allocates(runner: Any) -> bool:
    """Whether `mark_allocating` saw ``runner``."""
    try:
        return runner in _ALLOCATING
    except TypeError:
        return False
