"""社会保障兜底: 低保 and 特困 support by means (应兜尽兜), raised to the line (两线合一).

An entitlement, not a funded batch. A registered household (poor or exited) is eligible when its
stable income cannot reach the floor, ``top_up_to`` times the line, by other means: at once if it
has no able-bodied labour, and after ``labour_after_years`` years registered poor if it has
labour (help has been tried and it is still below). The floor reaches a share ``coverage`` of
the eligible people by each year (identification phases in), the lowest incomes first; a
household once covered stays covered while it is eligible. Each covered household's stable and
net income rise by the gap between its stable income and the floor: the floor is stable income.

``top_up_to`` and ``coverage`` are one number or schedules by year; a year missing from a
schedule takes the latest earlier one (0 before the first). The cost (real yuan: each household at its weight) is the gap plus
``annual_cost_per_household`` of administration, paid from civil-affairs funds outside the
poverty budget and reported as ``spending_floor``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tuopin.sim.agents import BATCH_INDEX, NEAR, POOR
from tuopin.sim.funding import ordered_front, room

if TYPE_CHECKING:
    from tuopin.sim.model import PovertyModel

ROW = BATCH_INDEX["social_floor"]


def floor_level(top_up_to: float | dict[int, float], year: int) -> float:
    """A scheduled value in ``year`` (0 before a schedule's first year); a number is constant."""
    if not isinstance(top_up_to, dict):
        return top_up_to
    earlier = [y for y in top_up_to if y <= year]
    return top_up_to[max(earlier)] if earlier else 0.0


def eligible(m: PovertyModel, floor: float) -> np.ndarray:
    """Registered households whose stable income cannot reach ``floor`` by other means."""
    hh, p = m.hh, m.p.batches.social_floor
    if m.year < p.start_year:
        return np.zeros(len(hh), dtype=bool)
    stuck = (hh.status == POOR) & (m.year - hh.registered_year >= p.labour_after_years)
    return (hh.status != NEAR) & (hh.stable < floor) & ((hh.labour == 0) | stuck | (hh.enrolled[ROW] >= 0))


def covered(m: PovertyModel, cover: np.ndarray, share: float) -> np.ndarray:
    """Eligible households the floor reaches: those already covered, then the lowest stable
    incomes until ``share`` of the eligible people are reached."""
    hh = m.hh
    have = cover & (hh.enrolled[ROW] >= 0)
    left = share * hh.people(cover) - hh.people(have)  # real people the floor still reaches this year
    idx = np.flatnonzero(cover & ~have)
    if left <= 0 or len(idx) == 0:
        return have
    people = hh.real_people()[idx]
    front = ordered_front(hh.stable[idx], people, room(left))
    order = idx[front]
    n = int(np.searchsorted(np.cumsum(people[front]), room(left), side="right"))
    out = have.copy()
    out[order[:n]] = True
    return out


def top_up(m: PovertyModel) -> float:
    """Raise covered households' stable and net income to the floor; return the year's cost in yuan."""
    p, hh = m.p.batches.social_floor, m.hh
    floor = floor_level(p.top_up_to, m.year) * m.line
    cover = eligible(m, floor)
    receives = covered(m, cover, floor_level(p.coverage, m.year))
    at = np.flatnonzero(receives)
    gap = floor - hh.stable[at]
    hh.stable[at] += gap
    hh.net[at] += gap
    first_time = at[hh.enrolled[ROW, at] < 0]
    hh.enrolled[ROW, first_time] = m.year
    cost = float((gap * hh.real_people()[at]).sum())  # over the households paid, not a full-length array
    return cost + float(hh.weight[at].sum()) * p.annual_cost_per_household
