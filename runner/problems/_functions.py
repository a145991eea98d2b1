"""The classic synthetic test functions, on a config dict of ``x0 .. x{d-1}`` (pure Python)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["ackley", "branin", "hartmann3", "hartmann6", "levy", "rosenbrock", "xs", "zdt1"]


def xs(config: Mapping[str, Any]) -> list[float]:
    """The coordinates ``x0, x1, ...`` of ``config``, in order (the dimension is their count)."""
    return [float(config[f"x{i}"]) for i in range(len(config)) if f"x{i}" in config]


def branin(config: Mapping[str, Any]) -> float:
    """Branin-Hoo on [-5, 10] x [0, 15]; minimum 0.397887 at three points."""
    x, y = float(config["x0"]), float(config["x1"])
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (y - b * x**2 + c * x - 6) ** 2 + 10 * (1 - t) * math.cos(x) + 10


_H3_A = ((3.0, 10, 30), (0.1, 10, 35), (3.0, 10, 30), (0.1, 10, 35))
_H3_P = ((0.3689, 0.1170, 0.2673), (0.4699, 0.4387, 0.7470),
         (0.1091, 0.8732, 0.5547), (0.0381, 0.5743, 0.8828))
_H6_A = ((10, 3, 17, 3.5, 1.7, 8), (0.05, 10, 17, 0.1, 8, 14),
         (3, 3.5, 1.7, 10, 17, 8), (17, 8, 0.05, 10, 0.1, 14))
_H6_P = ((0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886),
         (0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991),
         (0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650),
         (0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381))
_H_ALPHA = (1.0, 1.2, 3.0, 3.2)


def _hartmann(x: list[float], a: Any, p: Any) -> float:
    total = 0.0
    for alpha, a_i, p_i in zip(_H_ALPHA, a, p, strict=True):
        total += alpha * math.exp(-sum(aij * (xj - pij) ** 2 for aij, xj, pij in zip(a_i, x, p_i, strict=True)))
    return -total


def hartmann3(config: Mapping[str, Any]) -> float:
    """Hartmann 3-d on [0, 1]^3; minimum -3.86278."""
    return _hartmann(xs(config), _H3_A, _H3_P)


def hartmann6(config: Mapping[str, Any]) -> float:
    """Hartmann 6-d on [0, 1]^6; minimum -3.32237."""
    return _hartmann(xs(config), _H6_A, _H6_P)


def rosenbrock(config: Mapping[str, Any]) -> float:
    """Rosenbrock in any dimension >= 2 on [-5, 10]^d; minimum 0 at (1, ..., 1)."""
    x = xs(config)
    return sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(len(x) - 1))


def ackley(config: Mapping[str, Any]) -> float:
    """Ackley in any dimension on [-32.768, 32.768]^d; minimum 0 at the origin."""
    x = xs(config)
    d = len(x)
    s1 = sum(v * v for v in x) / d
    s2 = sum(math.cos(2 * math.pi * v) for v in x) / d
    return -20 * math.exp(-0.2 * math.sqrt(s1)) - math.exp(s2) + 20 + math.e


def levy(config: Mapping[str, Any]) -> float:
    """Levy in any dimension on [-10, 10]^d; minimum 0 at (1, ..., 1)."""
    w = [1 + (v - 1) / 4 for v in xs(config)]
    head = math.sin(math.pi * w[0]) ** 2
    tail = (w[-1] - 1) ** 2 * (1 + math.sin(2 * math.pi * w[-1]) ** 2)
    body = sum((wi - 1) ** 2 * (1 + 10 * math.sin(math.pi * wi + 1) ** 2) for wi in w[:-1])
    return head + body + tail


def zdt1(config: Mapping[str, Any]) -> tuple[float, float]:
    """ZDT1, two objectives on [0, 1]^d; the Pareto front is f2 = 1 - sqrt(f1) at x1.. = 0."""
    x = xs(config)
    f1 = x[0]
    g = 1 + 9 * sum(x[1:]) / max(1, len(x) - 1)
    return f1, g * (1 - math.sqrt(f1 / g))
