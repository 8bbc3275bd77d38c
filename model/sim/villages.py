"""Villages and counties: infrastructure, incidence, and taking off the hat (摘帽).

* A poor village exits when its basic infrastructure is done and, under ``village_rule``
  ``incidence`` (the default), its incidence (registered poor still poor / residents) is below
  ``village_incidence_threshold`` (3% in western provinces); under ``mean_income`` (Guangdong's
  relative standard), when its residents' mean per-capita income reaches the year's
  ``village_income_threshold``. Residents outside the simulated register (neither registered
  nor near-poor) are counted at ``resident_income_ratio`` times the year's poverty line.
* A county exits when its incidence (poor / rural population) is below
  ``county_incidence_threshold`` and at least ``county_min_village_exit_share`` of its poor
  villages have exited.
* Exits are recorded once, with their year; a hat taken off stays off.
* Infrastructure is built village by village, lowest incidence first, within the year's
  capacity (villages) and the money it can draw.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tuopin.scenario import schema
from tuopin.scenario.schema import INFRASTRUCTURE
from tuopin.sim.agents import NOT_YET, POOR

if TYPE_CHECKING:
    from tuopin.sim.loop import BatchDraws
    from tuopin.sim.model import PovertyModel


def poor_people_by(m: PovertyModel, index: np.ndarray, n: int) -> np.ndarray:
    """Registered poor people grouped by a household index (village or county)."""
    hh = m.hh
    poor = hh.status == POOR
    return np.bincount(index[poor], weights=hh.size[poor], minlength=n)


def village_incidence(m: PovertyModel) -> np.ndarray:
    """Share of each village's residents who are registered poor."""
    v = m.villages
    return poor_people_by(m, m.hh.village, len(v)) / v.population


def county_incidence(m: PovertyModel) -> np.ndarray:
    """Share of each county's rural population who are registered poor."""
    c = m.counties
    return poor_people_by(m, m.hh.county, len(c)) / c.rural_population


def village_mean_income(m: PovertyModel) -> np.ndarray:
    """Mean per-capita income of each village's residents (yuan), simulated households at their
    net income and everyone else at ``resident_income_ratio`` times the year's line."""
    hh, v = m.hh, m.villages
    n = len(v)
    people = np.bincount(hh.village, weights=hh.size, minlength=n)
    income = np.bincount(hh.village, weights=hh.net * hh.size, minlength=n)
    others = np.maximum(v.population - people, 0.0)
    residents = people + others
    total = income + others * m.p.exit_rules.resident_income_ratio * m.line
    return np.divide(total, residents, out=np.zeros(n), where=residents > 0)


def village_qualifies(m: PovertyModel) -> np.ndarray:
    """Villages meeting the scenario's village exit rule this year (infrastructure aside)."""
    rules = m.p.exit_rules
    if rules.village_rule == "mean_income":
        return village_mean_income(m) >= (rules.village_income_threshold or {})[m.year]  # set: validated
    return village_incidence(m) < rules.village_incidence_threshold


class Infrastructure:
    """Village infrastructure as a funded item, with a batch's interface (``funding.Funded``):
    each year, poor villages without it are funded lowest incidence first, within the year's
    capacity (villages) and the money it can draw."""

    name = INFRASTRUCTURE

    def __init__(self, params: schema.Infrastructure) -> None:
        self.p = params

    @property
    def priority(self) -> int:
        """Funding order: lowest first."""
        return self.p.priority

    def fund_new(self, m: PovertyModel, draws: BatchDraws) -> np.ndarray:
        """Fund this year's village infrastructure; returns the villages completed."""
        v = m.villages
        idx = np.flatnonzero(v.poor_village & ~v.infra_done)
        costs = np.full(len(idx), self.p.cost_per_village * m.p.scale)
        done = m.ledger.fund_in_order(self.name, village_incidence(m)[idx], costs, people=np.ones(len(idx)),
                                      capacity=self.p.capacity.get(m.year, 0.0))
        v.infra_done[idx[done]] = True
        return idx[done]


def exit_villages(m: PovertyModel) -> int:
    """Take the hat off every poor village that now qualifies; returns how many did."""
    v = m.villages
    ok = v.poor_village & (v.exit_year == NOT_YET) & v.infra_done & village_qualifies(m)
    v.exit_year[ok] = m.year
    return int(ok.sum())


def exit_counties(m: PovertyModel) -> list[str]:
    """Take the hat off every county that now qualifies; returns their names."""
    v, c, rules = m.villages, m.counties, m.p.exit_rules
    poor_v = np.bincount(v.county, weights=v.poor_village, minlength=len(c))
    exited_v = np.bincount(v.county, weights=v.poor_village & (v.exit_year != NOT_YET), minlength=len(c))
    share = np.divide(exited_v, poor_v, out=np.ones(len(c)), where=poor_v > 0)
    ok = (c.exit_year == NOT_YET) & (county_incidence(m) < rules.county_incidence_threshold)
    ok &= share >= rules.county_min_village_exit_share
    c.exit_year[ok] = m.year
    return [c.name[i] for i in np.flatnonzero(ok)]
