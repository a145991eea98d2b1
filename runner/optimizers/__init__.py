"""Built-in ask/tell optimizers: random search and multi-fidelity successive halving/Hyperband.

Any object with ``ask() -> TrialInfo | None`` and ``tell(info, value)`` drives an
:class:`runner.OptimizationLoop`; these are the ones that ship with it.
"""

from runner.optimizers._hyperband import Hyperband, SuccessiveHalving
from runner.optimizers._random import RandomSearch
from runner.optimizers._space import SearchSpace

__all__ = ["Hyperband", "RandomSearch", "SearchSpace", "SuccessiveHalving"]
