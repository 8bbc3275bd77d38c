"""社会保障兜底: 低保 raised to the poverty line (两线合一) for households that cannot work.

An entitlement, not a funded batch: every household without able-bodied labour whose income
falls short of ``top_up_to`` times the line is topped up to it, every year, whatever the budget.
``top_up_to`` is one number or a schedule by year (低保 raised to the line step by step); a
year missing from a schedule takes the latest earlier one.
Its cost is the gap plus ``annual_cost_per_household`` of administration, paid from civil-affairs
funds outside the poverty budget and reported as ``spending_floor``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tuopin.sim.agents import BATCH_INDEX, NEAR

if TYPE_CHECKING:
    from tuopin.sim.model import PovertyModel

ROW = BATCH_INDEX["social_floor"]


def eligible(m: PovertyModel) -> np.ndarray:
    """Registered (poor or exited) households with no able-bodied labour, or already on the floor
    (a register's 低保 and 特困供养 households), once the floor starts."""
    if m.year < m.p.batches.social_floor.start_year:
        return np.zeros(len(m.hh), dtype=bool)
    return (m.hh.status != NEAR) & ((m.hh.labour == 0) | (m.hh.enrolled[ROW] >= 0))


def floor_level(top_up_to: float | dict[int, float], year: int) -> float:
    """The floor as a multiple of the line in ``year`` (0 before a schedule's first year)."""
    if not isinstance(top_up_to, dict):
        return top_up_to
    earlier = [y for y in top_up_to if y <= year]
    return top_up_to[max(earlier)] if earlier else 0.0


def top_up(m: PovertyModel) -> float:
    """Raise eligible households' net income to the floor; return the year's cost in yuan."""
    p = m.p.batches.social_floor
    hh = m.hh
    cover = eligible(m)
    floor = floor_level(p.top_up_to, m.year) * m.line
    gap = np.where(cover, np.maximum(floor - hh.net, 0.0), 0.0)
    receives = cover & (gap > 0)
    hh.net += gap
    first_time = receives & (hh.enrolled[ROW] < 0)
    hh.enrolled[ROW, first_time] = m.year
    return float((gap * hh.size).sum() + receives.sum() * p.annual_cost_per_household)
