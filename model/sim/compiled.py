"""Numba kernels for the keyed draws, the masked tallies and the large sorts: the numpy code's numbers.

``keyed.py`` computes a draw in several whole-array passes (the SplitMix64 finalizer alone is
eight, with temporaries), and a tally of the households a mask selects first gathers them; here
each number is made in registers and each household read once, which is what counts when the
arrays no longer fit the caches (a national population). The set-up's key order and the large
funding queues are sorted by a radix sort, stable, so in the stable argsort's order. Every kernel
gives exactly the numbers of its numpy counterpart (``tests/test_compiled.py`` checks them bit for
bit); ``kernels.py`` says which is used.

Compiled once per machine and cached beside this file (numba's ``cache=True``), so only the
first run on a fresh install compiles (about 2 s).

The inverse normal CDF is Cephes' ``ndtri`` (S. L. Moshier, Cephes Math Library 2.1, 1989), the
algorithm and coefficients ``scipy.special.ndtri`` evaluates, operation for operation: the same
rounding at every step, so the same bits.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from tuopin.sim.tally import CODES, MARKS

_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_S11, _S27, _S30, _S31 = np.uint64(11), np.uint64(27), np.uint64(30), np.uint64(31)
_UNIT = 2.0**-53

# Cephes ndtri: w + w^3 P0(w^2)/Q0(w^2) for |y - 1/2| < 1/2 - exp(-2); else in z = sqrt(-2 log y),
# P1/Q1 for z < 8 and P2/Q2 beyond (Q's leading coefficient 1 omitted)
_P0 = np.array([-5.99633501014107895267e1, 9.80010754185999661536e1, -5.66762857469070293439e1,
                1.39312609387279679503e1, -1.23916583867381258016e0])
_Q0 = np.array([1.95448858338141759834e0, 4.67627912898881538453e0, 8.63602421390890590575e1,
                -2.25462687854119370527e2, 2.00260212380060660359e2, -8.20372256168333339912e1,
                1.59056225126211695515e1, -1.18331621121330003142e0])
_P1 = np.array([4.05544892305962419923e0, 3.15251094599893866154e1, 5.71628192246421288162e1,
                4.40805073893200834700e1, 1.46849561928858024014e1, 2.18663306850790267539e0,
                -1.40256079171354495875e-1, -3.50424626827848203418e-2, -8.57456785154685413611e-4])
_Q1 = np.array([1.57799883256466749731e1, 4.53907635128879210584e1, 4.13172038254672030440e1,
                1.50425385692907503408e1, 2.50464946208309415979e0, -1.42182922854787788574e-1,
                -3.80806407691578277194e-2, -9.33259480895457427372e-4])
_P2 = np.array([3.23774891776946035970e0, 6.91522889068984211695e0, 3.93881025292474443415e0,
                1.33303460815807542389e0, 2.01485389549179081538e-1, 1.23716634817820021358e-2,
                3.01581553508235416007e-4, 2.65806974686737550832e-6, 6.23974539184983293730e-9])
_Q2 = np.array([6.02427039364742014255e0, 3.67983563856160859403e0, 1.37702099489081330271e0,
                2.16236993594496635890e-1, 1.34204006088543189037e-2, 3.28014464682127739104e-4,
                2.89247864745380683936e-6, 6.79019408009981274425e-9])
_SQRT2PI = 2.50662827463100050242e0
_EXP_M2 = 0.13533528323661269189


@njit(inline="always")
def _mix(z: np.uint64) -> np.uint64:
    z ^= z >> _S30
    z *= _M1
    z ^= z >> _S27
    z *= _M2
    return z ^ (z >> _S31)


@njit(inline="always")
def _unit(z: np.uint64) -> float:
    return (np.float64(z >> _S11) + 0.5) * _UNIT


@njit(inline="always")
def _polevl(x: float, c: np.ndarray) -> float:
    a = c[0]
    for i in range(1, len(c)):
        a = a * x + c[i]
    return a


@njit(inline="always")
def _p1evl(x: float, c: np.ndarray) -> float:
    a = x + c[0]
    for i in range(1, len(c)):
        a = a * x + c[i]
    return a


@njit(inline="always")
def _central(y0: float) -> float:
    """``_ndtri``'s central branch, for exp(-2) < y0 <= 1 - exp(-2) (computed for any y0: no branch)."""
    y = y0 - 0.5
    y2 = y * y
    x = y + y * (y2 * _polevl(y2, _P0) / _p1evl(y2, _Q0))
    return x * _SQRT2PI


