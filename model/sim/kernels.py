"""Which code makes the household passes that have a compiled twin: numba's or numpy's.

A few passes over every household (the keyed draws, the set-up's key order, the funding queues'
sorts, the per-village and per-county tallies) have a numba kernel in ``compiled.py`` that gives
exactly the numbers of the numpy code beside its caller, in one pass instead of several. Loading
numba and its cached kernels costs a process about 0.6 s CPU (the first run on a fresh install
compiles them: a few seconds), so it is done only where it pays:

- a pass over ``LARGE`` households or more (a national population: 3.2 M households at 1:10,
  31.8 M at 1:1) loads them: such a run repays the start-up on its own;
- a job of ``WORTH_RUNS`` replicates or more (a sweep, a calibration, a long ``tuopin run``)
  loads them before it starts its workers (``prepare``), which inherit them; a sweep's chunk of
  that many runs loads them on a worker that did not (a remote Dask worker);
- once loaded, passes from ``SMALL`` keys take them (a Shangluo replicate: about 23% faster).

``TUOPIN_NUMBA=0`` in the environment or ``use_compiled(False)`` keeps numpy's passes. The numbers
are the same either way (``tests/test_compiled.py``).
"""

from __future__ import annotations

import os
from types import ModuleType

import numpy as np

LARGE = 2**20
"""Households (array length) from which a pass loads the numba kernels."""
SMALL = 2**12
"""Keys (array length) from which a pass takes the kernels once they are loaded."""
WORTH_RUNS = 16
"""Replicates from which a job loads the kernels before it starts (``prepare``): about twice the
break-even measured at Shangluo full scale (loading 0.6 s CPU, each replicate 0.09 s faster:
0.38 -> 0.29 s; benchmarks/README.md)."""

_chosen: list[tuple[ModuleType | None, int]] = []
"""``compiled.py`` once loaded (or None: numba missing or not wanted) and the length from which it
is used; empty until first asked."""


def use_compiled(on: bool, smallest: int = SMALL) -> bool:
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
    if not _chosen:
        if n < LARGE:
            return None  # the usual case, decided without importing anything
        use_compiled(wanted())
    module, smallest = _chosen[0]
    return module if n >= smallest else None


def wanted() -> bool:
    """Whether the environment allows the kernels (``TUOPIN_NUMBA`` is not ``0``)."""
    return os.environ.get("TUOPIN_NUMBA", "1") != "0"


def prepare(runs: int) -> bool:
    """Before a job of ``runs`` replicates starts its workers: from ``WORTH_RUNS`` on, load the
    kernels now (unless ``TUOPIN_NUMBA=0``), each one's code made ready by a small run, so that
    workers forked from this process start with them. Returns whether they are in use."""
    if runs >= WORTH_RUNS and wanted() and not _chosen:
        if use_compiled(True, 0):
            from tuopin.sim.model import PovertyModel

            PovertyModel(None, rng=0, overrides={"scale": 0.02}).run()  # every kernel, at every size
        use_compiled(_chosen[0][0] is not None)
    return bool(_chosen) and _chosen[0][0] is not None


def group_sum(mask: np.ndarray, group: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """Sum of ``weights`` per group (``0 <= group < n``) over the households ``mask`` selects:
    ``np.bincount`` of the selected ones, each sum added in household order."""
    fast = kernels(len(mask))
    if fast is not None:
        return fast.group_sum(mask, group, weights, n)
    return np.bincount(np.compress(mask, group), weights=np.compress(mask, weights), minlength=n)
