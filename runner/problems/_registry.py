"""Find a `Problem` by name: built-in names, parametrized names, or ``module:attribute``.

Names:

* a built-in name, e.g. ``branin`` (``names()`` lists them);
* a family with a dimension, e.g. ``ackley-5d`` (``<family>-<d>d``);
* any of those with ``-mf`` appended for its multi-fidelity variant, e.g. ``ackley-5d-mf``,
  and a multi-fidelity one with ``-lc`` appended for the variant returning its learning curve
  (e.g. ``ackley-5d-mf-lc``, for early stopping on the simulated runner);
* ``package.module:attribute`` naming a `Problem`, or a function of no arguments that
  returns one (how a user adds a problem without touching this package).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable

from runner.problems._problem import Problem

__all__ = ["get", "names", "register", "register_family"]

_FIXED: dict[str, Callable[[], Problem]] = {}
_FAMILIES: dict[str, tuple[Callable[[int], Problem], tuple[int, int]]] = {}
_MF_SUFFIX = "-mf"
_LC_SUFFIX = "-lc"
_DIM = re.compile(r"^(?P<family>[a-z][a-z0-9_]*)-(?P<d>[0-9]+)d$")


def register(name: str, make: Callable[[], Problem]) -> None:
    """Add a built-in problem under ``name`` (built lazily by ``make``)."""
    _FIXED[name] = make


def register_family(family: str, make: Callable[[int], Problem], dims: tuple[int, int]) -> None:
    """Add a family ``<family>-<d>d`` whose dimension ``d`` lies in ``dims`` (inclusive)."""
    _FAMILIES[family] = (make, dims)


def names() -> list[str]:
    """Every built-in name, plus ``<family>-<d>d`` patterns for the dimension families."""
    _load_builtins()
    return sorted(_FIXED) + sorted(f"{f}-<d>d" for f in _FAMILIES)


def get(name: str) -> Problem:
    """The problem called ``name``; ``ValueError`` (listing the known names) when there is none."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"a problem name must be a non-empty str, got {name!r} "
                        f"(type {type(name).__name__})")
    if ":" in name:
        return _from_import(name)
    _load_builtins()
    if name.endswith(_LC_SUFFIX) and name not in _FIXED:
        from runner.problems._multifidelity import learning_curves

        return learning_curves(get(name[: -len(_LC_SUFFIX)]))
    if name.endswith(_MF_SUFFIX) and name not in _FIXED:
        from runner.problems._multifidelity import multi_fidelity

        return multi_fidelity(get(name[: -len(_MF_SUFFIX)]))
    if name in _FIXED:
        return _FIXED[name]()
    match = _DIM.match(name)
    if match and match["family"] in _FAMILIES:
        make, (low, high) = _FAMILIES[match["family"]]
        d = int(match["d"])
        if not low <= d <= high:
            raise ValueError(f"problem {name!r}: the dimension of {match['family']!r} must be "
                             f"between {low} and {high}, got {d}")
        return make(d)
    raise ValueError(f"unknown problem {name!r}; known: {', '.join(names())}, any of them with "
                     f"'-mf' appended, or 'package.module:attribute'")


def _from_import(name: str) -> Problem:
    module_name, _, attribute = name.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"problem {name!r}: expected 'package.module:attribute'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"problem {name!r}: cannot import module {module_name!r}: {exc}") from exc
    obj: object = module
    for part in attribute.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ValueError(f"problem {name!r}: module {module_name!r} has no attribute "
                             f"{attribute!r}") from None
    if not isinstance(obj, Problem) and callable(obj):
        obj = obj()
    if not isinstance(obj, Problem):
        raise TypeError(f"problem {name!r} must name a runner.problems.Problem or a function "
                        f"returning one, got {type(obj).__name__}")
    return obj


def _load_builtins() -> None:
    """Import the modules that register the built-in problems (once; cheap, no extras)."""
    for module in ("_synthetic", "_sklearn", "_script", "tabular"):  # tabular: names only
        importlib.import_module(f"runner.problems.{module}")