@njit(inline="always")
def _ndtri(y0: float) -> float:
    """``scipy.special.ndtri`` for 0 <= y0 <= 1 (a uniform draw is 1.0 once in 2^53: its top
    53 bits all set, plus a half, round up)."""
    if y0 == 0.0:
        return -math.inf
    if y0 == 1.0:
        return math.inf
    y, negate = y0, True
    if y > 1.0 - _EXP_M2:
        y, negate = 1.0 - y, False
    if y > _EXP_M2:
        return _central(y)
    x = math.sqrt(-2.0 * math.log(y))
    x0 = x - math.log(x) / x
    z = 1.0 / x
    if x < 8.0:
        x1 = z * _polevl(z, _P1) / _p1evl(z, _Q1)
    else:
        x1 = z * _polevl(z, _P2) / _p1evl(z, _Q2)
    x = x0 - x1
    return -x if negate else x


@njit(cache=True, nogil=True)
def bits(keys: np.ndarray, salt: np.uint64) -> np.ndarray:
    """``keyed.mix(keys ^ salt)``."""
    out = np.empty(len(keys), dtype=np.uint64)
    for i in range(len(keys)):
        out[i] = _mix(keys[i] ^ salt)
    return out


@njit(cache=True, nogil=True)
def uniform(keys: np.ndarray, salt: np.uint64) -> np.ndarray:
    """``Draws.uniform``: the top 53 bits of ``bits``, centred in (0, 1)."""
    out = np.empty(len(keys))
    for i in range(len(keys)):
        out[i] = _unit(_mix(keys[i] ^ salt))
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def normal(keys: np.ndarray, salt: np.uint64) -> np.ndarray:
    """``Draws.normal``: ``ndtri`` of ``uniform``. In two passes: first every key's uniform and
    the central branch, which 73% of them take, in a loop without branches (the compiler
    vectorizes it); then ``_ndtri`` of the others (the tails: logarithms, one number at a time).
    The same operations on every number as ``_ndtri`` alone: the same bits, 1.35x faster
    (national 1:5, 6.8 M keys: 24.9 -> 18.4 ns a draw)."""
    n = len(keys)
    out = np.empty(n)
    tail = np.empty(n, dtype=np.bool_)
    for i in range(n):
        y = _unit(_mix(keys[i] ^ salt))
        central = (y > _EXP_M2) & (y <= 1.0 - _EXP_M2)
        x = _central(y)
        tail[i] = not central
        out[i] = x if central else y
    for i in range(n):
        if tail[i]:
            out[i] = _ndtri(out[i])
    return out


@njit(cache=True, nogil=True)
def child_keys(parents: np.ndarray, index: np.ndarray, salt: np.uint64) -> np.ndarray:
    """``keyed.child_keys``: ``mix(mix(index * GOLDEN + salt) ^ parent)``."""
    out = np.empty(len(index), dtype=np.uint64)
    for i in range(len(index)):
        out[i] = _mix(_mix(np.uint64(index[i]) * _GOLDEN + salt) ^ np.uint64(parents[i]))
    return out


