"""Villages and counties: infrastructure, incidence, and taking off the hat (摘帽).

* Incidence is the official 综合贫困发生率: (registered poor still poor + missed poor (漏评,
  ``Households.missed``) + wrongly exited (错退, ``Households.wrongly_exited``)) / residents.
  The two flags are set by the household assessment; until it sets them they are all False
  and the incidence is that of the registered poor.
* A poor village exits when its basic infrastructure is done and, under ``village_rule``
  ``incidence`` (the default), its incidence is below its threshold (``village_incidence_
  threshold``, by its county's region: 3% in the west, 2% elsewhere); under ``mean_income``
  (Guangdong's relative standard), when its residents' mean per-capita income reaches the
  year's ``village_income_threshold``. Residents outside the simulated register (neither
  registered nor near-poor) are counted at ``resident_income_ratio`` times the year's poverty
  line. A simulated village is whole (cluster sampling, ``population.py``), so its incidence is
  exact at any scale; its exit is recorded in the year it qualifies.
* A poor county applies after a year in which (a) its incidence, estimated from its sampled
  villages (weighted, over its known rural population), is below its threshold, (b) its wrongly
  exited share (wrongly exited / exited people) and its missed share (missed / people not
  registered) are each below ``wrongly_exited_max`` and ``missed_max``, (c) ``satisfaction``
  is above ``satisfaction_min`` (not modelled: a scenario value) and (d) at least
  ``county_min_village_exit_share`` of its poor villages (weighted) have exited. The province
  check and the national sample re-check the same indicators, so the application is granted:
  the exit is recorded ``county_grant_lag`` years after the year it first qualified (1: the
  assessment of year t is announced early in year t + 1). Both years are kept.
* Exits are recorded once, with their year; a hat taken off stays off.
* Infrastructure is built village by village, lowest incidence first, within the year's
  capacity (real villages) and the money it can draw (a simulated village costs its weight).

The county estimate's noise: its standard error (``county_incidence_se``) is that of a
stratified sample of villages (poor and other villages of the county), zero at scale 1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tuopin.scenario import schema
from tuopin.scenario.schema import INFRASTRUCTURE
from tuopin.sim import tally
from tuopin.sim.agents import EXITED, NEAR, NOT_YET, POOR, Households
from tuopin.sim.kernels import group_sum
from tuopin.sim.tally import Tally

if TYPE_CHECKING:
    from tuopin.sim.model import PovertyModel


def counted_poor(hh: Households) -> np.ndarray:
    """Households counted as poor by the official incidence: registered poor, missed, wrongly exited."""
    return (hh.status == POOR) | hh.missed | hh.wrongly_exited


COUNTED_POOR = (tally.STATUS == POOR) | tally.MISSED | tally.WRONG
"""The tally's codes of the households ``counted_poor`` selects."""


def village_incidence(m: PovertyModel) -> np.ndarray:
    """Each simulated village's incidence (its households are all simulated, unweighted)."""
    hh, v = m.hh, m.villages
    return group_sum(counted_poor(hh), hh.village, hh.size, len(v)) / v.population


def county_incidence_se(m: PovertyModel) -> np.ndarray:
    """Standard error of the county incidence (``county_indicators``) over the sample of villages.

    The weights are calibrated to each stratum's known people (``population.calibrated_weights``),
    so the estimate is a ratio estimator: its variance is ``sum_h N_h^2 (1 - n_h/N_h) s_h^2 / n_h``
    with ``s_h^2`` the variance, over the stratum's sampled villages, of the residuals
    ``y - R_h x`` (y: counted poor people of a village, x: its simulated people, R_h their ratio
    in the stratum), over the rural population. A stratum sampled with one village has no
    variance of its own; it takes the mean relative variance (s^2 / mean(y)^2) of the strata of
    its kind sampled with two or more (collapsed strata), NaN when there is none (the band
    over replicates still shows the noise). Zero at scale 1.
    """
    hh, v, c = m.hh, m.villages, m.counties
    n_v = len(v)
    stratum = v.county.astype(np.int64) * 2 + v.poor_village
    k = 2 * len(c)
    per = lambda values: np.bincount(stratum, weights=values, minlength=k)  # noqa: E731
    n, big_n = per(np.ones(n_v)), per(v.weight)
    fpc = np.divide(big_n - n, big_n, out=np.zeros(k), where=big_n > 0)
    if not fpc.any():  # every village simulated: no sampling error (the households aren't read)
        return np.zeros(len(c)) / c.rural_population
    y = group_sum(counted_poor(hh), hh.village, hh.size, n_v)
    x = hh.village_people(n_v)
    sum_y = per(y)
    ratio = np.divide(sum_y, per(x), out=np.zeros(k), where=per(x) > 0)
    e = y - ratio[stratum] * x
    var = np.divide(per(e * e), n - 1, out=np.zeros(k), where=n > 1)
    mean = np.divide(sum_y, n, out=np.zeros(k), where=n > 0)
    kind = np.arange(k) % 2
    for poor in (0, 1):
        own = (kind == poor) & (n > 1) & (mean > 0)
        single = (kind == poor) & (n == 1) & (big_n > 1)
        var[single] = float(np.mean(var[own] / mean[own] ** 2)) * mean[single] ** 2 if own.any() else np.nan
    total = np.divide(big_n**2 * fpc * var, n, out=np.zeros(k), where=n > 0)
    return np.sqrt(total.reshape(-1, 2).sum(axis=1)) / c.rural_population


