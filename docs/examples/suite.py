"""A benchmark suite: problems x optimizers x seeds on one shared pool of workers.

requires: runner.suites (the suites, docs/suites.md)
"""

import os
import tempfile

from runner.suites import main as suite

SUITE = """\
name = "smoke"
problems = ["branin"]
optimizers = ["random"]
seeds = [0, 1]
n_trials = 10
"""

if __name__ == "__main__":
    folder = tempfile.mkdtemp()
    path = os.path.join(folder, "smoke.toml")
    with open(path, "w") as f:
        f.write(SUITE)
    out = os.path.join(folder, "out")
    # the same as: trialrunner suite smoke.toml --backend process --workers 2 --out out
    assert suite([path, "--backend", "process", "--workers", "2", "--out", out]) == 0
    with open(os.path.join(out, "results.csv")) as f:
        print(f.read())
