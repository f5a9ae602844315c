"""Settle partitions on a Dask cluster: a local one (`--cluster local`) or a running
scheduler (`--scheduler ADDRESS`).

Every partition holds whole persons, so each worker settles whole person-years and
returns a partition's summaries (and, with `--out`, its result rows); the client adds them
up exactly as the single-process run does. Workers read the Parquet files themselves: on
a remote cluster the file's folder must be visible to them under the same path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from medaid.batch.partition import Partition
from medaid.batch.stream import Collector, Outcome, Scenario, settle_partition
from medaid.batch.verify import SAMPLE, EngineDifference
from medaid.core.errors import MedaidError

LOCAL_WORKERS = 2


def _work(part: Partition, scenarios: Sequence[Scenario], with_results: bool,
          threads: int | None, sample: int) -> Outcome:
    try:
        return settle_partition(part, scenarios, with_results, threads, sample)
    except EngineDifference as e:  # as plain text: medaid's errors need not unpickle
        raise EngineDifference(str(e)) from None
    except MedaidError as e:
        raise MedaidError(str(e)) from None


def run_cluster(parts: Sequence[Partition], scenarios: Sequence[Scenario],
                collector: Collector, progress: Callable[[Outcome], None] | None = None,
                scheduler: str | None = None, workers: int = LOCAL_WORKERS,
                sample: int = SAMPLE) -> str:
    """Settle every partition on the cluster; returns a line naming the cluster."""
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is None:
        # One thread per worker process: each partition then settles on one core.
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)
    client = Client(cluster if cluster is not None else scheduler)
    try:
        info = client.scheduler_info()
        n = len(info.get("workers", {}))
        where = f"Dask: {n} workers at {info.get('address', scheduler)}"
        threads = 1 if cluster is not None else None
        shared = client.scatter({"s": list(scenarios)}, broadcast=True)["s"]
        futures = [client.submit(_work, part, shared, collector.sink is not None, threads,
                                 sample, pure=False) for part in parts]
        for future in as_completed(futures):
            outcome = future.result()
            future.release()
            collector.add(outcome)
            if progress:
                progress(outcome)
        return where
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
