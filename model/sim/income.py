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

Shocks are keyed draws (``keyed.py``): each household's are a function of the seed, the
household and the year, so two scenarios on the same population and seed see the same shocks,
household by household (common random numbers): differences between them are the policy's, not
noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from tuopin.sim.model import PovertyModel, ReplicateModel


NORMAL_SHOCKS = ("permanent income", "transitory income")
"""This year's standard normal draws of each household: the permanent part's shock and the transitory part."""
UNIFORM_SHOCKS = ("illness", "disaster", "house damage", "market shock", "job loss")
"""This year's uniform draws of each household, compared with the rates of ``schema.Economy``."""


def shock_draw(m: ReplicateModel, name: str, keys: np.ndarray) -> np.ndarray:
    """This year's draw ``name`` (``NORMAL_SHOCKS`` or ``UNIFORM_SHOCKS``) for the households of
    ``keys``: keyed by household and year (``keyed.py``), so the same in every variant."""
    if name in NORMAL_SHOCKS:
        return m.draws.normal(keys, name, m.year)
    return m.draws.uniform(keys, name, m.year)


@dataclass
class Shocks:
    """This year's shocks, one entry per household."""

    ill: np.ndarray  # serious illness: out-of-pocket cost
    disaster: np.ndarray  # natural disaster: lost farm income, maybe a damaged house
    transitory: np.ndarray  # this year's factor on market income (mean 1)


def shocked(m: PovertyModel, name: str, exposed: np.ndarray, rate: float, at: np.ndarray | None = None) -> np.ndarray:
    """This year's shock ``name`` (``"house damage"``, ``"market shock"``, ``"job loss"``) with probability ``rate``,
    drawn only for the ``exposed`` households (those it can hit): a mask (``Draws.chance``, the
    numbers of ``shock_draw``). With ``at`` (household indices), ``exposed`` and the mask are for
    those households only: the same numbers."""
    return m.draws.chance(m.hh.key if at is None else m.hh.key[at], exposed, rate, name, m.year)


def draw_shocks(m: PovertyModel) -> Shocks:
    """Grow the permanent part of market income and draw this year's transitory part and shocks."""
    hh, e = m.hh, m.p.economy
    key = hh.key
    sp, st = e.permanent_volatility, e.income_volatility
    growth = shock_draw(m, "permanent income", key)  # exp(g + sp z - sp^2/2), in place: the same operations
    growth *= sp
    growth += e.income_growth
    growth -= sp**2 / 2
    hh.market *= np.exp(growth, out=growth)
    del growth
    illness = shock_draw(m, "illness", key)
    # illness_rate with the cause, illness_rate_other without: below the higher rate, and below the
    # lower one or in the group with the higher (masks only: np.where over bools is 10x slower)
    low, high = sorted((e.illness_rate, e.illness_rate_other))
    higher = hh.has_cause("illness") if e.illness_rate >= e.illness_rate_other else ~hh.has_cause("illness")
    ill = illness < high
    ill &= (illness < low) | higher
    del illness
    disaster = shock_draw(m, "disaster", key) < e.disaster_rate
    hh.house_ok[shocked(m, "house damage", disaster, e.disaster_house_damage)] = False
    transitory = shock_draw(m, "transitory income", key)  # in place: a full-length array is 8 bytes a household
    transitory *= st
    transitory -= st**2 / 2
    return Shocks(ill=ill, disaster=disaster, transitory=np.exp(transitory, out=transitory))


def net_income(m: PovertyModel, support: np.ndarray, stable_support: np.ndarray, medical: np.ndarray,
               education: np.ndarray) -> None:
    """This year's net and stable income per capita before the social floor (see module doc),
    written over last year's (``hh.net``, ``hh.stable``).

    Net: farm and market income after its transitory part and a disaster's loss, plus what the
    batches pay (``support``), less out-of-pocket illness costs (reimbursed by medical aid while
    ``medical`` is active, else by basic insurance if insured) and school costs (waived while
    ``education`` is active). Stable: the permanent part plus ``stable_support``, less school costs.
    """
    hh, e, s = m.hh, m.p.economy, m.shocks
    # in place, and each cost only for the households that bear it: a full-length temporary is a
    # fifth of a household's state (national 1:1: 250 MB each)
    net = np.multiply(hh.market, s.transitory, out=hh.net)
    net[np.flatnonzero(s.disaster)] *= 1 - e.disaster_loss
    net += support
    ill = np.flatnonzero(s.ill)
    reimbursed = np.where(medical[ill], m.p.batches.medical.reimbursement,
                          np.where(hh.insured[ill], e.insured_reimbursement, 0.0))
    net[ill] -= e.illness_cost * (1 - reimbursed) / hh.size[ill]
    pays = np.flatnonzero((hh.students > 0) & ~education)
    school = hh.students[pays] * e.school_cost / hh.size[pays]
    net[pays] -= school
    stable = np.add(hh.market, stable_support, out=hh.stable)
    stable[pays] -= school
