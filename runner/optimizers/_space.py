"""Search spaces the built-in optimizers sample from: a small dict spec, or a ConfigSpace space.

Spec (one entry per parameter)::

    {"x": (-5.0, 5.0),            # float, uniform on [low, high)
     "lr": (1e-5, 1e-1, "log"),   # float, log-uniform (low > 0)
     "n": (1, 10),                # int, uniform on [low, high] (both ends are ints)
     "m": (1, 1024, "log"),       # int, log-uniform
     "kind": ["a", "b", "c"]}     # categorical (a list), each choice equally likely

Every sample is drawn from one ``random.Random`` handed in by the optimizer, so the same seed and
index give the same configuration on any machine (``random.Random`` seeded with a string hashes
it with SHA-512, independent of ``PYTHONHASHSEED``).
"""

from __future__ import annotations

import copy
import math
import numbers
import random
from collections.abc import Mapping
from typing import Any, Protocol

__all__ = ["Sampler", "SearchSpace", "as_sampler", "describe_space", "index_rng"]


class Sampler(Protocol):
    """What an optimizer needs from a space: one configuration per random generator."""

    def sample(self, rng: random.Random) -> Mapping[str, Any]:
        """One configuration drawn with ``rng``."""
        ...


def index_rng(seed: int, *key: int) -> random.Random:
    """A generator that depends only on ``seed`` and ``key``: sample ``k`` is the same whatever
    was sampled before it, which is what lets a resumed study continue the same sequence."""
    return random.Random("/".join(map(str, (seed, *key))))


def _describe(value: Any) -> str:
    return f"{value!r} (type {type(value).__name__})"


