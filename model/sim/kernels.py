"""Which code makes the household passes that have a compiled twin: numba's or numpy's.

A few passes over every household (the keyed draws, the set-up's key order, the per-village and
per-county tallies) have a numba kernel in ``compiled.py`` that gives exactly the numbers of the
numpy code beside its caller, in one pass instead of several. The kernels pay where the arrays
outgrow the caches (a national population: 3.2 M households at 1:10, 31.8 M at 1:1); below
``LARGE`` households numpy is about as fast, and a process does not pay numba's start-up (about
1.4 s CPU: its import and its code generator). So a pass over ``LARGE`` households or more takes
the kernels when numba is installed, unless ``TUOPIN_NUMBA=0`` is in the environment or
``use_compiled(False)`` was called; the numbers are the same either way (``tests/test_compiled.py``).
"""

from __future__ import annotations

import os
from types import ModuleType

import numpy as np

LARGE = 2**20
"""Households (array length) from which a pass takes the numba kernels."""

_chosen: list[tuple[ModuleType | None, int]] = []
"""``compiled.py`` once loaded (or None: numba missing or not wanted) and the length from which it
is used; empty until first asked."""


def use_compiled(on: bool, smallest: int = LARGE) -> bool:
    """Use the numba kernels (``on``, when numba is installed) for passes over ``smallest`` or
    more households from now on, numpy for the others; returns whether the kernels are in use.
    The numbers are the same either way."""
    _chosen.clear()
    module: ModuleType | None = None
    if on:
        try:
            from tuopin.sim import compiled as module
        except ImportError:  # numba not installed: numpy's passes
            module = None
    _chosen.append((module, smallest))
    return module is not None


def kernels(n: int) -> ModuleType | None:
    """The numba kernels for a pass over ``n`` households, or None for numpy. numba is imported
    by the first large pass (``TUOPIN_NUMBA=0``: never), so ``import tuopin`` does not load it."""
    if n < LARGE and (not _chosen or _chosen[0][1] >= LARGE):
        return None  # the usual case, decided without importing anything
    if not _chosen:
        use_compiled(os.environ.get("TUOPIN_NUMBA", "1") != "0")
    module, smallest = _chosen[0]
    return module if n >= smallest else None


def group_sum(mask: np.ndarray, group: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """Sum of ``weights`` per group (``0 <= group < n``) over the households ``mask`` selects:
    ``np.bincount`` of the selected ones, each sum added in household order."""
    fast = kernels(len(mask))
    if fast is not None:
        return fast.group_sum(mask, group, weights, n)
    return np.bincount(np.compress(mask, group), weights=np.compress(mask, weights), minlength=n)
