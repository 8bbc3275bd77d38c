"""Keyed random numbers: a draw is a function of what it is for, not of its place in a stream.

Every random number of a replicate is ``f(seed, purpose, key)``: ``seed`` is the replicate's
(from its ``SeedSequence``), ``purpose`` names the draw (``"illness"``, the year, a batch, ...)
and ``key`` is the stable 64-bit key of the household (``Households.key``) or village
(``Villages.key``) it is for. The seed and the purpose fold into one 64-bit number; the key is
mixed into it by the SplitMix64 finalizer (a counter-based generator in the manner of Philox or
Threefry: no state, one hash per number, vectorized over households). So a household's numbers
do not depend on the other households, on their order, on which villages a sample holds, on the
number of workers, or on what else was drawn before: common random numbers hold household by
household.

Keys are stable names: a synthetic village's from its county, stratum and place in the stratum,
a synthetic household's from its village, kind and place in the village (``population.py``), a
register's household from its ``household_id`` (``register.py``).

Where a draw needs a sequence rather than one number per key (a village's share of its stratum's
people, a replicate's uncertain parameters), ``generator`` gives a numpy ``Philox`` generator
keyed by the seed and the purpose.

The numbers are made by the numba kernels of ``compiled.py`` when numba is installed (one pass
over the keys), else by the numpy code here, whole-array pass after pass: the same bits either
way (``kernels.py``: the kernels for national-scale arrays).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
from scipy.special import ndtri

from tuopin.sim.kernels import kernels

MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
"""SplitMix64's increment (2^64 / golden ratio), added before mixing so that 0 is not a fixed point."""
_M1, _M2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
_U1, _U2 = np.uint64(_M1), np.uint64(_M2)
_S30, _S27, _S31, _S11 = (np.uint64(s) for s in (30, 27, 31, 11))
_UNIT = 2.0**-53

Part = int | str
"""A part of a purpose or of a key: a name or a whole number (a year, an index)."""


def mix_int(z: int) -> int:
    """SplitMix64's finalizer on one 64-bit number (the same bits as ``mix``)."""
    z &= MASK
    z = ((z ^ (z >> 30)) * _M1) & MASK
    z = ((z ^ (z >> 27)) * _M2) & MASK
    return z ^ (z >> 31)


def mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64's finalizer, element by element, on a uint64 array (modified in place and returned)."""
    z ^= z >> _S30
    z *= _U1
    z ^= z >> _S27
    z *= _U2
    z ^= z >> _S31
    return z


def _part(part: Part) -> int:
    """A part as a 64-bit number: a whole number as itself, a name by its BLAKE2b digest."""
    if isinstance(part, str):
        return int.from_bytes(hashlib.blake2b(part.encode(), digest_size=8).digest(), "little")
    return int(part) & MASK


def key_of(*parts: Part) -> int:
    """One 64-bit key from its parts, in order (a purpose, a village's name, ...)."""
    h = GOLDEN
    for part in parts:
        h = mix_int(h ^ mix_int(_part(part) + GOLDEN))
    return h


def child_keys(parents: np.ndarray, index: np.ndarray, *parts: Part) -> np.ndarray:
    """Keys of the ``index``-th children of ``parents`` (a household of its village, say), one
    per element: a function of the parent's key, the index and ``parts`` only."""
    salt = np.uint64(key_of(*parts))
    fast = kernels(np.size(index))
    if fast is not None and np.shape(parents) == np.shape(index) and np.ndim(index) == 1:
        return fast.child_keys(parents, index, salt)
    z = index.astype(np.uint64) * np.uint64(GOLDEN)
    z += salt
    z = mix(z)
    z ^= parents.astype(np.uint64)
    return mix(z)


def key_order(keys: np.ndarray) -> np.ndarray:
    """The positions of ``keys`` (uint64) in ascending order, equal keys in their given order:
    ``np.argsort(keys, kind="stable")`` (a radix sort in numba for large arrays: 4x faster)."""
    fast = kernels(len(keys))
    if fast is not None:
        return fast.key_order(np.ascontiguousarray(keys, dtype=np.uint64))
    return np.argsort(keys, kind="stable")


def text_keys(ids: Sequence[str] | np.ndarray, *parts: Part) -> np.ndarray:
    """Keys of names (a register's household ids): each a function of its own text and ``parts``."""
    salt = key_of(*parts)
    return np.fromiter((mix_int(_part(str(i)) ^ salt) for i in ids), dtype=np.uint64, count=len(ids))


class Draws:
    """A replicate's keyed random numbers (see module doc): ``seed`` is its 64-bit seed."""

    def __init__(self, seed: int) -> None:
        self.seed = int(seed) & MASK
        self._purposes: dict[tuple[Part, ...], np.uint64] = {}

    @classmethod
    def from_seed_sequence(cls, seq: np.random.SeedSequence) -> Draws:
        """The keyed draws of a replicate whose seed is ``seq``."""
        return cls(int(seq.generate_state(1, np.uint64)[0]))

    def _purpose(self, purpose: tuple[Part, ...]) -> np.uint64:
        """The seed and the purpose folded into one 64-bit number (cached)."""
        k = self._purposes.get(purpose)
        if k is None:
            k = self._purposes[purpose] = np.uint64(key_of(self.seed, *purpose))
        return k

    def bits(self, keys: np.ndarray, *purpose: Part) -> np.ndarray:
        """64 random bits per key, for ``purpose``."""
        fast = kernels(len(keys))
        if fast is not None:
            return fast.bits(keys, self._purpose(purpose))
        return mix(keys ^ self._purpose(purpose))

    def uniform(self, keys: np.ndarray, *purpose: Part) -> np.ndarray:
        """One uniform number in (0, 1) per key (53 bits), for ``purpose``."""
        fast = kernels(len(keys))
        if fast is not None:
            return fast.uniform(keys, self._purpose(purpose))
        z = self.bits(keys, *purpose)
        z >>= _S11
        u = z.astype(np.float64)
        u += 0.5
        u *= _UNIT
        return u

    def chance(self, keys: np.ndarray, exposed: np.ndarray, rate: float, *purpose: Part) -> np.ndarray:
        """A mask, True with probability ``rate`` for each ``exposed`` key (its ``uniform`` number
        for ``purpose`` is below ``rate``), False for the others: numbers are drawn only for the
        exposed ones (those a shock can hit), which changes none of them."""
        idx = np.flatnonzero(exposed)
        hit = np.zeros(len(exposed), dtype=bool)
        hit[idx[self.uniform(keys[idx], *purpose) < rate]] = True
        return hit

    def normal(self, keys: np.ndarray, *purpose: Part) -> np.ndarray:
        """One standard normal number per key, for ``purpose`` (the inverse normal CDF of ``uniform``)."""
        fast = kernels(len(keys))
        if fast is not None:
            return fast.normal(keys, self._purpose(purpose))
        u = self.uniform(keys, *purpose)
        return ndtri(u, out=u)

    def generator(self, *purpose: Part) -> np.random.Generator:
        """A numpy generator (Philox) keyed by the seed and ``purpose``, for a sequence of draws."""
        return np.random.Generator(np.random.Philox(key=key_of(self.seed, *purpose)))
