"""Household arrays and glibc's malloc.

glibc serves an allocation above its mmap threshold (128 KiB at first, rising to at most 32 MiB)
by mapping fresh pages, unmaps them when it is freed, and gives back the top of its heap once
more than twice that is free; a year allocates the same temporaries again, so it faults their
pages in again. At national 1:1 (31.8 M households, 254 MB arrays) that was 1.06 M page faults
and 53 s of system time in a 143 s run; served from the heap, and the freed memory kept for the
next temporary, it is 151 k faults, 15 s and a 118 s run, for a 5% higher peak (6.55 -> 6.91 GB;
benchmarks/README.md). A full-scale Shangluo replicate (250,000 households, 2 MB arrays) faulted
about 21,000 pages (0.05 s of system time, an eighth of the replicate); kept, 0 to 8,000.

:func:`keep_in_heap` asks glibc for that (``M_MMAP_MAX`` 0, ``M_TRIM_THRESHOLD`` 2 GiB) for the
rest of the process, when a model's household arrays are ``SMALL`` or more. Elsewhere (another
libc, another system) it does nothing. It changes no number, only where the memory comes from.
A process keeps the memory of its largest model until it ends.
"""

from __future__ import annotations

import contextlib
import ctypes
import sys

M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4
"""``mallopt`` parameters (malloc.h)."""
SMALL = 2**20
"""Bytes of a household array (131,072 households) from which the heap keeps freed memory: below
it a model's arrays are small enough for glibc's defaults to serve them from the heap anyway."""
KEEP = 2**31 - 1
"""Free memory at the top of the heap kept for reuse, bytes (``mallopt`` takes an int)."""


def keep_in_heap(array_bytes: int) -> bool:
    """Serve allocations from the heap and keep what is freed, if a model's household arrays are
    ``array_bytes`` (``SMALL`` or more) and this is glibc; returns whether it did."""
    if array_bytes < SMALL or not sys.platform.startswith("linux"):
        return False
    with contextlib.suppress(OSError, AttributeError):
        mallopt = ctypes.CDLL(None).mallopt
        return bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, KEEP))
    return False
