"""Money: the year's budget by source, batches drawing on it in priority order, carry-over.

Rules (stated once, here):

* Each source's amount for the year (real yuan), times ``funding.multiplier``, goes into a
  pool: the batch it is earmarked to, or the general pool. Costs are real yuan too (a simulated
  household at its sampling weight, see ``loop.py``).
* A batch spends its own earmarked pool first, then the general pool. Spending never exceeds
  what is in the pools: a household is funded only if its whole cost fits.
* In priority order (lowest number first), batches first pay the recurring costs of households
  already under support (commitments), then enrol new households, in the batch's targeting
  order, until capacity (people) or money runs out. A household is funded whole or not at all,
  and the queue stops at the first household that does not fit.
* At year end a share ``carryover_share`` of what is left in each pool is carried into the same
  pool next year; the rest lapses (returned to the treasury).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, TypeVar

import numpy as np

from tuopin.sim.kernels import kernels

if TYPE_CHECKING:
    from tuopin.scenario.schema import Funding
    from tuopin.sim.model import PovertyModel

GENERAL = "general"
RANDOM = "random"
"""The lottery targeting key (``queue_keys``)."""


class Funded(Protocol):
    """What draws on the year's pools for new units, in priority order: a batch (households) or
    village infrastructure (villages)."""

    @property
    def name(self) -> str:
        """The pool key it spends under (and its earmark name)."""

    @property
    def priority(self) -> int:
        """Funding order: lowest first."""

    def fund_new(self, m: PovertyModel) -> np.ndarray:
        """Fund this year's new units within capacity and money; returns their indices."""


T = TypeVar("T")


def priority_order(items: Sequence[T], priorities: Sequence[int]) -> list[T]:
    """Items in funding order: by priority (lowest first), ties in the given order."""
    ranked = sorted(range(len(items)), key=lambda i: (priorities[i], i))
    return [items[i] for i in ranked]


class Ledger:
    """Pools of money for one year, what was spent from them, and what carries over."""

    def __init__(self, funding: Funding) -> None:
        self.funding = funding
        self.carried: dict[str, float] = defaultdict(float)
        self.pools: dict[str, float] = {}
        self.spent: dict[str, float] = defaultdict(float)
        self.budget = 0.0

    def open_year(self, year: int) -> None:
        """Fill the pools with this year's appropriations plus last year's carry-over."""
        pools: dict[str, float] = defaultdict(float, self.carried)
        for source in self.funding.sources.values():
            amount = source.amount.get(year, 0.0) * self.funding.multiplier
            pools[source.earmark or GENERAL] += amount
        self.pools = pools
        self.budget = float(sum(pools.values()))
        self.spent = defaultdict(float)

    def available(self, item: str) -> float:
        """Money an item can still draw: its earmarked pool plus the general pool."""
        return self.pools.get(item, 0.0) + self.pools.get(GENERAL, 0.0)

    def affordable(self, item: str) -> float:
        """``available`` with the slack of rounding (x (1 + 1e-12)): costs that add up to the
        money fit it, whatever order they are added in."""
        return self.available(item) * (1 + 1e-12)

    def spend(self, item: str, amount: float) -> None:
        """Take ``amount`` for ``item``: earmarked pool first, then the general pool."""
        own = min(self.pools.get(item, 0.0), amount)
        if own:
            self.pools[item] -= own
        rest = amount - own
        if rest > self.pools.get(GENERAL, 0.0) * (1 + 1e-12) + 1e-6:
            raise RuntimeError(f"{item}: spending {amount:.0f} exceeds the pools")  # a bug, not user input
        if rest:
            self.pools[GENERAL] = max(self.pools[GENERAL] - rest, 0.0)
        self.spent[item] += amount

    def fund_queue(self, item: str, costs: np.ndarray, people: np.ndarray | None = None,
                   capacity: float = np.inf) -> int:
        """Fund a queue in order: how many from the front fit both the money and the capacity.

        Args:
            item: the batch (or ``infrastructure``) paying.
            costs: yuan per queued unit, in queue order.
            people: people per queued unit, counted against ``capacity`` (None: no capacity).
            capacity: people this item may newly take this year.
        """
        n, total = self._fit(item, costs, people, capacity)
        if n:
            self.spend(item, total)
        return n

    def _fit(self, item: str, costs: np.ndarray, people: np.ndarray | None, capacity: float) -> tuple[int, float]:
        """How many units from the front fit, and what they cost together."""
        if len(costs) == 0:
            return 0, 0.0
        total = np.cumsum(costs)
        n = int(np.searchsorted(total, self.affordable(item), side="right"))
        if people is not None:
            n = min(n, int(np.searchsorted(np.cumsum(people), room(capacity), side="right")))
        return n, float(total[n - 1]) if n else 0.0

    def fund_in_order(self, item: str, keys: np.ndarray, costs: np.ndarray, people: np.ndarray | None = None,
                      capacity: float = np.inf) -> np.ndarray:
        """Fund a queue served in ascending ``keys`` (ties in the given order); returns the
        positions funded, in queue order.

        The same as ordering the whole queue and calling ``fund_queue``, but it orders only as far
        as money and capacity reach: nothing when everyone fits (the total is then summed in the
        given order, exact when every cost is whole yuan, else the same to rounding), else a front
        sized to the expected reach, widened until the queue stops inside it.
        """
        m = len(keys)
        if m == 0:
            return np.zeros(0, dtype=np.intp)
        money = self.affordable(item)
        total = float(costs.sum())
        if total <= money and costs.min() >= 0 and (people is None or people.sum() <= room(capacity)):
            self.spend(item, total)
            return np.arange(m)
        reach = money / max(float(costs.mean()), 1e-300)
        if people is not None:
            reach = min(reach, capacity / max(float(people.mean()), 1e-300))
        k = int(min(reach, m) * 1.25) + 64
        while True:
            front = smallest_first(keys, k)
            n, spent = self._fit(item, costs[front], None if people is None else people[front], capacity)
            if n < len(front) or len(front) == m:
                if n:
                    self.spend(item, spent)
                return front[:n]
            k *= 4

    @property
    def total_spent(self) -> float:
        """Yuan spent from the pools this year."""
        return float(sum(self.spent.values()))

    def close_year(self) -> tuple[float, float]:
        """End the year: returns (unspent, carried over) in yuan."""
        unspent = float(sum(self.pools.values()))
        share = self.funding.carryover_share
        self.carried = defaultdict(float, {k: v * share for k, v in self.pools.items() if v > 0})
        return unspent, unspent * share


