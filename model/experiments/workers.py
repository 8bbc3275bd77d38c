"""Worker processes that never outlive the command that started them.

Each worker, when it starts, asks Linux to kill it when its parent dies (``PR_SET_PDEATHSIG``
via ``prctl``; elsewhere a thread watches the parent), and checks that its parent is still the
process that started it (it could have died in between). Workers ignore Ctrl-C: the parent
handles it. On an error, Ctrl-C or SIGTERM in the parent the pool's processes are terminated at
once instead of finishing their work (:func:`worker_pool`). So neither SIGTERM nor SIGKILL of
``tuopin run``, ``compare`` or ``sweep`` leaves processes behind.
"""

from __future__ import annotations

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


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(WATCH_SECONDS)
    os._exit(1)


def bind_to_parent(parent: int) -> None:
    """Worker initializer: end this process when ``parent`` (the command) ends; ignore Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    bound = False
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            bound = libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    if os.getppid() != parent:  # the parent died before the binding took
        os._exit(1)
    if not bound:
        threading.Thread(target=_watch, args=(parent,), daemon=True).start()


@contextlib.contextmanager
def worker_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """A pool of ``workers`` spawned processes bound to this one. Leaving the block normally waits
    for them; leaving it by an exception (Ctrl-C, SIGTERM, an error) terminates them at once."""
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=bind_to_parent, initargs=(os.getpid(),))
    try:
        yield pool
    except BaseException:
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in processes:
            with contextlib.suppress(Exception):
                proc.terminate()
        for proc in processes:
            with contextlib.suppress(Exception):
                proc.join(5)
        raise
    pool.shutdown(wait=True)
