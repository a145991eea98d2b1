"""A script target: any command line that prints `cost=...` (SMAC3's protocol), run without a
shell in its own process group, on a pool of workers, with a wall-time limit."""

import os
import sys

from runner import OptimizationLoop, ProcessPoolRunner
from runner.optimizers import RandomSearch

HERE = os.path.dirname(os.path.abspath(__file__))

if __name__ == "__main__":
    command = [sys.executable, os.path.join(HERE, "train.py")]
    space = {"x": (-5.0, 5.0), "kind": ["a", "b"]}
    with ProcessPoolRunner(command, n_workers=2, walltime_limit=30) as runner:
        loop = OptimizationLoop(RandomSearch(space, seed=1), runner, n_trials_goal=12)
        loop.run()
    info, value = loop.incumbent
    print(f"{len(loop.history)} trials; best {dict(info.config)} cost={value.cost:.4f}")
    print("the script said:", value.additional_info)
    assert all(v.status.name == "SUCCESS" for _, v in loop.history)