@njit(cache=True, nogil=True)
def group_sum(mask: np.ndarray, group: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """``np.bincount(group[mask], weights=weights[mask], minlength=n)``: the same sums, each
    added in household order (as ``bincount`` does), without gathering the selected ones."""
    out = np.zeros(n)
    for i in range(len(mask)):
        if mask[i]:
            out[group[i]] += weights[i]
    return out


@njit(cache=True, nogil=True)
def _radix_order(k: np.ndarray) -> np.ndarray:
    """The stable ascending order of the uint64 ``k`` (overwritten): an LSD radix sort by bytes,
    the 8 bytes' counts taken in one pass, a byte all keys share skipped. A stable sort, so equal
    keys keep their positions' order."""
    n = len(k)
    byte = np.uint64(255)
    counts = np.zeros((8, 257), dtype=np.int64)
    for i in range(n):
        z = k[i]
        for b in range(8):
            counts[b, ((z >> np.uint64(8 * b)) & byte) + 1] += 1
    order, spare = np.arange(n), np.empty(n, dtype=np.int64)
    k_spare = np.empty(n, dtype=np.uint64)
    for b in range(8):
        start = counts[b]
        if n == 0 or start[((k[0] >> np.uint64(8 * b)) & byte) + 1] == n:
            continue  # every key has this byte: the order stays
        for d in range(256):
            start[d + 1] += start[d]
        s = np.uint64(8 * b)
        for i in range(n):
            d = (k[i] >> s) & byte
            at = start[d]
            start[d] = at + 1
            spare[at] = order[i]
            k_spare[at] = k[i]
        order, spare = spare, order
        k, k_spare = k_spare, k
    return order


@njit(cache=True, nogil=True)
def key_order(keys: np.ndarray) -> np.ndarray:
    """``np.argsort(keys, kind="stable")`` of uint64 keys (31.8 M keys: 2.2 s against 9.3 s)."""
    return _radix_order(keys.copy())


@njit(cache=True, nogil=True)
def _sortable(x: np.ndarray) -> tuple[np.ndarray, np.uint64, np.uint64]:
    """Each float64's bits made to sort as unsigned integers in the order of the values (negatives'
    bits inverted, positives' sign bit set; -0.0 as 0.0, which numpy's sort holds equal), with
    their smallest and largest."""
    bits = x.view(np.uint64)
    k = np.empty(len(x), dtype=np.uint64)
    top = np.uint64(1) << np.uint64(63)
    lo, hi = ~np.uint64(0), np.uint64(0)
    for i in range(len(x)):
        if x[i] == 0.0:
            z = top
        elif bits[i] & top:
            z = ~bits[i]
        else:
            z = bits[i] | top
        k[i] = z
        lo, hi = min(lo, z), max(hi, z)
    return k, lo, hi


@njit(cache=True, nogil=True)
def float_order(x: np.ndarray) -> np.ndarray:
    """``np.argsort(x, kind="stable")`` of float64 values without NaN: ``_radix_order`` of ``_sortable``."""
    return _radix_order(_sortable(x)[0])


@njit(cache=True, nogil=True)
def front_order(x: np.ndarray, first: int) -> np.ndarray:
    """``np.argsort(x, kind="stable")[:first]`` of float64 values without NaN, for 0 < first < len(x),
    as ``funding.smallest_first`` makes it: the ``first``-th smallest value (found in one of 2^16
    bins of equal width over the values' ``_sortable`` bits, then among that bin's few), the values
    below it and the earliest of those equal to it, in position order, then ``_radix_order``."""
    n = len(x)
    k, lo, hi = _sortable(x)
    shift = np.uint64(0)
    while ((hi - lo) >> shift) >= np.uint64(65536):
        shift += np.uint64(1)
    counts = np.zeros(65536, dtype=np.int64)
    for i in range(n):
        counts[np.int64((k[i] - lo) >> shift)] += 1
    b, below = 0, 0
    while below + counts[b] < first:
        below += counts[b]
        b += 1
    inbin, j = np.empty(counts[b] + 1, dtype=np.uint64), 0
    edge = np.uint64(b)
    for i in range(n):  # each key written, kept if in the bin: no branch to mispredict
        inbin[j] = k[i]
        j += ((k[i] - lo) >> shift) == edge
    inbin = inbin[:j]
    inbin.sort()
    kth = inbin[first - below - 1]
    ties = first - below - np.searchsorted(inbin, kth)  # how many equal to it the front takes: the earliest
    front, front_keys, j = np.empty(first + 1, dtype=np.int64), np.empty(first + 1, dtype=np.uint64), 0
    for i in range(n):
        z = k[i]
        take = (z < kth) | ((z == kth) & (ties > 0))
        front[j], front_keys[j] = i, z
        j += take
        ties -= (z == kth) & take
        if j == first:
            break
    front, front_keys = front[:first], front_keys[:first]
    return front[_radix_order(front_keys)]


@njit(cache=True, nogil=True)
def tally(county: np.ndarray, status: np.ndarray, missed: np.ndarray, wrongly: np.ndarray, exited: np.ndarray,
          paper: np.ndarray, relapsed: np.ndarray, entered: np.ndarray, lifted: np.ndarray, listed: np.ndarray,
          flagged: np.ndarray, helped: np.ndarray, real: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``tally.count``'s two weighted bincounts, by county and code and by marks, in one pass:
    each household's code made in registers, its real people added in household order."""
    people = np.zeros(n * CODES)
    marked = np.zeros(MARKS)
    for i in range(len(county)):
        code = ((np.int64(status[i]) * 2 + missed[i]) * 2 + wrongly[i]) * 5
        code += exited[i] + paper[i] + 3 * relapsed[i] + 4 * entered[i]
        people[np.int64(county[i]) * CODES + code] += real[i]
        marked[lifted[i] + 2 * listed[i] + 4 * flagged[i] + 8 * helped[i]] += real[i]
    return people, marked
