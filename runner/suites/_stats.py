"""Statistics across the problems of a suite, from every study's anytime curve
(`runner.suites._results.Curve`, its ``loss``: the regret, or the cost where no optimum
is known; lower is better).

* **Common grid.** Each problem's curves are read on `GRID` points of target time, from
  1/GRID of the longest study's target time to all of it, each study's best-so-far carried
  forward; a study without a result yet counts as the worst loss any study of the problem had,
  so aggregates (median, quartiles, means) never rise.
* **Ranks.** At each grid point, per problem and seed, the optimizers are ranked by loss (ties
  share the mean rank); the average over (problem, seed) blocks is the rank over time, its last
  point the rank at the end. Blocks missing an optimizer are left out.
* **Normalized regret.** Per problem: ``(loss - low) / (high - low)`` with ``low`` 0 (the
  optimum; the smallest loss seen where the optimum is unknown) and ``high`` random search's
  median loss at the same grid point, or the largest loss of any study when random search is
  absent or has reached ``low``. Means over seeds with bootstrap 95 % intervals
  (`RESAMPLES` resamples, seeded); across problems, each seed's mean over problems.
* **Friedman and Nemenyi** (Demšar 2006) on the final losses, one block per problem (the mean
  over seeds): the Friedman statistic and p-value, the average ranks and the critical
  difference ``q_0.05 * sqrt(k (k + 1) / (6 N))``. scipy supplies the distributions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from runner.suites._results import Curve

__all__ = ["GRID", "RESAMPLES", "Cd", "Stats", "bootstrap", "compute", "friedman",
           "on_grid", "ranks"]

GRID = 60
RESAMPLES = 2000

Runs = Mapping[str, Mapping[str, Mapping[int, Curve]]]
"""problem -> optimizer -> seed -> curve."""


def on_grid(curve: Curve, grid: Sequence[float], worst: float) -> list[float]:
    """``curve.loss`` at each time of ``grid``, carried forward (``worst`` before the first
    value; a non-increasing series however the loss moved)."""
    out, j, current = [], 0, worst
    for t in grid:
        while j < len(curve.time) and curve.time[j] <= t:
            if not math.isnan(curve.loss[j]):
                current = min(current, curve.loss[j])
            j += 1
        out.append(current)
    return out


def ranks(values: Sequence[float]) -> list[float]:
    """Ranks from 1 (smallest), ties sharing their mean rank; NaN ranks last."""
    keyed = sorted(range(len(values)), key=lambda i: (math.isnan(values[i]), values[i]))
    out = [0.0] * len(values)
    i = 0
    while i < len(keyed):
        j = i
        while j + 1 < len(keyed) and (values[keyed[j + 1]] == values[keyed[i]] or (
                math.isnan(values[keyed[j + 1]]) and math.isnan(values[keyed[i]]))):
            j += 1
        for k in range(i, j + 1):
            out[keyed[k]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return out


def bootstrap(samples: Any, resamples: int = RESAMPLES) -> tuple[Any, Any, Any]:
    """Mean and bootstrap 95 % interval over the first axis of ``samples`` (seeds x points)."""
    data = np.asarray(samples, dtype=float)
    mean = data.mean(axis=0)
    if len(data) < 2:
        return mean, mean.copy(), mean.copy()
    rng = np.random.default_rng(0)
    picks = rng.integers(0, len(data), size=(resamples, len(data)))
    means = data[picks].mean(axis=1)
    low, high = np.quantile(means, [0.025, 0.975], axis=0)
    return mean, low, high


@attrs.frozen
class Cd:
    """The Friedman test and Nemenyi critical difference over ``blocks`` problems."""

    ranks: dict[str, float]
    statistic: float
    p_value: float
    cd: float
    blocks: int


def friedman(table: Mapping[str, Mapping[str, float]]) -> Cd | None:
    """From ``{problem: {optimizer: final loss}}`` (problems holding every optimizer); ``None``
    for fewer than 2 optimizers or no complete problem."""
    from scipy.stats import chi2, studentized_range

    optimizers = sorted({o for row in table.values() for o in row})
    blocks = [row for row in table.values() if all(o in row for o in optimizers)]
    k, n = len(optimizers), len(blocks)
    if k < 2 or n < 1:
        return None
    r = np.array([ranks([row[o] for o in optimizers]) for row in blocks]).mean(axis=0)
    stat = 12.0 * n / (k * (k + 1)) * (float(np.sum(r ** 2)) - k * (k + 1) ** 2 / 4.0)
    q = float(studentized_range.ppf(0.95, k, math.inf)) / math.sqrt(2.0)
    return Cd(dict(zip(optimizers, map(float, r), strict=True)), stat, float(chi2.sf(stat, k - 1)),
              q * math.sqrt(k * (k + 1) / (6.0 * n)), n)


@attrs.frozen
class Stats:
    """What `compute` derives: per problem its grid (target seconds) and the optimizers'
    losses on it (seeds x points), normalized regrets likewise; across problems the fraction
    grid, the average rank over time, the mean normalized regret with its interval."""

    optimizers: list[str]
    grid: dict[str, list[float]]
    losses: dict[str, dict[str, Any]]
    normalized: dict[str, dict[str, Any]]
    rank_curve: dict[str, list[float]]
    final_rank: dict[str, float]
    norm_curve: dict[str, tuple[Any, Any, Any]]
    cd: Cd | None
    wtl: dict[str, tuple[int, int, int]]


def _normalize(losses: Mapping[str, Any], known: bool) -> dict[str, Any]:
    everything = np.concatenate([v.ravel() for v in losses.values()])
    low = 0.0 if known else float(everything.min())
    span = max(float(everything.max()) - low, 1e-300)
    high = np.full(next(iter(losses.values())).shape[1], low + span)
    if "random" in losses:
        median = np.median(losses["random"], axis=0)
        high = np.where(median - low > 1e-12 * span, median, high)
    return {o: (v - low) / (high - low) for o, v in losses.items()}


def _wtl(final: Mapping[str, Mapping[str, float]], optimizers: list[str]
         ) -> dict[str, tuple[int, int, int]]:
    out = {}
    for o in optimizers:
        w = t = lo = 0
        for row in final.values():
            if o not in row:
                continue
            for other, v in row.items():
                if other == o:
                    continue
                tol = 1e-9 * max(1.0, abs(v), abs(row[o]))
                if abs(row[o] - v) <= tol:
                    t += 1
                elif row[o] < v:
                    w += 1
                else:
                    lo += 1
        out[o] = (w, t, lo)
    return out


def compute(runs: Runs, known: Mapping[str, bool], points: int = GRID) -> Stats:
    """The statistics of ``runs`` (``known[problem]``: its loss is a regret to a known optimum
    or front)."""
    optimizers = sorted({o for by_opt in runs.values() for o in by_opt})
    grid: dict[str, list[float]] = {}
    losses: dict[str, dict[str, Any]] = {}
    normalized: dict[str, dict[str, Any]] = {}
    for problem, seeds_of in runs.items():
        curves = [c for seeds in seeds_of.values() for c in seeds.values() if c.time]
        if not curves:
            continue
        end = max(c.time[-1] for c in curves) or 1.0
        grid[problem] = [end * (i + 1) / points for i in range(points)]
        finite = [v for c in curves for v in c.loss if not math.isnan(v)]
        worst = max(finite) if finite else math.nan
        losses[problem] = {o: np.array([on_grid(c, grid[problem], worst)
                                        for _, c in sorted(seeds.items())])
                           for o, seeds in seeds_of.items() if seeds}
        if finite:
            normalized[problem] = _normalize(losses[problem], known.get(problem, False))
    rank_sum, blocks = np.zeros((len(optimizers), points)), 0
    for problem, by_opt in losses.items():
        seeds = set.intersection(*(set(runs[problem][o]) for o in optimizers)) \
            if all(o in by_opt for o in optimizers) else set()
        for s in sorted(seeds):
            rows = [by_opt[o][sorted(runs[problem][o]).index(s)] for o in optimizers]
            rank_sum += np.array([ranks([r[i] for r in rows]) for i in range(points)]).T
            blocks += 1
    rank_curve = {o: list(rank_sum[i] / max(blocks, 1)) for i, o in enumerate(optimizers)}
    norm_curve = {}
    for o in optimizers:
        per = [normalized[p][o] for p in normalized if o in normalized[p]]
        n_seeds = min((len(v) for v in per), default=0)
        if n_seeds:  # each seed's mean over problems
            norm_curve[o] = bootstrap(np.mean([v[:n_seeds] for v in per], axis=0))
    final = {p: {o: float(np.mean(v[:, -1])) for o, v in by_opt.items()}
             for p, by_opt in losses.items()}
    return Stats(optimizers, grid, losses, normalized, rank_curve,
                 {o: c[-1] for o, c in rank_curve.items()} if blocks else {},
                 norm_curve, friedman(final), _wtl(final, optimizers))
