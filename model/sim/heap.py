"""Large household arrays and glibc's malloc.

glibc serves an allocation above its mmap threshold (at most 32 MiB) by mapping fresh pages and
unmaps them when it is freed. Above about 4 million households every household array and every
temporary of the year is that large, so each year faults all their pages in again. At national
1:1 (31.8 M households, 254 MB arrays) that was 1.06 M page faults and 53 s of system time in a
143 s run; served from the heap, and the freed memory kept for the next temporary, it is 151 k
faults, 15 s and a 118 s run, for a 5% higher peak (6.55 -> 6.91 GB; benchmarks/README.md).

:func:`keep_in_heap` asks glibc for that (``M_MMAP_MAX`` 0, ``M_TRIM_THRESHOLD`` 2 GiB) for the
rest of the process, when the arrays are that large. Elsewhere (another libc, another system) it
does nothing. It changes no number, only where the memory comes from.
"""

from __future__ import annotations

import contextlib
import ctypes
import sys

M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4
"""``mallopt`` parameters (malloc.h)."""
LARGE = 32 * 2**20
"""glibc's largest mmap threshold: arrays above it are mapped afresh each time."""
KEEP = 2**31 - 1
"""Free memory at the top of the heap kept for reuse, bytes (``mallopt`` takes an int)."""


def keep_in_heap(array_bytes: int) -> bool:
    """Serve allocations from the heap and keep what is freed, if arrays of ``array_bytes`` are
    above glibc's mmap threshold and this is glibc; returns whether it did."""
    if array_bytes <= LARGE or not sys.platform.startswith("linux"):
        return False
    with contextlib.suppress(OSError, AttributeError):
        mallopt = ctypes.CDLL(None).mallopt
        return bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, KEEP))
    return False
