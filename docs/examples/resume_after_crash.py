"""Resume after a crash: a study is killed with SIGKILL halfway (its driver and workers die on
the spot), then continued from its journal. No finished trial runs again; the trials that were
in flight run once more; the study ends with exactly the trials asked for."""

import os
import signal
import subprocess
import sys
import tempfile
import time

from runner import OptimizationLoop, ProcessPoolRunner
from runner.optimizers import RandomSearch
from trials import History, read_records

SPACE = {"x": (-5.0, 5.0)}


def slow_square(config):
    time.sleep(0.05)
    return (config["x"] - 1) ** 2


def study(journal):
    """The study; constructing the loop on an existing journal resumes it."""
    with ProcessPoolRunner(slow_square, n_workers=2) as runner:
        loop = OptimizationLoop(RandomSearch(SPACE, seed=3), runner, n_trials_goal=30,
                                journal=journal)
        loop.run()
    return loop


if __name__ == "__main__" and len(sys.argv) == 2:   # the run that gets killed
    study(sys.argv[1])
elif __name__ == "__main__":
    journal = os.path.join(tempfile.mkdtemp(), "study.jsonl")
    child = subprocess.Popen([sys.executable, __file__, journal], start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:   # let it finish some trials, then pull the plug
        if os.path.exists(journal) and len(History.load(journal)) >= 10:
            break
        time.sleep(0.05)
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()
    print(f"killed with {len(History.load(journal))} trials finished")
    loop = study(journal)                  # resume: the journal alone says where it stood
    finals = [r["trial"] for r in read_records(journal)
              if r.get("type") == "result" and r.get("final")]
    print(f"resumed and finished: {len(loop.history)} trials, best {loop.incumbent[1].cost:.4f}")
    assert len(finals) == len(set(finals)) == 30
