"""The household mechanisms of issue 12, each with a test that fails when the mechanism is broken.

Small populations: Shangluo at 1:50 (``small``) or 1:100; paired runs share a seed, so they share
the register and the shocks (common random numbers) and differ only by the rule changed.
"""

from __future__ import annotations

import numpy as np
import pytest

from tuopin import PovertyModel
from tuopin.sim import relapse
from tuopin.sim.agents import BATCH_INDEX, EXITED, POOR
from tuopin.sim.income import draw_shocks
from tuopin.sim.interventions.social_floor import ROW as FLOOR

NO_BATCHES = {f"batches.{b}.capacity": {} for b in
              ("industry", "employment", "relocation", "ecology", "education", "medical", "housing")}


def annual(scenario, seed: int, **overrides):
    """One replicate's annual table."""
    m = PovertyModel(scenario, rng=seed, overrides={"funding.capacity_rule": "schedule", **overrides})
    m.run()
    return m.datacollector.get_model_vars_dataframe().set_index("year")


def test_monitoring_off_raises_relapse(small):
    on = [annual(small, seed)["relapses"].sum() for seed in range(3)]
    off = [annual(small, seed, **{"relapse.monitoring_capacity": {}})["relapses"].sum() for seed in range(3)]
    assert all(o > n for o, n in zip(off, on)), (off, on)
    assert sum(off) > 1.5 * sum(on)


def test_one_year_dip_does_not_relapse_a_household_with_stable_income(small):
    m = PovertyModel(small, rng=4)
    m.step()
    m.year += 1
    m.shocks = draw_shocks(m)
    hh = m.hh
    out = np.flatnonzero((hh.status == EXITED) & (hh.exit_year < m.year))
    assert len(out) > 20
    hh.house_ok[out] = True
    dip, fall = out[: len(out) // 2], out[len(out) // 2:]
    hh.net[out] = 0.5 * m.line  # a bad year for everyone
    hh.stable[dip] = 1.2 * m.line  # ... whose stable income is above the line
    hh.stable[fall] = 0.8 * m.line  # ... or below it
    back = relapse.relapse(m)
    assert not back[dip].any()
    assert back[fall].all()


def test_a_labour_household_stuck_below_the_line_gets_the_floor(small):
    overrides = {**NO_BATCHES, "batches.social_floor.coverage": {2016: 1.0},
                 "batches.social_floor.labour_after_years": 2}
    m = PovertyModel(small, rng=6, overrides=overrides)
    m.step()
    hh = m.hh
    labour_poor = (hh.status == POOR) & (hh.labour > 0) & (hh.registered_year == 2015)
    assert not (hh.enrolled[FLOOR, labour_poor] >= 0).any()  # one year registered: not yet
    m.step()
    stuck = (hh.status == POOR) & (hh.labour > 0) & (hh.registered_year == 2015)
    assert (hh.enrolled[FLOOR, stuck] == 2017).any()  # two years registered: covered
    assert (hh.stable[stuck] >= m.line - 1e-9).all()  # by its own means or the floor
    later = PovertyModel(small, rng=6, overrides={**overrides, "batches.social_floor.labour_after_years": 5})
    later.step(), later.step()
    h = later.hh
    still = (h.status == POOR) & (h.labour > 0) & (h.registered_year == 2015)
    assert (h.stable[still] < later.line).any()  # without the rule some stay below


def test_a_failed_project_can_be_retried(small):
    overrides = {"batches.industry.success_prob": 0.0, "batches.industry.retry_after_years": 1}
    m = PovertyModel(small, rng=2, overrides={"funding.capacity_rule": "schedule", **overrides})
    m.step()
    first = m.hh.enrolled[BATCH_INDEX["industry"]] == 2016
    assert first.any()
    m.step()
    again = first & (m.hh.enrolled[BATCH_INDEX["industry"]] == 2017)
    assert again.any()
    never = PovertyModel(small, rng=2, overrides={"funding.capacity_rule": "schedule", **overrides,
                                                  "batches.industry.retry_after_years": 0})
    never.step(), never.step()
    assert not (first & (never.hh.enrolled[BATCH_INDEX["industry"]] == 2017)).any()


def test_2016_relapse_needs_households_exited_before_the_start(small):
    with_stock = [annual(small, seed).loc[2016, "relapses"] for seed in range(3)]
    without = [annual(small, seed, **{"population.exited_ratio": 0.0}).loc[2016, "relapses"] for seed in range(3)]
    assert all(r > 0 for r in with_stock)
    assert without == [0.0, 0.0, 0.0]


def test_support_continuation_makes_a_difference(small):
    stop = sum(annual(small, seed, **{"relapse.support_continuation_years": 0})["relapses"].sum() for seed in range(3))
    keep = sum(annual(small, seed, **{"relapse.support_continuation_years": 3})["relapses"].sum() for seed in range(3))
    assert stop > 1.1 * keep, (stop, keep)


def test_capacity_following_need_spends_money_that_is_there(small):
    def run(rule: str, multiplier: float):
        m = PovertyModel(small, rng=3, overrides={"funding.capacity_rule": rule, "funding.multiplier": multiplier})
        m.run()
        return m.datacollector.get_model_vars_dataframe()

    # The fixed schedule binds: twice the money changes nothing.
    assert run("schedule", 2.0)["poor_end"].iloc[-1] == run("schedule", 1.0)["poor_end"].iloc[-1]
    # Capacity following need spends more of it where people are still poor.
    one, two = run("need", 1.0), run("need", 2.0)
    assert two["spending"].sum() > one["spending"].sum()
    assert two["poor_end"].iloc[-1] < 0.8 * one["poor_end"].iloc[-1]


@pytest.mark.parametrize("factor", [0.0, 3.0])
def test_the_quota_steers_but_does_not_fix_the_count(small, factor):
    targets = {y: v * factor for y, v in small.targets.exits.items()}
    plan = annual(small, 5)
    other = annual(small, 5, **{"targets.exits": targets})
    assert other.loc[2016, "exits"] > 0  # households that qualify exit whatever the quota
    ratio = other.loc[2016, "exits"] / plan.loc[2016, "exits"]
    assert 0.5 < ratio < 1.5, ratio  # a quota of 0 or 3x the plan moves exits far less than itself


def test_exits_are_checked_on_stable_income_not_a_lucky_year(small):
    m = PovertyModel(small, rng=8, overrides={"assessment.measurement_error": 0.0})
    m.step()
    hh = m.hh
    out = hh.exit_year == 2016
    assert out.any()
    assert (hh.stable[out] >= m.line).all()
    lucky = (hh.status == POOR) & (hh.net >= m.line) & (hh.stable < m.line)
    assert lucky.any()  # poor households with a good year stay registered


def test_verification_capacity_limits_the_checks_not_the_standard(small):
    capped = annual(small, 5, **{"assessment.verification_capacity": {2016: 20000}})
    free = annual(small, 5)
    assert capped.loc[2016, "exits"] <= 20000 + 1e-6 < free.loc[2016, "exits"]
    assert capped.loc[2017, "exits"] > free.loc[2017, "exits"]  # the unchecked are checked the next year
