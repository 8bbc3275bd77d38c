"""Monitoring (防止返贫监测和帮扶), relapse (返贫) and new entrants, at the register update.

1. **Monitoring** (``monitor``): exited households (before this year) and near-poor households
   are watched. One is flagged when its stable or this year's income is under ``watch_ratio``
   times the line, or a rigid expense hit it this year (a serious illness, a disaster). Flagged
   households that the check would find below the standard are helped, lowest income first, up to ``monitoring_capacity`` (a share of the
   watched people, by year) and within money (the general pool): the help (relief, a
   public-welfare post, medical aid) fills this year's gap to the line, at most
   ``help_max_per_capita`` a person, and a house a disaster made unsafe is repaired (at the
   housing batch's cost per household). Help is this year's income, not stable income; but a
   helped exited household whose stable income is under the line is enrolled in 低保, so the
   floor (``social_floor``) covers it from next year while its means stay short.
2. **Relapse** (``relapse``): the register update re-registers an exited household when, after
   help, it no longer meets the standard: a condition lost (a house destroyed), or both its
   stable income and this year's income under the line. One bad year with stable income above
   the line is not a relapse.
3. **New entrants** (``new_entrants``): a near-poor household with both incomes under the line
   after help is registered with probability ``registration_rate`` that year (有进有出).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tuopin.sim.agents import EXITED, NEAR, POOR
from tuopin.sim.assessment import conditions
from tuopin.sim.funding import smallest_first
from tuopin.sim.interventions.social_floor import ROW as FLOOR

if TYPE_CHECKING:
    from tuopin.sim.funding import Ledger
    from tuopin.sim.model import PovertyModel, ReplicateModel

MONITORING = "monitoring"
"""The ledger item monitoring help is paid from (the general pool)."""


def watched(m: PovertyModel) -> np.ndarray:
    """Exited (before this year) and near-poor households: who monitoring watches."""
    hh = m.hh
    return ((hh.status == EXITED) & (hh.exit_year < m.year)) | (hh.status == NEAR)


def monitor(m: PovertyModel, ledger: Ledger) -> tuple[np.ndarray, np.ndarray]:
    """Flag and help (see module doc); returns (flagged, helped) masks."""
    hh, r = m.hh, m.p.relapse
    watch = watched(m)
    low = np.minimum(hh.stable, hh.net) < r.watch_ratio * m.line
    flagged = watch & (low | m.shocks.ill | m.shocks.disaster)
    helped = np.zeros(len(hh), dtype=bool)
    capacity = r.monitoring_capacity.get(m.year, 0.0) * hh.people(watch)
    idx = np.flatnonzero(flagged & below(m))
    if capacity <= 0 or len(idx) == 0:
        return flagged, helped
    idx = idx[smallest_first(hh.net[idx])]
    gap = np.where(hh.stable[idx] < m.line, np.clip(m.line - hh.net[idx], 0.0, r.help_max_per_capita), 0.0)
    repair = ~hh.house_ok[idx]
    cost = (gap * hh.size[idx] + repair * m.p.batches.housing.cost_per_household) * hh.weight[idx]  # real yuan
    n = ledger.fund_queue(MONITORING, cost, people=hh.real_people()[idx], capacity=capacity)
    hh.net[idx[:n]] += gap[:n]
    hh.house_ok[idx[:n][repair[:n]]] = True
    helped[idx[:n]] = True
    to_floor = helped & (hh.status == EXITED) & (hh.stable < m.line) & (hh.enrolled[FLOOR] < 0)
    hh.enrolled[FLOOR, to_floor] = m.year
    return flagged, helped


def below(m: PovertyModel) -> np.ndarray:
    """Households no longer meeting the standard after help: a condition lost, or both stable and
    this year's income under the line."""
    hh = m.hh
    return ~conditions(m) | ((hh.stable < m.line) & (hh.net < m.line))


def relapse(m: PovertyModel) -> np.ndarray:
    """Exited households (before this year) found below the standard; returns the mask."""
    hh = m.hh
    back = (hh.status == EXITED) & (hh.exit_year < m.year) & below(m)
    hh.status[np.flatnonzero(back)] = POOR
    return back


REGISTRATION = "registration"
"""The purpose of the yearly uniform draw that registers a near-poor household below the line."""


def registration_draw(m: ReplicateModel, keys: np.ndarray) -> np.ndarray:
    """This year's uniform draw of the registration of near-poor households (keyed by household and year)."""
    return m.draws.uniform(keys, REGISTRATION, m.year)


def new_entrants(m: PovertyModel) -> np.ndarray:
    """Near-poor households registered as poor this year; returns the mask."""
    hh = m.hh
    below = (hh.status == NEAR) & (hh.stable < m.line) & (hh.net < m.line)
    enter = m.draws.chance(hh.key, below, m.p.relapse.registration_rate, REGISTRATION, m.year)
    idx = np.flatnonzero(enter)
    hh.status[idx] = POOR
    hh.registered_year[idx] = m.year
    return enter
