"""The fast funding queue orders only as far as it must, and funds exactly what a full sort would."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuopin.sim.funding import Ledger, ordered_front, smallest_first, stable_order


def ledger(money: float) -> Ledger:
    src = SimpleNamespace(amount={2016: money}, earmark=None)
    led = Ledger(SimpleNamespace(sources={"a": src}, multiplier=1.0, carryover_share=0.0))
    led.open_year(2016)
    return led


@settings(max_examples=200, deadline=None)
@given(n=st.integers(0, 400), ties=st.integers(1, 50), first=st.integers(0, 450), seed=st.integers(0, 2**32 - 1))
def test_smallest_first_is_the_front_of_a_stable_sort(n, ties, first, seed):
    keys = np.random.default_rng(seed).integers(0, ties, n).astype(float)  # many ties
    assert np.array_equal(smallest_first(keys, first), np.argsort(keys, kind="stable")[:first])


@settings(max_examples=200, deadline=None)
@given(n=st.integers(0, 400), ties=st.integers(1, 500), nans=st.integers(0, 3), seed=st.integers(0, 2**32 - 1))
def test_stable_order_is_the_stable_sort(n, ties, nans, seed):
    """The default sort with its tied runs put right gives the stable sort's order (NaN included)."""
    rng = np.random.default_rng(seed)
    keys = rng.integers(-ties, ties, n).astype(float) / 7
    if n:
        keys[rng.integers(0, n, nans)] = np.nan
    assert np.array_equal(stable_order(keys), np.argsort(keys, kind="stable"))


@settings(max_examples=200, deadline=None)
@given(n=st.integers(0, 3000), limit=st.floats(-10, 3000), at_least=st.integers(0, 450), seed=st.integers(0, 2**32 - 1))
def test_ordered_front_is_a_front_of_the_stable_sort_that_the_limit_falls_in(n, limit, at_least, seed):
    """Also when the queue's front holds far smaller amounts than its mean (the first guess of
    its size then falls short and it must widen)."""
    rng = np.random.default_rng(seed)
    keys = rng.integers(0, 30, n).astype(float)
    amounts = rng.integers(0, 8, n) * rng.random(n) * np.where(keys < 10, 0.01, 1.0)
    front = ordered_front(keys, amounts, limit, at_least)
    full = np.argsort(keys, kind="stable")
    assert np.array_equal(front, full[: len(front)])
    assert len(front) >= min(at_least, n)
    total = np.cumsum(amounts[full])
    assert len(front) == n or total[len(front) - 1] > limit  # a cut at the limit falls inside it


@settings(max_examples=200, deadline=None)
@given(n=st.integers(0, 300), money=st.floats(0, 2e5), capacity=st.one_of(st.none(), st.floats(0, 900)),
       whole=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_fund_in_order_funds_what_a_full_sort_funds(n, money, capacity, whole, seed):
    rng = np.random.default_rng(seed)
    keys = rng.integers(0, 20, n).astype(float)
    costs = rng.integers(0, 3000, n).astype(float) + (0 if whole else rng.random(n))
    people = rng.integers(1, 8, n).astype(np.int16)
    cap = np.inf if capacity is None else capacity
    full, fast = ledger(money), ledger(money)
    order = np.argsort(keys, kind="stable")
    k = full.fund_queue("x", costs[order], people=None if capacity is None else people[order], capacity=cap)
    got = fast.fund_in_order("x", keys, costs, people=None if capacity is None else people, capacity=cap)
    assert sorted(got) == sorted(order[:k])
    if whole:  # whole yuan: the totals are exact in any order
        assert fast.spent["x"] == full.spent["x"]
        assert fast.pools == full.pools
    else:  # when everyone fits, the total is summed in the queue's given order, not the sorted one
        assert fast.spent["x"] == pytest.approx(full.spent["x"], rel=1e-12, abs=1e-9)
        assert fast.pools.keys() == full.pools.keys()
        assert all(fast.pools[k] == pytest.approx(full.pools[k], rel=1e-12, abs=1e-6) for k in full.pools)


def test_a_capacity_its_queue_adds_up_to_takes_the_whole_queue():
    # the need rule's last year: capacity is the waiting people's total (summed pairwise), the
    # queue adds them one by one; in another order the sums differ by rounding (here by more than
    # an absolute 1e-9 of a person, as at a sample scale, where people are weights times sizes)
    for seed in range(100):
        people = np.random.default_rng(seed).uniform(100, 900, 5000) * 3
        if np.cumsum(people)[-1] - people.sum() > 1e-9:
            break
    else:
        raise AssertionError("no queue whose sums differ by rounding")
    costs = np.ones(len(people))
    assert ledger(1e9).fund_queue("x", costs, people=people, capacity=float(people.sum())) == len(people)
    keys = np.random.default_rng(1).random(len(people))
    assert len(ledger(1e9).fund_in_order("x", keys, costs, people=people, capacity=float(people.sum()))) == len(people)
