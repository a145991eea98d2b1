"""Built-in ask/tell optimizers: random search, multi-fidelity successive halving/Hyperband,
ASHA (which stops running trials on their reports) and the median stopping rule.

Any object with ``ask() -> TrialInfo | None`` and ``tell(info, value)`` drives an
`runner.OptimizationLoop`; these are the ones that ship with it.
"""

from runner.optimizers._asha import ASHA
from runner.optimizers._hyperband import Hyperband, SuccessiveHalving
from runner.optimizers._median import MedianStopping
from runner.optimizers._random import RandomSearch
from runner.optimizers._space import SearchSpace

__all__ = ["ASHA", "Hyperband", "MedianStopping", "RandomSearch", "SearchSpace",
           "SuccessiveHalving"]
