"""Sweeps on Dask: the settings its workers run with, tuopin's own LocalCluster, and the chunks
handed to a cluster and gathered back (the ``--dask`` and ``--scheduler`` backends of a sweep).

Dask is imported only here, and only when a sweep asks for it.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from tuopin.errors import UserError, short

if TYPE_CHECKING:
    import pandas as pd
    from distributed import Client, LocalCluster

    from tuopin.experiments.sweep_spec import SweepPlan

SETTINGS_FILE = Path(__file__).with_name("dask.yaml")
"""The Dask settings for tuopin's workers (``DASK_CONFIG`` for workers started by hand)."""
START_METHOD = "distributed.worker.multiprocessing-method"
WORKER_START_TIMEOUT = 120
"""Seconds a local worker may take to join the cluster."""


def settings() -> dict[str, Any]:
    """The settings of ``dask.yaml`` as dotted Dask keys (``distributed.admin.tick.interval``: ``1s``)."""
    flat: dict[str, Any] = {}

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(f"{prefix}.{key}" if prefix else str(key), value)
        else:
            flat[prefix] = node

    walk("", yaml.safe_load(SETTINGS_FILE.read_text(encoding="utf-8")))
    return flat


def local_cluster(workers: int) -> LocalCluster:
    """A Dask LocalCluster of ``workers`` one-thread worker processes with :func:`settings`.

    Its workers are forked, so they start with tuopin already imported (spawned ones import
    Dask and tuopin again: about 2.4 s CPU each). The cluster forks them while it is being
    built, when this process's own thread is only waiting for it, and one at a time: each
    worker's nanny forks from a thread of its own, and a fork hook that lets another thread run
    mid-fork makes two at once fail. filelock 4's does, refusing the second fork ("os.fork is
    unsafe while filelock is changing descriptor ownership"): solara loads it, so a sweep run in
    the process that showed the dashboard failed to start its workers.
    """
    import dask
    from dask.distributed import LocalCluster

    with dask.config.set({**settings(), START_METHOD: "fork"}):
        cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)
        try:
            for n in range(2, workers + 1):
                cluster.scale(n)
                cluster.wait_for_workers(n, timeout=WORKER_START_TIMEOUT)
        except BaseException:
            cluster.close()
            raise
        return cluster


@contextmanager
def dask_client(workers: int, scheduler: str | None) -> Iterator[Client]:
    """A client of the Dask ``scheduler`` at that address, or of a new :func:`local_cluster` of
    ``workers`` processes; closed (and the local cluster shut down) on leaving."""
    from dask.distributed import Client

    if scheduler:
        try:
            client = Client(scheduler)
        except (OSError, ValueError) as exc:  # unreachable, refused, or not an address
            raise UserError(f"cannot reach the Dask scheduler: {short(exc, 200)}", key="--scheduler") from None
        with client:
            yield client
        return
    with local_cluster(workers) as cluster, Client(cluster) as client:
        yield client


def chunks_on_dask(plan: SweepPlan, todo: list[int], client: Client) -> Generator[tuple[int, pd.DataFrame], None, None]:
    """Run the chunks ``todo`` on the cluster of ``client``, two per worker thread in flight;
    yields ``(chunk, rows)`` as they finish (and cancels the rest if it is closed early)."""
    from dask.distributed import as_completed

    from tuopin.experiments.sweep import chunk_job, run_chunk

    futures: dict[Any, int] = {}
    try:
        window = 2 * max(1, sum(client.nthreads().values()))
        queue = iter(todo)
        for i in queue:
            futures[client.submit(run_chunk, chunk_job(plan, i), pure=False)] = i
            if len(futures) >= window:
                break
        pending = as_completed(list(futures))
        for fut in pending:
            i = futures.pop(fut)
            frame = fut.result()
            fut.release()
            yield i, frame
            nxt = next(queue, None)
            if nxt is not None:
                new = client.submit(run_chunk, chunk_job(plan, nxt), pure=False)
                futures[new] = nxt
                pending.add(new)
    finally:
        if futures:
            client.cancel(list(futures))
