"""Which code makes the household passes that have a compiled twin: numba's or numpy's.

A few passes over every household (the keyed draws, the per-village and per-county tallies) have
a numba kernel in ``compiled.py`` that gives exactly the numbers of the numpy code beside its
caller, in one pass instead of several. The kernels are used when numba is installed, unless
``TUOPIN_NUMBA=0`` is in the environment or ``use_compiled(False)`` was called; the results are
the same either way (``tests/test_compiled.py``).
"""

from __future__ import annotations

import os
from types import ModuleType

import numpy as np

_chosen: list[ModuleType | None] = []
"""``compiled.py`` once loaded (or None: numba missing or not wanted); empty until first asked."""


def use_compiled(on: bool) -> bool:
    """Use the numba kernels (``on``, when numba is installed) or numpy from now on; returns
    whether the kernels are in use. The numbers are the same either way."""
    _chosen.clear()
    module: ModuleType | None = None
    if on:
        try:
            from tuopin.sim import compiled as module
        except ImportError:  # numba not installed: numpy's passes
            module = None
    _chosen.append(module)
    return module is not None


def kernels() -> ModuleType | None:
    """The numba kernels, or None for numpy. Decided on first use (``TUOPIN_NUMBA=0`` says
    numpy), so ``import tuopin`` does not load numba."""
    if not _chosen:
        use_compiled(os.environ.get("TUOPIN_NUMBA", "1") != "0")
    return _chosen[0]


def group_sum(mask: np.ndarray, group: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """Sum of ``weights`` per group (``0 <= group < n``) over the households ``mask`` selects:
    ``np.bincount`` of the selected ones, each sum added in household order."""
    fast = kernels()
    if fast is not None:
        return fast.group_sum(mask, group, weights, n)
    return np.bincount(np.compress(mask, group), weights=np.compress(mask, weights), minlength=n)
