"""Search-space files for ``trialrunner run --space``: our spec as TOML or JSON, or a ConfigSpace
JSON file. The file's content goes into the journal header, so a resumed study needs no file.

Our spec file has one table per parameter::

    [x]                      # float on [low, high) (int when both ends are ints)
    low = -5.0
    high = 10.0
    [lr]
    low = 1e-5
    high = 0.1
    log = true               # log-uniform
    [kind]
    choices = ["a", "b"]     # categorical

(or the same under a top-level ``space`` table; JSON: the same objects). A JSON file with a
``hyperparameters`` list is a ConfigSpace space (``ConfigurationSpace.to_json``).
"""

from __future__ import annotations

import importlib
import io
import json
import os
from collections.abc import Mapping
from typing import Any

from runner.cli._common import UsageError
from trials._journal_read import MAX_HEADER_BYTES

__all__ = ["MAX_SPACE_BYTES", "PlainConfigs", "SpaceFile", "build_space", "read_space_file"]

MAX_SPACE_BYTES = MAX_HEADER_BYTES // 4
"""The largest space file ``run`` takes: the journal header holds the space twice (the command
and the fingerprint's description), so this keeps it well under ``MAX_HEADER_BYTES``."""

SpaceFile = dict[str, Any]
"""``{"format": "spec", "spec": {...}}`` or ``{"format": "configspace", "json": {...}}``."""


def read_space_file(path: str) -> SpaceFile:
    """Read and check the space file at ``path``; the result is JSON-safe (for the header)."""
    if not os.path.isfile(path):
        raise UsageError(f"--space: no such file: {path}")
    size = os.path.getsize(path)
    if size > MAX_SPACE_BYTES:
        raise UsageError(f"--space: {path} takes {size / 2**20:.1f} MiB, over the "
                         f"{MAX_SPACE_BYTES / 2**20:g} MiB a space file may take (the journal "
                         f"header holds the space, at most {MAX_HEADER_BYTES >> 20} MiB)")
    try:
        with open(path, "rb") as f:
            data = f.read()
        if path.endswith(".toml"):
            content: Any = _toml().loads(data.decode("utf-8"))
        else:
            content = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise UsageError(f"--space: {path} is not valid {_kind(path)}: {e}") from None
    if not isinstance(content, dict):
        raise UsageError(f"--space: {path} must hold an object of parameters, got "
                         f"{type(content).__name__}")
    if isinstance(content.get("hyperparameters"), list):
        space = {"format": "configspace", "json": content}
    else:
        spec = content.get("space", content)
        space = {"format": "spec", "spec": spec}
    build_space(space, where=f"--space {path}")  # every error now, not at the first trial
    return space


def _toml() -> Any:
    """``tomllib`` (Python >= 3.11), or its backport ``tomli`` on 3.10."""
    for name in ("tomllib", "tomli"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise UsageError("--space: reading TOML needs Python >= 3.11 or `pip install tomli`; or "
                     "write the space as JSON")


def _kind(path: str) -> str:
    return "TOML" if path.endswith(".toml") else "JSON"


def build_space(space: Mapping[str, Any], where: str = "the journal's space") -> Any:
    """The object the optimizers take: a dict spec with tuples, or a ConfigSpace space."""
    if space.get("format") == "configspace":
        try:
            from ConfigSpace import ConfigurationSpace
        except ImportError:
            raise UsageError(f"{where}: a ConfigSpace space needs ConfigSpace: pip install "
                             "'trialrunner[configspace]'") from None
        try:
            # from_json is the reader of to_json's format (from_serialized_dict is not)
            text = io.StringIO(json.dumps(space["json"]))
            return PlainConfigs(ConfigurationSpace.from_json(text))
        except Exception as e:  # ConfigSpace raises many kinds for a bad file
            raise UsageError(f"{where}: not a ConfigSpace space: {e}") from None
    spec = space.get("spec")
    if not isinstance(spec, Mapping) or not spec:
        raise UsageError(f"{where}: expected one table per parameter, e.g. "
                         "x = {low = -5.0, high = 10.0}, got none")
    out = {name: _param(name, entry, where) for name, entry in spec.items()}
    from runner.optimizers import SearchSpace

    try:
        SearchSpace(out)
    except (TypeError, ValueError) as e:
        raise UsageError(f"{where}: {e}") from None
    return out


def _param(name: str, entry: Any, where: str) -> Any:
    if not isinstance(entry, Mapping):
        raise UsageError(f"{where}: parameter {name!r} must be a table with low/high[/log] or "
                         f"choices, got {entry!r}")
    unknown = set(entry) - {"low", "high", "log", "choices"}
    if unknown:
        raise UsageError(f"{where}: parameter {name!r} has unknown keys {sorted(unknown)}; "
                         "expected low, high, log or choices")
    if "choices" in entry:
        if not isinstance(entry["choices"], list):
            raise UsageError(f"{where}: parameter {name!r}: choices must be a list, got "
                             f"{entry['choices']!r}")
        return list(entry["choices"])
    if "low" not in entry or "high" not in entry:
        raise UsageError(f"{where}: parameter {name!r} needs low and high (or choices)")
    log = entry.get("log", False)
    if not isinstance(log, bool):
        raise UsageError(f"{where}: parameter {name!r}: log must be true or false, got {log!r}")
    return (entry["low"], entry["high"], "log") if log else (entry["low"], entry["high"])


class PlainConfigs:
    """A ConfigSpace space whose samples are plain dicts of builtins (the active parameters).

    Trials then carry what the journal and a script target see anyway, and a worker process
    reads a trial without importing ConfigSpace (and numpy) in the middle of it, which its
    hygiene check would take for the trial's doing (threads that numpy's import starts).
    The optimizers sample it like the space itself: ``seed`` and ``sample_configuration``.
    """

    def __init__(self, space: Any) -> None:
        self.space = space

    def seed(self, seed: int) -> None:
        """Seed the space's sampler."""
        self.space.seed(seed)

    def sample_configuration(self) -> dict[str, Any]:
        """One configuration, as a dict of Python numbers and strings."""
        config = self.space.sample_configuration()
        return {name: (v.item() if hasattr(v, "item") else v) for name, v in dict(config).items()}

    def values(self) -> Any:
        """The space's hyperparameters."""
        return self.space.values()

    def items(self) -> Any:
        """The space's ``(name, hyperparameter)`` pairs."""
        return self.space.items()
