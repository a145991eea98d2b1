"""``RandomSearch``: independent samples from a search space, seeded and reproducible.

Sample ``k`` is drawn from a generator seeded with ``(seed, k)`` alone, so the sequence does not
depend on what was told or in which order, and a study resumed from its journal continues it: the
loop tells the finished trials and restores the unfinished ones, and the search goes on after the
highest index it has seen instead of proposing the same configurations again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from runner.optimizers._space import (
    _check_positive_int,
    _check_seed,
    as_sampler,
    describe_space,
    index_rng,
)
from trials import TrialInfo, TrialValue

__all__ = ["RandomSearch"]

log = logging.getLogger(__name__)

INDEX_KEY = "random_search_index"
"""The ``TrialInfo.additional_info`` key holding a trial's sample index."""


class RandomSearch:
    """Propose random configurations from ``space`` (a dict spec or a ConfigSpace space).

    ``seed`` fixes the sequence (``None``: a fresh seed, readable afterwards as ``.seed``);
    ``n_trials`` ends the search after that many proposals (``ask`` then returns ``None``).
    """

    def __init__(self, space: Any, *, seed: int | None = None, n_trials: int | None = None,
                 instance: str | None = None, budget: float | None = None) -> None:
        """See the class doc; ``instance``/``budget`` are set on every proposed trial."""
        self._sampler = as_sampler(space)
        self.seed = _check_seed(seed)
        self.n_trials = _check_positive_int("n_trials", n_trials)
        self._instance = instance
        self._budget = budget
        TrialInfo({}, instance=instance, budget=budget)  # validate them now, not at the first ask
        self._next = 0
        self._taken: set[int] = set()
        self.n_told = 0

    def ask(self) -> TrialInfo | None:
        """The next configuration, or ``None`` once ``n_trials`` have been proposed."""
        k = self._next
        while k in self._taken:
            self._taken.discard(k)
            k += 1
        if self.n_trials is not None and k >= self.n_trials:
            self._next = k
            return None
        self._next = k + 1
        config = self._sampler.sample(index_rng(self.seed, k))
        return TrialInfo(config, instance=self._instance, budget=self._budget,
                         additional_info={INDEX_KEY: k})

    def tell(self, info: TrialInfo, value: TrialValue) -> None:
        """Note that ``info`` finished; random search learns nothing from ``value``."""
        self.n_told += 1
        self._mark(info)

    def restore(self, history: Iterable[tuple[TrialInfo, TrialValue]]) -> None:
        """On resume: the finished trials of an earlier session, as if told (their indices are
        not proposed again)."""
        for info, value in history:
            self.tell(info, value)

    def restore_pending(self, info: TrialInfo) -> None:
        """On resume: ``info`` was proposed by an earlier session and runs again; skip its index."""
        self._mark(info)

    def _mark(self, info: TrialInfo) -> None:
        k = info.additional_info.get(INDEX_KEY)
        if isinstance(k, int) and not isinstance(k, bool) and k >= self._next:
            self._taken.add(k)

    def fingerprint(self) -> dict[str, Any]:
        """What a resumed study must share with this one: the space (seed and ``n_trials`` may
        change)."""
        return {"space": describe_space(self._sampler)}

    def __repr__(self) -> str:
        return f"RandomSearch({self._sampler!r}, seed={self.seed}, n_trials={self.n_trials})"
