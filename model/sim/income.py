"""Household income: a permanent and a transitory part, shocks, net and stable income per capita.

Market and farm income is ``permanent x transitory``: the permanent part (``hh.market``) grows by
``income_growth`` a year with a small persistent shock (``permanent_volatility``); the
transitory part is this year's luck (``income_volatility``, mean one) and is gone next year.
Transfers (eco payments, the social floor, support that continues) carry no shock.

Two incomes are computed each year:

* ``net``: what the household actually has this year, after its transitory luck, a disaster, a
  market shock, a lost job, an illness and school costs;
* ``stable``: what it can count on, the permanent part plus every batch's income without this
  year's shocks, less the school costs that recur (an illness is a one-off). The exit check and
  the relapse check (``assessment``, ``relapse``) read it, so one bad year does not undo an
  exit and one lucky year does not make one.

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
    """This year's shocks, one entry per household."""

    ill: np.ndarray  # serious illness: out-of-pocket cost
    disaster: np.ndarray  # natural disaster: lost farm income, maybe a damaged house
    market: np.ndarray  # market shock: industry income loss
    job_lost: np.ndarray  # job loss: wage income lost this year
    transitory: np.ndarray  # this year's factor on market income (mean 1)
    check: np.ndarray  # standard normal: the year-end check's error on stable income


def draw_shocks(m: PovertyModel) -> Shocks:
    """Grow the permanent part of market income and draw this year's transitory part and shocks."""
    hh, e = m.hh, m.p.economy
    rng = m.streams.shocks
    n = len(hh)
    u = rng.random((5, n))
    z = rng.standard_normal((3, n))
    sp, st = e.permanent_volatility, e.income_volatility
    hh.market *= np.exp(e.income_growth + sp * z[0] - sp**2 / 2)
    ill_rate = np.where(hh.has_cause("illness"), e.illness_rate, e.illness_rate_other)
    disaster = u[1] < e.disaster_rate
    hh.house_ok[disaster & (u[2] < e.disaster_house_damage)] = False
    return Shocks(ill=u[0] < ill_rate, disaster=disaster, market=u[3] < e.market_shock_rate,
                  job_lost=u[4] < e.job_loss_rate, transitory=np.exp(st * z[1] - st**2 / 2), check=z[2])


def net_income(m: PovertyModel, support: np.ndarray, stable_support: np.ndarray, medical: np.ndarray,
               education: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Net and stable income per capita before the social floor (see module doc).

    Net: farm and market income after its transitory part and a disaster's loss, plus what the
    batches pay (``support``), less out-of-pocket illness costs (reimbursed by medical aid while
    ``medical`` is active, else by basic insurance if insured) and school costs (waived while
    ``education`` is active). Stable: the permanent part plus ``stable_support``, less school costs.
    """
    hh, e, s = m.hh, m.p.economy, m.shocks
    farm = hh.market * s.transitory * (1 - e.disaster_loss * s.disaster)
    reimbursed = np.where(medical, m.p.batches.medical.reimbursement,
                          np.where(hh.insured, e.insured_reimbursement, 0.0))
    illness = s.ill * e.illness_cost * (1 - reimbursed) / hh.size
    school = ~education * hh.students * e.school_cost / hh.size
    return farm + support - illness - school, hh.market + stable_support - school
