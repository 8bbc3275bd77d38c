"""One simulated year, in order. Read this file top to bottom to know what the model does.

1. Income: the permanent part grows, this year's transitory part and shocks are drawn
   (``income``); the village draws up the year's pre-exit list against the plan from last
   year's stable income (``assessment.pre_exit_list``).
2. Interventions, funded in priority order (``funding``, ``interventions``): first the recurring
   costs of households already supported, then new households, listed ones first (failed ones
   again after a wait), and village infrastructure (each a ``funding.Funded`` item); then each
   batch's effect on conditions and income (net and stable), intensified help for the listed
   households, and the social floor by means on top.
3. Assessment: the year-end check of the listed households' stable income and conditions,
   and of the households the floor took on this year (兜底脱贫), within verification capacity;
   exits, and the wrongly exited (``assessment``).
4. Register update: monitoring flags and helps exited and near-poor households at risk, then
   relapse and new entrants are what the check finds after help (``relapse``).
5. Village and county exit (``villages``).
6. Reporting: the year's flows (``flows.FIELDS``) in real people and yuan: every total is
   weighted by the households' (villages') sampling weights (``Households.weight``; 1 at scale 1).
   ``exits`` are declared exits (gross), ``net_reduction`` is poor_start - poor_end, and
   ``lifted_total`` the distinct people exited at least once so far.

Money and capacity are real too: a simulated household costs its weight times its own cost and
takes its weight times its members from a batch's capacity.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tuopin.sim import assessment
from tuopin.sim import income
from tuopin.sim import relapse
from tuopin.sim import tally
from tuopin.sim import villages
from tuopin.sim.agents import EXITED, POOR
from tuopin.sim.funding import RANDOM, queue_keys
from tuopin.sim.interventions import social_floor
from tuopin.sim.interventions.base import COMMITMENTS, lottery

if TYPE_CHECKING:
    from typing import Any

    from tuopin.sim.interventions import Intervention
    from tuopin.sim.model import PovertyModel


def simulate_year(m: PovertyModel) -> dict[str, float | str]:
    """Advance the model one year and return that year's flows and stocks."""
    hh, ledger = m.hh, m.ledger
    poor_start = tally.count(m).total(tally.STATUS == POOR)

    # 1. Income dynamics and shocks (last year's let go first: 10 bytes a household); the pre-exit list.
    m.__dict__.pop("shocks", None)
    m.shocks = income.draw_shocks(m)
    listed = assessment.pre_exit_list(m)
    m.on_list = np.zeros(len(hh), dtype=bool)
    m.on_list[listed] = True

    # 2. Interventions, funded in priority order.
    ledger.open_year(m.year)
    active = {b.name: fund_commitments(m, b) for b in m.batches}
    funded: dict[str, np.ndarray] = {}
    for item in m.funding_order:
        funded[item.name] = item.fund_new(m)
    new_people: dict[str, float] = {}
    for batch in m.batches:
        active[batch.name][funded[batch.name]] = True
        new_people[batch.name] = float(hh.real_people()[funded[batch.name]].sum())
    support = np.zeros(len(hh))
    stable_support = np.zeros(len(hh))
    for batch in m.batches:
        batch.apply(m, active[batch.name])
        paid, stable, net = batch.income(m, active[batch.name])
        support[paid] += net
        stable_support[paid] += stable
    income.net_income(m, support, stable_support, medical=active["medical"], education=active["education"])
    del support, stable_support  # not held through the rest of the year (national 1:1: 500 MB)
    helped_listed = assessment.intensified_help(m, listed, ledger)
    floor_enrolled_before = hh.enrolled[social_floor.ROW] >= 0
    spending_floor = social_floor.top_up(m)
    new_people["social_floor"] = hh.people((hh.enrolled[social_floor.ROW] >= 0) & ~floor_enrolled_before)

    # 3. Assessment and exits: the list, with the households the floor took on this year (兜底脱贫).
    listed = assessment.with_floor_entrants(m, listed)
    exited, paper, _ = assessment.assess(m, listed)  # the wrongly exited are flagged (hh.wrongly_exited) and tallied
    m.lifted |= exited

    # 4. Register update: monitoring and help, then relapse and new entrants.
    flagged, helped = relapse.monitor(m, ledger)
    relapsed = relapse.relapse(m)
    entered = relapse.new_entrants(m)

    # 5. Village and county exit; the year's people counted in one pass (``tally``).
    counts = tally.count(m, exited, paper, relapsed, entered, assessment.helped_mask(len(hh), listed), flagged, helped)
    villages_exited = villages.exit_villages(m)
    counties_exited, counties_qualified, indicators = villages.exit_counties(m, counts)

    # 6. Reporting.
    m.county_flows = county_flows(m, counts, indicators)
    unspent, carried = ledger.close_year()
    m.cumulative_spending += ledger.total_spent + spending_floor
    poor_end = counts.total(tally.STATUS == POOR)
    flows: dict[str, float | str] = {
        "poor_start": poor_start,
        "exits": counts.total(tally.EXITED_NOW),
        "exits_paper": counts.total(tally.EVENT == tally.DECLARED),
        "exits_wrong": counts.total(tally.EXITED_NOW & tally.WRONG),
        "relapses": counts.total(tally.EVENT == tally.RELAPSED),
        "new_entrants": counts.total(tally.EVENT == tally.ENTERED),
        "poor_end": poor_end,
        "net_reduction": poor_start - poor_end,
        "lifted_total": counts.with_mark(tally.LIFTED),
        "sustained_exits": counts.total(tally.STATUS == EXITED),
        "pre_exit_listed": counts.with_mark(tally.LISTED),
        "pre_exit_helped": helped_listed,
        "monitored_flagged": counts.with_mark(tally.FLAGGED),
        "monitored_helped": counts.with_mark(tally.HELPED),
        "villages_exited": villages_exited,
        "villages_exited_total": float(m.villages.weight[m.villages.exit_year >= 0].sum()),
        "villages_built": float(m.villages.weight[funded[m.infrastructure.name]].sum()),
        "counties_qualified": counties_qualified,
        "counties_qualified_total": int((m.counties.first_qualified_year >= 0).sum()),
        "counties_exited": len(counties_exited),
        "counties_exited_total": int((m.counties.exit_year >= 0).sum()),
        "counties_exited_names": ";".join(counties_exited),
        "budget": ledger.budget,
        "spending": ledger.total_spent,
        "spending_floor": spending_floor,
        "spending_pre_exit_help": ledger.spent.get(assessment.HELP, 0.0),
        "spending_monitoring": ledger.spent.get(relapse.MONITORING, 0.0),
        "unspent": unspent,
        "carried_over": carried,
    }
    for item in m.funding_order:
        flows[f"spending_{item.name}"] = ledger.spent.get(item.name, 0.0)
    for name, people in new_people.items():
        flows[f"enrolled_{name}"] = people
    out = np.flatnonzero(exited)
    real, reached = hh.real_people()[out], hh.enrolled[:, out] >= 0  # the exited, gathered once
    for row, name in enumerate(m.batch_names):
        flows[f"exits_{name}"] = float(np.compress(reached[row], real).sum())
    return flows


