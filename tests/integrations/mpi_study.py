"""Run under ``mpiexec -n 3 python -m mpi4py.futures mpi_study.py``: an ``ExecutorRunner`` over
``MPIPoolExecutor`` (two worker ranks) evaluates trials, one of which raises and one of which
overruns a wall-time limit; prints one JSON line per runner with what came back."""

from __future__ import annotations

import json
import os
import sys

_TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path += [os.path.dirname(_TESTS), _TESTS]

from runner import ExecutorRunner  # noqa: E402
from runner.testing import drain  # noqa: E402
from trials import TrialInfo  # noqa: E402


def target(config: dict) -> float:
    """``x**2``; raises for ``x == 13``; sleeps ``s`` seconds first."""
    import time

    time.sleep(config.get("s", 0.0))
    if config["x"] == 13:
        raise ValueError("thirteen")
    return float(config["x"]) ** 2


def main() -> None:
    from mpi4py.futures import MPIPoolExecutor

    with MPIPoolExecutor() as executor:
        with ExecutorRunner(target, executor) as runner:
            workers = runner.count_available_workers()
            infos = [TrialInfo({"x": x}) for x in (1, 2, 3, 13)]
            for info in infos:
                runner.submit_trial(info)
            got = drain(runner, len(infos), timeout=60)
            print(json.dumps({"workers": workers, "results": [
                [i.config["x"], int(v.status), v.cost, v.additional_info.get("error", "")]
                for i, v in got]}), flush=True)
        with ExecutorRunner(target, executor, walltime_limit=1.0, crash_cost=99.0) as runner:
            infos = [TrialInfo({"x": 4}), TrialInfo({"x": 5, "s": 30.0})]
            for info in infos:
                runner.submit_trial(info)
            got = drain(runner, len(infos), timeout=60)
            print(json.dumps({"limited": [[i.config["x"], int(v.status), v.cost]
                                          for i, v in got]}), flush=True)


if __name__ == "__main__":
    main()
