"""Household income: yearly growth, shocks, and net income per capita.

Shocks are drawn for every household every year from the ``shocks`` stream, in a fixed order and
size, so two scenarios on the same population and seed see the same shocks (common random
numbers): differences between them are the policy's, not noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from tuopin.sim.model import PovertyModel


@dataclass
class Shocks:
    """This year's shocks, one flag per household."""

    ill: np.ndarray  # serious illness: out-of-pocket cost
    disaster: np.ndarray  # natural disaster: lost farm income, maybe a damaged house
    market: np.ndarray  # market shock: industry income loss
    job_lost: np.ndarray  # job loss: wage income lost this year


def draw_shocks(m: PovertyModel) -> Shocks:
    """Grow market incomes (lognormal, mean ``income_growth``) and draw this year's shocks."""
    hh, e = m.hh, m.p.economy
    rng = m.streams.shocks
    n = len(hh)
    u = rng.random((5, n))
    z = rng.standard_normal(n)
    sigma = e.income_volatility
    hh.market *= np.exp(e.income_growth + sigma * z - sigma**2 / 2)
    ill_rate = np.where(hh.has_cause("illness"), e.illness_rate, e.illness_rate_other)
    disaster = u[1] < e.disaster_rate
    hh.house_ok[disaster & (u[2] < e.disaster_house_damage)] = False
    return Shocks(ill=u[0] < ill_rate, disaster=disaster, market=u[3] < e.market_shock_rate,
                  job_lost=u[4] < e.job_loss_rate)


def net_income(m: PovertyModel, support: np.ndarray, medical: np.ndarray, education: np.ndarray) -> np.ndarray:
    """Net income per capita before the social floor.

    Farm and market income (less a disaster's loss) plus what the batches pay (``support``),
    less out-of-pocket illness costs (reimbursed by medical aid while ``medical`` is active, else
    by basic insurance if insured) and school costs (waived while ``education`` is active).
    """
    hh, e, s = m.hh, m.p.economy, m.shocks
    farm = hh.market * (1 - e.disaster_loss * s.disaster)
    reimbursed = np.where(medical, m.p.batches.medical.reimbursement,
                          np.where(hh.insured, e.insured_reimbursement, 0.0))
    illness = s.ill * e.illness_cost * (1 - reimbursed) / hh.size
    school = ~education * hh.students * e.school_cost / hh.size
    return farm + support - illness - school