def village_mean_income(m: PovertyModel) -> np.ndarray:
    """Mean per-capita income of each village's residents (yuan), simulated households at their
    net income and everyone else at ``resident_income_ratio`` times the year's line."""
    hh, v = m.hh, m.villages
    n = len(v)
    people = hh.village_people(n)
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
    return village_incidence(m) < m.villages.threshold


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

    def fund_new(self, m: PovertyModel) -> np.ndarray:
        """Fund this year's village infrastructure; returns the villages completed. A simulated
        village costs, and takes from the capacity (real villages), its weight."""
        v = m.villages
        idx = np.flatnonzero(v.poor_village & ~v.infra_done)
        weight = v.weight[idx]
        done = m.ledger.fund_in_order(self.name, village_incidence(m)[idx], self.p.cost_per_village * weight,
                                      people=weight, capacity=self.p.capacity.get(m.year, 0.0))
        v.infra_done[idx[done]] = True
        return idx[done]


def exit_villages(m: PovertyModel) -> float:
    """Take the hat off every poor village that now qualifies; returns the real villages that did."""
    v = m.villages
    ok = v.poor_village & (v.exit_year == NOT_YET) & v.infra_done & village_qualifies(m)
    v.exit_year[ok] = m.year
    return float(v.weight[ok].sum())


def poor_village_exit_share(m: PovertyModel) -> np.ndarray:
    """Per county: share of its poor villages exited (weighted; 1 where it has none)."""
    v, n = m.villages, len(m.counties)
    poor_v = np.bincount(v.county, weights=v.weight * v.poor_village, minlength=n)
    exited_v = np.bincount(v.county, weights=v.weight * (v.poor_village & (v.exit_year != NOT_YET)), minlength=n)
    return np.divide(exited_v, poor_v, out=np.ones(n), where=poor_v > 0)


def county_indicators(m: PovertyModel, counts: Tally | None = None) -> dict[str, np.ndarray]:
    """This year's county indicators of the exit rule, each one value per county: ``incidence``
    (estimated from the sampled villages, exact at scale 1), ``wrongly_exited_share`` (wrongly
    exited / exited people, 0 where no one has exited), ``missed_share`` (missed poor / people
    not on the register) and ``poor_village_exit_share`` (weighted; 1 where it has none).
    ``counts``: the households' tally now (``tally.count``), made here when not given."""
    c = m.counties
    by = (tally.count(m) if counts is None else counts).county
    exited = tally.STATUS == EXITED
    gone = by(exited)
    outside = c.rural_population - by(tally.STATUS != NEAR)
    share = lambda part, whole: np.divide(part, whole, out=np.zeros(len(c)), where=whole > 0)  # noqa: E731
    return {
        "incidence": by(COUNTED_POOR) / c.rural_population,
        "wrongly_exited_share": share(by(exited & tally.WRONG), gone),
        "missed_share": share(by(tally.MISSED & (tally.STATUS == NEAR)), outside),
        "poor_village_exit_share": poor_village_exit_share(m),
    }


def county_qualifies(m: PovertyModel, indicators: dict[str, np.ndarray]) -> np.ndarray:
    """Counties whose year-end ``indicators`` meet the exit rule (see module doc)."""
    c, rules = m.counties, m.p.exit_rules
    ok = c.poor_county & (indicators["incidence"] < c.threshold)
    ok &= indicators["wrongly_exited_share"] < rules.wrongly_exited_max
    ok &= indicators["missed_share"] < rules.missed_max
    ok &= rules.satisfaction > rules.satisfaction_min
    return ok & (indicators["poor_village_exit_share"] >= rules.county_min_village_exit_share)


def exit_counties(m: PovertyModel, counts: Tally | None = None) -> tuple[list[str], int, dict[str, np.ndarray]]:
    """Record this year's first qualifications and grant the applications due this year.

    Returns the names of the counties whose exit is granted this year, how many counties
    qualified for the first time, and the year's indicators (``county_indicators``, from
    ``counts``, the households' tally at the year end, when given).
    """
    c = m.counties
    indicators = county_indicators(m, counts)
    new = (c.first_qualified_year == NOT_YET) & county_qualifies(m, indicators)
    c.first_qualified_year[new] = m.year
    due = (c.exit_year == NOT_YET) & (c.first_qualified_year != NOT_YET)
    due &= c.first_qualified_year + m.p.exit_rules.county_grant_lag == m.year
    c.exit_year[due] = m.year
    return [c.name[i] for i in np.flatnonzero(due)], int(new.sum()), indicators