def county_flows(m: PovertyModel, counts: tally.Tally, indicators: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The year's people flows and stocks per county (real people, weighted: ``counts``, the
    year-end tally), and the exit rule's ``indicators`` with the standard error of the incidence estimate."""
    v, n = m.villages, len(m.counties)
    return {
        "exits": counts.county(tally.EXITED_NOW),
        "relapses": counts.county(tally.EVENT == tally.RELAPSED),
        "new_entrants": counts.county(tally.EVENT == tally.ENTERED),
        "poor_end": counts.county(tally.STATUS == POOR),
        **indicators,
        "incidence_se": villages.county_incidence_se(m),
        "villages_exited_total": np.bincount(v.county, weights=v.weight * (v.exit_year >= 0), minlength=n),
        "poor_villages": np.bincount(v.county, weights=v.weight * v.poor_village, minlength=n),
        "villages_sampled": np.bincount(v.county, minlength=n),
    }


def fund_commitments(m: PovertyModel, batch: Intervention[Any]) -> np.ndarray:
    """Pay this year's recurring cost for households already supported; returns who is active."""
    hh, key = m.hh, batch.p.targeting
    idx = np.flatnonzero(batch.supported(m))
    u = lottery(m, batch.name, COMMITMENTS, hh.key[idx]) if key == RANDOM else None
    keys = queue_keys(key, hh.net[idx], m.line, u)
    funded = m.ledger.fund_in_order(batch.name, keys, batch.annual_cost(m, idx) * hh.weight[idx])
    active = np.zeros(len(hh), dtype=bool)
    active[idx[funded]] = True
    return active

