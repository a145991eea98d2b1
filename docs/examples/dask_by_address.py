"""A dask cluster by address: the runner connects to a running scheduler (here one started on
this machine; on a cluster, the address dask-jobqueue or your admin gives you)."""

from distributed import LocalCluster

from runner import DaskRunner, OptimizationLoop
from runner.optimizers import RandomSearch


def target(config):
    return (config["x"] - 2) ** 2


if __name__ == "__main__":
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        address = cluster.scheduler_address           # e.g. tcp://127.0.0.1:40123
        with DaskRunner(target, client=address) as runner:
            loop = OptimizationLoop(RandomSearch({"x": (-5.0, 5.0)}, seed=0), runner,
                                    n_trials_goal=20)
            loop.run()
    print(f"{len(loop.history)} trials on {address}; best cost {loop.incumbent[1].cost:.4f}")
    assert len(loop.history) == 20
