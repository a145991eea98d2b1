"""A custom target by subclassing `runner.Target`: plain data set up once, shipped to each worker
process with the target (not once per trial)."""

from runner import OptimizationLoop, ProcessPoolRunner, Target
from runner.optimizers import RandomSearch


class Polynomial(Target):
    """Cost of a polynomial with fixed coefficients; the coefficients travel with the target."""

    def __init__(self, coefficients):
        self.coefficients = list(coefficients)

    def __call__(self, config, *, instance=None, seed=None, budget=None, **shared_data):
        x = config["x"]
        cost = sum(c * x**i for i, c in enumerate(self.coefficients))
        return cost, {"degree": len(self.coefficients) - 1}   # (cost, info) lands in the journal


if __name__ == "__main__":
    with ProcessPoolRunner(Polynomial([4.0, -4.0, 1.0]), n_workers=2) as runner:
        loop = OptimizationLoop(RandomSearch({"x": (-5.0, 5.0)}, seed=0), runner,
                                n_trials_goal=40)
        loop.run()
    info, value = loop.incumbent
    print(f"best x={info.config['x']:.3f} cost={value.cost:.4f} {value.additional_info}")
    assert value.cost < 0.5 and value.additional_info == {"degree": 2}
