"""SMAC3's own loop (its HPO facade) evaluating its trials on our process pool.

requires: runner.integrations.smac (the SMAC3 integration, docs/integrations.md)
"""

import tempfile

from ConfigSpace import ConfigurationSpace
from runner.integrations.smac import SMACTargetRunner
from smac import HyperparameterOptimizationFacade, Scenario

from runner import ProcessPoolRunner


def quadratic(config, seed=0):
    return (config["x"] - 2) ** 2 + (config["y"] + 1) ** 2


if __name__ == "__main__":
    space = ConfigurationSpace({"x": (-5.0, 5.0), "y": (-5.0, 5.0)}, seed=0)
    scenario = Scenario(space, deterministic=True, n_trials=24,
                        output_directory=tempfile.mkdtemp())   # n_workers stays 1: ours scale
    with ProcessPoolRunner(quadratic, n_workers=2, walltime_limit=60) as ours:
        smac = HyperparameterOptimizationFacade(scenario, SMACTargetRunner(ours, scenario),
                                                overwrite=True, logging_level=40)
        incumbent = smac.optimize()
    print("SMAC3's incumbent, evaluated on our runner:", dict(incumbent))
    assert quadratic(incumbent) < 5.0
