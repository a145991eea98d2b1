"""Resources per trial on dask (docs/resources.md#on-dask): no-op trials/s of a streaming
DaskRunner on a LocalCluster of 2 workers started with ``GPU=2``, with and without
``trial_resources={"gpu": 1}`` (tags, a device id per trial assigned within the worker).

    python -m benchmarks.bench_dask_resources [--quick] [--repeats N]
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from benchmarks._common import drive, interleave, noop
from benchmarks.bench_resources import ratio_table


def _run(client: Any, n: int, **kwargs: Any) -> Callable[[], float]:
    from runner import DaskRunner
    from trials import TrialInfo

    def once() -> float:
        with DaskRunner(noop, client=client, **kwargs) as runner:
            drive(runner, [TrialInfo({}) for _ in range(50)])  # pilots warm
            seconds, _ = drive(runner, [TrialInfo({"n": i}) for i in range(n)])
        return n / seconds

    return once


def main(argv: list[str]) -> None:
    import distributed

    quick = "--quick" in argv
    n, repeats = (1000, 3) if quick else (3000, 7)
    if "--repeats" in argv:
        repeats = int(argv[argv.index("--repeats") + 1])
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, resources={"GPU": 2},
                                       silence_logs=logging.ERROR)
    client = distributed.Client(cluster, set_as_default=False)
    try:
        measured = interleave({"no trial_resources": _run(client, n),
                               'trial_resources={"gpu": 1}': _run(
                                   client, n, trial_resources={"gpu": 1})}, repeats)
    finally:
        client.close()
        cluster.close()
    print(ratio_table("no-op trials/s, 2 dask workers", measured))


if __name__ == "__main__":
    main(sys.argv[1:])
