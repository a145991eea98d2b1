"""The hypervolume of a set of cost vectors (every objective minimized): the volume of the region
they dominate, bounded by a reference point. Exact: a sweep in two dimensions, slicing along the
last objective above that (fine for the few hundred points of a suite study)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

__all__ = ["hypervolume", "pareto_front"]

Point = tuple[float, ...]


def pareto_front(points: Iterable[Sequence[float]]) -> list[Point]:
    """The points no other point dominates (duplicates once), sorted; non-finite ones dropped."""
    pts = sorted({tuple(float(v) for v in p) for p in points
                  if all(math.isfinite(float(v)) for v in p)})
    front: list[Point] = []
    if pts and len(pts[0]) == 2:  # a sweep: along rising f1, a point on the front lowers f2
        for p in pts:
            if not front or p[1] < front[-1][1]:
                front.append(p)
        return front
    for p in pts:  # sorted, so a dominating point comes before the points it dominates
        if not any(all(a <= b for a, b in zip(q, p, strict=True)) for q in front):
            front.append(p)
    return front


def hypervolume(points: Iterable[Sequence[float]], reference: Sequence[float]) -> float:
    """The hypervolume ``points`` dominate below ``reference`` (points not strictly below it in
    every objective add nothing); 0 for none."""
    ref = tuple(float(r) for r in reference)
    inside = [p for p in pareto_front(points) if len(p) == len(ref) and
              all(a < r for a, r in zip(p, ref, strict=True))]
    return _volume(inside, ref)


def _volume(front: list[Point], ref: Point) -> float:
    if not front:
        return 0.0
    if len(ref) == 1:
        return ref[0] - min(p[0] for p in front)
    if len(ref) == 2:
        total, last = 0.0, ref[1]
        for f1, f2 in sorted(front):  # f2 falls as f1 grows along a front
            if f2 < last:
                total += (ref[0] - f1) * (last - f2)
                last = f2
        return total
    ordered = sorted(front, key=lambda p: p[-1])
    total = 0.0
    for i, p in enumerate(ordered):
        top = ordered[i + 1][-1] if i + 1 < len(ordered) else ref[-1]
        if top > p[-1]:
            total += (top - p[-1]) * _volume(pareto_front(q[:-1] for q in ordered[: i + 1]),
                                             ref[:-1])
    return total
