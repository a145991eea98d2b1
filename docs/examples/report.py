"""A report of a study: the command line's `trialrunner report` (text, PNG, HTML, CSV) called
from Python, and the history as a pandas DataFrame."""

import os
import tempfile

from runner import OptimizationLoop, ThreadPoolRunner
from runner.cli import main as trialrunner
from runner.optimizers import RandomSearch
from trials import History


def target(config):
    return (config["x"] - 2) ** 2 + abs(config["y"])


if __name__ == "__main__":
    folder = tempfile.mkdtemp()
    journal = os.path.join(folder, "study.jsonl")
    with ThreadPoolRunner(target, n_workers=2) as runner:
        OptimizationLoop(RandomSearch({"x": (-5.0, 5.0), "y": (-1.0, 1.0)}, seed=0), runner,
                         n_trials_goal=50, journal=journal).run()
    # the same as: trialrunner report study.jsonl --plot ... --html ... --csv ...
    code = trialrunner(["report", journal, "--plot", os.path.join(folder, "study.png"),
                        "--html", os.path.join(folder, "study.html"),
                        "--csv", os.path.join(folder, "study.csv")])
    assert code == 0
    frame = History.load(journal).to_dataframe()
    print(frame[["status", "cost", "config.x", "config.y"]].sort_values("cost").head(3))