def room(capacity: float) -> float:
    """People a capacity takes, with the slack of rounding: a queue whose people add up to the
    capacity fits it, whatever order they are added in (as money has, ``Ledger.affordable``)."""
    return capacity * (1 + 1e-12) + 1e-9


def queue_keys(key: str, net: np.ndarray, line: float, u: np.ndarray | None) -> np.ndarray:
    """What eligible households are served by, smallest first (ties keep register order).

    ``need``: lowest income first; ``near_line``: closest to the line first (what quota pressure
    favours); ``random``: a lottery (``u``, one uniform draw per household).
    """
    if key == "need":
        return net
    if key == "near_line":
        return np.abs(line - net)
    if u is None:
        raise ValueError("the random targeting key needs one uniform draw per household")
    return u


def listed_first(keys: np.ndarray, on_list: np.ndarray) -> np.ndarray:
    """Queue keys with the households on the pre-exit list ahead of the rest (each part in key order)."""
    if len(keys) == 0:
        return keys
    return keys + (np.ptp(keys) + 1.0) * ~on_list


def stable_order(keys: np.ndarray) -> np.ndarray:
    """``np.argsort(keys, kind="stable")``, by numpy's faster default sort: it agrees but for
    the order within runs of equal keys, which is then put right (ascending positions) by
    sorting only the tied entries. Keys with NaN take the stable sort itself. A large queue (2^20
    or more) is sorted by a radix sort in numba instead (``kernels.py``): the same order."""
    fast = kernels(len(keys))
    if fast is not None and not np.isnan(keys).any():
        return fast.float_order(np.ascontiguousarray(keys, dtype=np.float64))
    order = np.argsort(keys)
    if len(order) < 2:
        return order
    ranked = keys[order]
    if bool(np.isnan(ranked[-1])):
        return np.argsort(keys, kind="stable")
    tie = ranked[1:] == ranked[:-1]
    if not tie.any():
        return order
    tied = np.zeros(len(order), dtype=bool)
    tied[1:] = tie
    tied[:-1] |= tie
    pos = np.flatnonzero(tied)
    run = np.concatenate([[0], np.cumsum(~tie)])[pos].astype(np.int64)  # which run of equal keys
    sub = order[pos]
    order[pos] = sub[np.argsort(run * len(order) + sub)]  # unique: by run, then by position
    return order


def ordered_front(keys: np.ndarray, amounts: np.ndarray, limit: float, at_least: int = 0) -> np.ndarray:
    """The front of ``smallest_first(keys)``: at least ``at_least`` positions, and far enough that
    the running total of ``amounts`` (people, yuan; not negative) passes ``limit``, or all of it.
    A cut of the queue at ``limit`` then falls inside it, where the whole order would put it;
    only the front is sorted, sized to the expected reach and widened until it suffices."""
    m = len(keys)
    mean = float(amounts.mean()) if m else 0.0
    k = max(at_least, int(min(m, max(limit, 0.0) / max(mean, 1e-300)) * 1.25) + 64)
    while True:
        front = smallest_first(keys, k)
        if len(front) >= m or (len(front) and np.cumsum(amounts[front])[-1] > limit):
            return front
        k *= 4


def smallest_first(keys: np.ndarray, first: int | None = None) -> np.ndarray:
    """``np.argsort(keys, kind="stable")``, or just its first ``first`` entries (same values): the
    keys below the ``first``-th smallest and the earliest equal to it, ordered (a numba kernel,
    ``compiled.front_order``, where the kernels are in use: 1.9x faster, the same positions)."""
    if first is None or first >= len(keys):
        return stable_order(keys)
    if first <= 0:
        return np.zeros(0, dtype=np.intp)
    fast = kernels(len(keys))
    if fast is not None and not np.isnan(keys).any():
        return fast.front_order(np.ascontiguousarray(keys, dtype=np.float64), first)
    kth = np.partition(keys, first - 1)[first - 1]
    if np.isnan(kth):
        return stable_order(keys)[:first]
    chosen = keys < kth
    ties = np.flatnonzero(keys == kth)[: first - int(np.count_nonzero(chosen))]  # a stable sort keeps the earliest
    chosen[ties] = True
    front = np.flatnonzero(chosen)  # in register order
    return front[stable_order(keys[front])]
