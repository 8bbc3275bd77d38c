"""Local worker processes, started once and reused by every parallel run of this process.

A worker is a fresh ("spawn") Python process that first imports tuopin, numpy, pandas and Mesa:
about 2.4 s of CPU time each. Replicates (``tuopin run``, each variant of ``tuopin compare``),
sweep chunks and calibration rounds all take the same pool, so that cost is paid once per worker
per process, not once per call (the pool is stopped at exit). Which worker runs what never changes a number (every job carries
its own seeds).
"""

from __future__ import annotations

import multiprocessing
import signal
from concurrent.futures import ProcessPoolExecutor

_pool: ProcessPoolExecutor | None = None
_size = 0


def _ignore_sigint() -> None:
    """Workers leave Ctrl-C to the main process, which stops the run cleanly."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def pool(workers: int) -> ProcessPoolExecutor:
    """The shared pool of ``workers`` processes (started on first use; replaced if it broke or
    another size is asked for)."""
    global _pool, _size
    if _pool is not None and (_size != workers or getattr(_pool, "_broken", False)):
        _pool.shutdown(wait=True, cancel_futures=True)
        _pool = None
    if _pool is None:
        _pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                    initializer=_ignore_sigint)
        _size = workers
    return _pool