def _is_int(x: Any) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def _is_real(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


class _Param:
    """One parameter of a `SearchSpace`."""

    __slots__ = ("name", "kind", "low", "high", "log", "choices")

    def __init__(self, name: str, spec: Any) -> None:
        self.name = name
        self.log = False
        self.choices: tuple[Any, ...] = ()
        self.low = self.high = 0.0
        where = f"search space parameter {name!r}"
        if isinstance(spec, list):
            if not spec:
                raise ValueError(f"{where}: a categorical needs at least one choice, got []")
            self.kind, self.choices = "cat", tuple(spec)
            return
        if not isinstance(spec, tuple) or len(spec) not in (2, 3):
            raise TypeError(
                f"{where} must be (low, high), (low, high, 'log') or a list of choices, "
                f"got {_describe(spec)}"
            )
        low, high = spec[0], spec[1]
        if len(spec) == 3:
            if spec[2] != "log":
                raise ValueError(f"{where}: the third entry may only be 'log', got {spec[2]!r}")
            self.log = True
        if not (_is_real(low) and _is_real(high)):
            raise TypeError(f"{where}: low and high must be numbers, got {spec!r}")
        try:
            finite = math.isfinite(low) and math.isfinite(high)
        except OverflowError:  # an int beyond any float, e.g. 10**400
            finite = False
        if not finite:
            raise ValueError(f"{where}: low and high must be finite (within +-1.8e308), got "
                             f"{spec!r}")
        self.kind = "int" if _is_int(low) and _is_int(high) else "float"
        if (self.kind == "int" and low > high) or (self.kind == "float" and low >= high):
            raise ValueError(f"{where}: low must be below high, got low={low!r}, high={high!r}")
        if self.log and low <= 0:
            raise ValueError(f"{where}: a log scale needs low > 0, got low={low!r}")
        self.low, self.high = low, high

    def sample(self, rng: random.Random) -> Any:
        if self.kind == "cat":
            return self.choices[rng.randrange(len(self.choices))]
        if self.kind == "int":
            if not self.log:
                return rng.randint(int(self.low), int(self.high))
            # log-uniform over the integers: draw on [low - 0.5, high + 0.5) in log space, round
            lo, hi = math.log(self.low - 0.5), math.log(self.high + 0.5)
            value = round(math.exp(rng.uniform(lo, hi)))
            return min(max(value, int(self.low)), int(self.high))
        if self.log:
            return math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        width = self.high - self.low
        if math.isinf(width):  # finite ends whose distance overflows, e.g. (-1e308, 1e308)
            half = (self.low / 2 + (self.high / 2 - self.low / 2) * rng.random()) * 2
            return min(half, math.nextafter(self.high, self.low))
        return self.low + width * rng.random()

    def __repr__(self) -> str:
        if self.kind == "cat":
            return repr(list(self.choices))
        return repr((self.low, self.high, "log") if self.log else (self.low, self.high))


class SearchSpace:
    """A product of independent parameters (floats, ints, categoricals); see the module doc."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        """Validate ``spec``; a bad entry raises ``TypeError``/``ValueError`` naming it."""
        if not isinstance(spec, Mapping):
            raise TypeError(f"a search space must be a dict of name to spec, got {_describe(spec)}")
        if not spec:
            raise ValueError("a search space needs at least one parameter, got {}")
        for name in spec:
            if not isinstance(name, str):
                raise TypeError(f"search space parameter names must be str, got {_describe(name)}")
        self._params = [_Param(name, s) for name, s in spec.items()]

    @property
    def names(self) -> list[str]:
        """The parameter names, in the order given."""
        return [p.name for p in self._params]

    def sample(self, rng: random.Random) -> dict[str, Any]:
        """One configuration drawn with ``rng``."""
        return {p.name: p.sample(rng) for p in self._params}

    def __repr__(self) -> str:
        inner = ", ".join(f"{p.name!r}: {p!r}" for p in self._params)
        return f"SearchSpace({{{inner}}})"

    def describe(self) -> dict[str, str]:
        """Each parameter's range or choices as text (JSON-safe), for a study's fingerprint."""
        return {p.name: repr(p) for p in self._params}


class _ConfigSpaceSampler:
    """Samples a ConfigSpace ``ConfigurationSpace`` (conditions and forbiddens included).

    Works on a private copy, reseeded per sample from ``rng``, so the user's space and its own
    random state are left alone and the result depends only on ``rng``.
    """

    def __init__(self, space: Any) -> None:
        self._space = copy.deepcopy(space)

    def sample(self, rng: random.Random) -> Mapping[str, Any]:
        self._space.seed(rng.randrange(2**31 - 1))
        config: Mapping[str, Any] = self._space.sample_configuration()
        return config

    def __repr__(self) -> str:
        return f"ConfigSpace space with {len(list(self._space.values()))} parameters"

    def describe(self) -> dict[str, str]:
        """Each hyperparameter as ConfigSpace prints it (JSON-safe), for a study's fingerprint."""
        return {str(name): str(hp) for name, hp in sorted(self._space.items())}


def describe_space(sampler: Any) -> Any:
    """A JSON-safe description of a sampler's space, or ``None`` for one that cannot say."""
    describe = getattr(sampler, "describe", None)
    return describe() if callable(describe) else None


def as_sampler(space: Any) -> Sampler:
    """A sampler for ``space``: a dict spec or a ConfigSpace ``ConfigurationSpace``."""
    if isinstance(space, SearchSpace):
        return space
    if isinstance(space, Mapping) and not hasattr(space, "sample_configuration"):
        return SearchSpace(space)
    if callable(getattr(space, "sample_configuration", None)) and callable(
        getattr(space, "seed", None)
    ):
        return _ConfigSpaceSampler(space)
    raise TypeError(
        "space must be a dict spec like {'x': (0.0, 1.0), 'n': (1, 8), 'kind': ['a', 'b']} or a "
        f"ConfigSpace ConfigurationSpace, got {_describe(space)}"
    )


def _check_seed(seed: Any) -> int:
    """A seed for the optimizers: an int, or a fresh one from the OS when ``None``."""
    if seed is None:
        return random.SystemRandom().getrandbits(63)
    if not _is_int(seed):
        raise TypeError(f"seed must be an int or None, got {_describe(seed)}")
    return int(seed)


def _check_positive_int(name: str, value: Any, *, allow_none: bool = True) -> int | None:
    if value is None and allow_none:
        return None
    if not _is_int(value):
        raise TypeError(f"{name} must be a positive int{' or None' if allow_none else ''}, "
                        f"got {_describe(value)}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value!r}")
    return int(value)
