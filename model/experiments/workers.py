"""Local worker processes: started once, reused by every parallel run of this process, and never
outliving the command that started them.

Replicates (``tuopin run``, each variant of ``tuopin compare``), sweep chunks and calibration
rounds all take the same pool, so starting the workers is paid once per process, not once per
call (the pool is stopped at exit). Where the platform allows and this process has no other
thread yet, workers are forked: they start with tuopin, numpy, pandas and Mesa already imported.
Otherwise they are spawned and each first imports them (about 2.4 s of CPU time a worker).
The native threads already running here (OpenBLAS's, pyarrow's jemalloc) handle fork with
their own at-fork handlers; CPython 3.12 counts them in its "multi-threaded" DeprecationWarning.
Which worker runs what never changes a number: every job carries its own seeds.

Each worker, when it starts, asks Linux to kill it when its parent dies (``PR_SET_PDEATHSIG``
via ``prctl``; elsewhere a thread watches the parent), and checks that its parent is still the
process that started it (it could have died in between). Workers ignore Ctrl-C: the parent
handles it. On an error, Ctrl-C or SIGTERM in the parent the pool's processes are terminated at
once instead of finishing their work, and the next call starts a fresh pool (:func:`worker_pool`).
So neither SIGTERM nor SIGKILL of ``tuopin run``, ``compare`` or ``sweep`` leaves processes behind.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

PR_SET_PDEATHSIG = 1
"""``prctl`` option: the signal a process gets when its parent thread ends (linux/prctl.h)."""
WATCH_SECONDS = 1.0
"""How often the parent watch checks, where ``prctl`` is not available."""
HELD = {signal.SIGINT, signal.SIGTERM}
"""Signals held back while workers start: a worker gets them only once its own handlers are set."""

_pool: ProcessPoolExecutor | None = None
_size = 0


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(WATCH_SECONDS)
    os._exit(1)


def bind_to_parent(parent: int) -> None:
    """Worker initializer: end this process when ``parent`` (the command) ends; ignore Ctrl-C;
    end at once on SIGTERM (a forked worker would otherwise inherit the command's handler)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, HELD)  # a signal held since the fork acts now
    bound = False
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            bound = libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    if os.getppid() != parent:  # the parent died before the binding took
        os._exit(1)
    if not bound:
        threading.Thread(target=_watch, args=(parent,), daemon=True).start()


def start_method() -> str:
    """``fork`` when it is safe (available, and this process runs a single thread), else ``spawn``."""
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return "fork"
    return "spawn"


def start(workers: int) -> ProcessPoolExecutor:
    """The shared pool of ``workers`` processes, running (started on first use; replaced if it
    broke or another size is asked for)."""
    global _pool, _size
    if _pool is not None and (_size != workers or getattr(_pool, "_broken", False)):
        _pool.shutdown(wait=True, cancel_futures=True)
        _pool = None
    if _pool is None:
        # a first job makes a forked pool start every worker now, before threads appear here
        # (the pool's own, a progress bar's); a spawned pool starts them as jobs arrive. Ctrl-C
        # and SIGTERM are held meanwhile: a worker forked with the command's handler gets them
        # only after bind_to_parent replaced it; this process gets them once the workers exist.
        held = signal.pthread_sigmask(signal.SIG_BLOCK, HELD)
        try:
            _pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(start_method()),
                                        initializer=bind_to_parent, initargs=(os.getpid(),))
            _size = workers
            first = _pool.submit(int)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
        first.result()
    return _pool


def prestart(workers: int, runs: int) -> None:
    """Get ready for a job of ``runs`` replicates: load the compiled kernels if it repays them
    (``kernels.prepare``), then start the shared pool of ``workers`` processes now, if more than
    one, before threads appear in this process (a progress bar's monitor): it can then be forked
    (see the module doc), and its workers start with the kernels."""
    from tuopin.sim import kernels

    kernels.prepare(runs)
    if workers > 1:
        start(workers)


def _terminate() -> None:
    """Stop the shared pool at once: its processes are terminated, not waited for."""
    global _pool
    pool, _pool = _pool, None
    if pool is None:
        return
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        with contextlib.suppress(Exception):
            proc.terminate()
    for proc in processes:
        with contextlib.suppress(Exception):
            proc.join(5)


@contextlib.contextmanager
def worker_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """The shared pool of ``workers`` processes bound to this one. Leaving the block normally keeps
    it for the next call; leaving it by an exception (Ctrl-C, SIGTERM, an error) terminates them."""
    pool = start(workers)
    try:
        yield pool
    except BaseException:
        _terminate()
        raise


@atexit.register
def _stop() -> None:
    if _pool is not None:
        _pool.shutdown(wait=True, cancel_futures=True)
