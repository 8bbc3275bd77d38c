"""The annual exit assessment: the exit standard, and declared exits under target pressure.

Exit standard (脱贫标准): net income per capita at or above the year's line **and** 两不愁三保障:
a safe house, medical insurance, and no child out of school for cost (households poor through
school costs (因学) need education support). Food and clothing (两不愁) follow from income at the
line. Exits are counted in people.

Target pressure (数字脱贫): when honest exits fall short of the year's target, a share
``target_pressure`` of the shortfall is filled by declaring marginal households exited: those
within ``pressure_band`` below the line, closest first. They are flagged ``paper_exit`` and,
failing the standard, fall back at the next assessment unless their income catches up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tuopin.sim.agents import BATCH_INDEX, EXITED, POOR

if TYPE_CHECKING:
    from tuopin.sim.model import PovertyModel


def meets_standard(m: PovertyModel) -> np.ndarray:
    """Households meeting the exit standard this year (income and every condition)."""
    hh = m.hh
    schooling = ~hh.has_cause("school") | (hh.students == 0) | (hh.enrolled[BATCH_INDEX["education"]] >= 0)
    return (hh.net >= m.line) & hh.house_ok & hh.insured & schooling


def assess(m: PovertyModel) -> tuple[np.ndarray, np.ndarray]:
    """Declare this year's exits; returns (exited, of which declared under pressure) masks."""
    hh = m.hh
    poor = hh.status == POOR
    honest = poor & meets_standard(m)
    paper = np.zeros(len(hh), dtype=bool)
    a = m.p.assessment
    shortfall = (m.target_exits() - hh.people(honest)) * a.target_pressure  # real people
    if shortfall > 0:
        idx = np.flatnonzero(poor & ~honest & (hh.net >= (1 - a.pressure_band) * m.line))
        idx = idx[np.argsort(-hh.net[idx], kind="stable")]
        n = int(np.searchsorted(np.cumsum(hh.real_people()[idx]), shortfall, side="right"))
        paper[idx[:n]] = True
    exited = honest | paper
    hh.status[exited] = EXITED
    hh.exit_year[exited] = m.year
    hh.paper_exit[exited] = paper[exited]
    return exited, paper
