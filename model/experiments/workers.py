"""Local worker processes, started once and reused by every parallel run of this process.

Replicates (``tuopin run``, each variant of ``tuopin compare``), sweep chunks and calibration
rounds all take the same pool, so starting the workers is paid once per process, not once per
call (the pool is stopped at exit). Where the platform allows and this process has no other
thread yet, workers are forked: they start with tuopin, numpy, pandas and Mesa already imported.
Otherwise they are spawned and each first imports them (about 2.4 s of CPU time a worker).
The native threads already running here (OpenBLAS's, pyarrow's jemalloc) handle fork with
their own at-fork handlers; CPython 3.12 counts them in its "multi-threaded" DeprecationWarning.
Which worker runs what never changes a number: every job carries its own seeds.
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
from concurrent.futures import ProcessPoolExecutor

_pool: ProcessPoolExecutor | None = None
_size = 0


def _ignore_sigint() -> None:
    """Workers leave Ctrl-C to the main process, which stops the run cleanly."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def start_method() -> str:
    """``fork`` when it is safe (available, and this process runs a single thread), else ``spawn``."""
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return "fork"
    return "spawn"


def pool(workers: int) -> ProcessPoolExecutor:
    """The shared pool of ``workers`` processes, running (started on first use; replaced if it
    broke or another size is asked for)."""
    global _pool, _size
    if _pool is not None and (_size != workers or getattr(_pool, "_broken", False)):
        _pool.shutdown(wait=True, cancel_futures=True)
        _pool = None
    if _pool is None:
        _pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(start_method()),
                                    initializer=_ignore_sigint)
        _size = workers
        # a first job makes a forked pool start every worker now, before threads appear here
        # (the pool's own, a progress bar's); a spawned pool starts them as jobs arrive
        _pool.submit(int).result()
    return _pool
