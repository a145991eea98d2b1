"""SMAC3's own loop (its HPO facade) evaluating its trials on our process pool.

requires: runner.integrations.smac (the SMAC3 integration, docs/integrations.md)
"""

import tempfile

from smac import HyperparameterOptimizationFacade, Scenario
from smac_target import SPACE, quadratic

from runner import ProcessPoolRunner
from runner.integrations.smac import SMACTargetRunner

if __name__ == "__main__":
    scenario = Scenario(SPACE, deterministic=True, n_trials=24, seed=1,
                        output_directory=tempfile.mkdtemp())   # n_workers stays 1: ours scale
    with ProcessPoolRunner(quadratic, n_workers=2, walltime_limit=60) as ours:
        smac = HyperparameterOptimizationFacade(scenario, SMACTargetRunner(ours, scenario),
                                                overwrite=True, logging_level=40)
        incumbent = smac.optimize()
    print("SMAC3's incumbent, evaluated on our runner:", dict(incumbent))
    assert smac.runhistory.finished == 24 and quadratic(incumbent) < 5.0
