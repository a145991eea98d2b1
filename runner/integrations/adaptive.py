"""adaptive behind our optimizer protocol: `AdaptiveOptimizer` turns a learner's points
into trials and its loss into a goal, so ``OptimizationLoop`` samples a function adaptively on
any of our runners.

    loop.ask_batch(n) -> learner.ask(n)          -> TrialInfo({"x": point})   (a tuple for N-D;
                                                    {"learner": i, "x": point} for a
                                                    BalancingLearner)
    loop.tell         -> learner.tell(point, cost)  (a failed trial is not told: its point
                                                    stays pending, as adaptive's runner does)
    resume            -> learner.tell(...) for each finished trial, tell_pending for the rest

Importing this module imports adaptive (``pip install 'trialrunner[adaptive]'``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from typing import Any

import adaptive

from trials import StatusType, TrialInfo, TrialValue

__all__ = ["AdaptiveOptimizer", "LossGoal", "loss_goal"]

log = logging.getLogger(__name__)


def _tupled(value: Any) -> Any:
    """A point read back from the journal: JSON lists become the tuples adaptive uses."""
    if isinstance(value, (list, tuple)):
        return tuple(_tupled(v) for v in value)
    return value


class AdaptiveOptimizer:
    """An adaptive learner (``Learner1D``, ``Learner2D``, ``LearnerND``, ``BalancingLearner``,
    ``SequenceLearner``, ...) as an ask/tell optimizer. The target receives the point as
    ``config["x"]`` (and, under a ``BalancingLearner``, the learner's index as
    ``config["learner"]``) and returns the value to learn as its cost. The search is exhausted
    when the learner says ``done()`` or has no more points; ``npoints_goal`` ends it after that
    many points; a loss goal on the loop is `loss_goal`."""

    def __init__(self, learner: Any, *, npoints_goal: int | None = None) -> None:
        """See the class doc."""
        for method in ("ask", "tell", "tell_pending", "loss"):
            if not callable(getattr(learner, method, None)):
                raise TypeError(f"learner must be an adaptive learner (with {method}()), got "
                                f"{type(learner).__name__}")
        if npoints_goal is not None and (isinstance(npoints_goal, bool)
                                         or not isinstance(npoints_goal, int) or npoints_goal < 1):
            raise ValueError(f"npoints_goal must be a positive int or None, got {npoints_goal!r}")
        self.learner = learner
        self.npoints_goal = npoints_goal
        self._balancing = isinstance(learner, adaptive.BalancingLearner)
        self.n_asked = 0
        self.n_failed = 0

    def ask(self) -> TrialInfo | None:
        """The learner's next point, or ``None`` when it is done or has none."""
        got = self.ask_batch(1)
        return got[0] if got else None

    def ask_batch(self, n: int) -> list[TrialInfo]:
        """Up to ``n`` points chosen together (fewer, or none, when the learner is done)."""
        if self.npoints_goal is not None:
            n = min(n, self.npoints_goal - self.n_asked)
        done = getattr(self.learner, "done", None)
        if n <= 0 or (callable(done) and done()):
            return []
        points, _ = self.learner.ask(n)
        self.n_asked += len(points)
        return [TrialInfo(self._config(p)) for p in points]

    def tell(self, info: TrialInfo, value: TrialValue) -> None:
        """Tell the learner the trial's cost at its point; a failed trial is not told."""
        point = self._point(info)
        if value.status is not StatusType.SUCCESS or not _finite(value.cost):
            self.n_failed += 1
            log.warning("point %r ended %s; not told to the learner (it stays pending)", point,
                        value.status.name)
            return
        cost = value.cost
        self.learner.tell(point, cost if isinstance(cost, tuple) else float(cost))

    def restore(self, history: Iterable[tuple[TrialInfo, TrialValue]]) -> None:
        """On resume: tell the learner every finished trial of the journal."""
        for info, value in history:
            self.n_asked += 1
            self.tell(info, value)

    def restore_pending(self, info: TrialInfo) -> None:
        """On resume: an unfinished trial runs again; the learner holds its point as pending."""
        self.n_asked += 1
        self.learner.tell_pending(self._point(info))

    def _config(self, point: Any) -> dict[str, Any]:
        if self._balancing:
            index, x = point
            return {"learner": int(index), "x": _plain(x)}
        return {"x": _plain(point)}

    def _point(self, info: TrialInfo) -> Any:
        x = _tupled(info.config["x"])
        return (int(info.config["learner"]), x) if self._balancing else x

    def __repr__(self) -> str:
        return f"AdaptiveOptimizer({type(self.learner).__name__}, asked={self.n_asked})"


def _plain(point: Any) -> Any:
    """numpy scalars and arrays as Python numbers and tuples (JSON-safe, hashable)."""
    if isinstance(point, (list, tuple)):
        return tuple(_plain(p) for p in point)
    item = getattr(point, "item", None)
    return item() if callable(item) and getattr(point, "ndim", 1) == 0 else point


def _finite(cost: Any) -> bool:
    values = cost if isinstance(cost, tuple) else (cost,)
    return all(isinstance(c, (int, float)) and math.isfinite(c) for c in values)


class LossGoal:
    """A loop goal: met once the loop's `AdaptiveOptimizer`'s learner has
    ``loss() <= loss``."""

    def __init__(self, loss: float) -> None:
        if isinstance(loss, bool) or not isinstance(loss, (int, float)) or not loss >= 0:
            raise ValueError(f"loss must be a number >= 0, got {loss!r}")
        self.loss = float(loss)

    def __call__(self, loop: Any) -> bool:
        optimizer = loop.optimizer
        if not isinstance(optimizer, AdaptiveOptimizer):
            raise TypeError("loss_goal() needs a loop whose optimizer is an AdaptiveOptimizer, "
                            f"got {type(optimizer).__name__}")
        return bool(optimizer.learner.loss() <= self.loss)

    def __repr__(self) -> str:
        return f"loss_goal({self.loss:g})"


def loss_goal(loss: float) -> LossGoal:
    """``OptimizationLoop(AdaptiveOptimizer(learner), runner, goal=loss_goal(0.01))``: stop
    asking once the learner's loss is at most ``loss`` (adaptive's ``loss_goal``)."""
    return LossGoal(loss)
