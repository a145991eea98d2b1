"""A study on an external optimizer that the resume tests run in a subprocess and SIGKILL:
``python resume_study.py LIB JOURNAL OUT`` with LIB ``smac``, ``optuna`` or ``adaptive``.

Each execution of the target appends its configuration to ``OUT/runs.jsonl`` (so the test can
count executions per configuration) and takes ``SECONDS``. When the loop ends, one JSON line on
stdout describes the optimizer's own state (what the library holds), for the test to compare
with the journal.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

_TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path += [os.path.dirname(_TESTS), _TESTS]

from runner import OptimizationLoop, ThreadPoolRunner  # noqa: E402

SECONDS = 0.15
N_TRIALS = {"smac": 24, "optuna": 40, "adaptive": 50}


def make_target(out: str) -> Any:
    def target(config: Any, seed: int = 0) -> float:
        x = config["x"]
        line = json.dumps({"x": x, "y": config.get("y")}) + "\n"
        fd = os.open(os.path.join(out, "runs.jsonl"), os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
        time.sleep(SECONDS)
        if isinstance(x, (list, tuple)):
            x = x[0]
        return (x - 0.3) ** 2 + (config.get("y") or 0.0) ** 2

    return target


def optimizer(lib: str, out: str) -> tuple[Any, Any]:
    """``(optimizer, state())``: state() describes what the library itself holds."""
    n = N_TRIALS[lib]
    if lib == "optuna":
        import optuna

        from runner.integrations.optuna import OptunaOptimizer

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=1))
        space = {"x": optuna.distributions.FloatDistribution(-1.0, 1.0)}
        opt = OptunaOptimizer(study, space, n_trials=n)
        return opt, lambda: {"done": sorted(t.params["x"] for t in study.trials
                                            if t.state.name == "COMPLETE")}
    if lib == "adaptive":
        import adaptive

        from runner.integrations.adaptive import AdaptiveOptimizer

        learner = adaptive.Learner1D(lambda x: 0.0, bounds=(-1.0, 1.0))
        opt = AdaptiveOptimizer(learner, npoints_goal=n)
        return opt, lambda: {"done": sorted(learner.data)}
    from ConfigSpace import ConfigurationSpace
    from smac import HyperparameterOptimizationFacade, Scenario

    from runner.integrations.smac import SMACOptimizer

    space = ConfigurationSpace({"x": (-1.0, 1.0), "y": (-1.0, 1.0)}, seed=0)
    scenario = Scenario(space, deterministic=True, n_trials=n, seed=1,
                        output_directory=os.path.join(out, "smac"))
    facade = HyperparameterOptimizationFacade(scenario, make_target(out), overwrite=True,
                                              logging_level=40)
    rh = facade.runhistory
    return SMACOptimizer(facade), lambda: {"done": sorted(
        rh.get_config(k.config_id)["x"] for k, v in rh.items() if v.status.name == "SUCCESS")}


def main(lib: str, journal: str, out: str) -> int:
    opt, state = optimizer(lib, out)
    with ThreadPoolRunner(make_target(out), n_workers=2) as runner:
        loop = OptimizationLoop(opt, runner, journal=journal)
        print(json.dumps({"restored": len(loop.history)}), flush=True)
        loop.run()
    print(json.dumps({"history": len(loop.history), **state()}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
