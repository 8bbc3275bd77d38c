"""The household mechanisms of issue 12, each with a test that fails when the mechanism is broken.

Small populations: Shangluo at 1:50 (``small``) or 1:100; paired runs share a seed, so they share
the register and the shocks (common random numbers) and differ only by the rule changed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tuopin import PovertyModel
from tuopin.sim import assessment, relapse
from tuopin.sim.interventions.industry import Industry
from tuopin.sim.agents import BATCH_INDEX, EXITED, NOT_YET, POOR
from tuopin.sim.income import draw_shocks
from tuopin.sim.interventions.social_floor import ROW as FLOOR

OBSERVED = Path(__file__).resolve().parents[1] / "scenarios" / "observed"
NO_BATCHES = {f"batches.{b}.capacity": {} for b in
              ("industry", "employment", "relocation", "ecology", "education", "medical", "housing")}


def annual(scenario, seed: int, **overrides):
    """One replicate's annual table."""
    m = PovertyModel(scenario, rng=seed, overrides={"funding.capacity_rule": "schedule", **overrides})
    m.run()
    return m.datacollector.get_model_vars_dataframe().set_index("year")


EVERY_YEAR = {year: 0.05 for year in range(2016, 2021)}


def test_monitoring_off_raises_relapse(small):
    # The mechanism, with capacity in every year (the scenario's own schedule starts in 2019).
    on = [annual(small, seed, **{"relapse.monitoring_capacity": EVERY_YEAR})["relapses"].sum() for seed in range(3)]
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
    stuck &= hh.exit_year == NOT_YET  # poor throughout (a household relapsing this year is covered next year)
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
    # While support continues (2017-2019 for 2016's exits; in 2020 it ends and held-back relapses come).
    held = lambda years: sum(annual(small, seed, **{"relapse.support_continuation_years": years}).loc[2017:2019,  # noqa: E731
                                                                                                     "relapses"].sum()
                             for seed in range(3))
    stop, keep = held(0), held(3)
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


def test_monitoring_helps_only_in_the_years_it_existed(small):
    # 防止返贫监测: formalised in 2020 with precursors from 2019; nobody flagged households before.
    df = annual(small, 1)
    assert (df.loc[2016:2018, "monitored_helped"] == 0).all()
    assert (df.loc[2016:2018, "monitored_flagged"] > 0).all()  # at risk, but no one to help them
    assert df.loc[2019:2020, "monitored_helped"].sum() > 0  # from 2019 those found below are helped


def test_the_floor_exits_the_households_it_takes_on_in_that_year(small):
    # 兜底脱贫: poor households the floor covers for the first time this year are checked this year.
    m = PovertyModel(small, rng=7, overrides={"assessment.measurement_error": 0.0})
    m.step()
    hh = m.hh
    entrants = (hh.enrolled[FLOOR] == 2016) & ~m.on_list & (hh.registered_year == 2015)  # poor at the start
    assert entrants.any()
    ok = entrants & assessment.conditions(m)
    assert ok.any() and (hh.exit_year[ok] == 2016).all()  # lifted by the floor, exited the same year
    # The checked list: the pre-exit list first, then the floor's new poor households not on it.
    listed = np.flatnonzero(m.on_list)
    hh.status[entrants] = POOR
    checked = assessment.with_floor_entrants(m, listed)
    assert (checked[: len(listed)] == listed).all()
    assert set(checked[len(listed):]) == set(np.flatnonzero(entrants))


def test_support_is_not_withdrawn_from_2019(small):
    # 四个不摘: from 2019 no exited household's support ends, whatever the continuation period.
    def supported_exited(no_withdrawal_from: int) -> tuple[int, int]:
        m = PovertyModel(small, rng=3, overrides={"relapse.support_continuation_years": 0,
                                                  "relapse.no_withdrawal_from": no_withdrawal_from})
        for _ in range(3):
            m.step()
        m.year = 2019  # the register update of 2019 reads this year's support
        industry = next(b for b in m.batches if isinstance(b, Industry))
        out = industry.enrolled(m) & (m.hh.status == EXITED) & (m.hh.exit_year < 2019)
        return int(out.sum()), int((industry.supported(m) & out).sum())

    enrolled, kept = supported_exited(2019)
    assert enrolled > 0 and kept == enrolled
    enrolled, kept = supported_exited(2030)
    assert enrolled > 0 and kept == 0


def test_county_exits_are_compared_with_the_record_in_their_assessment_year(small):
    # The record's "2016: 28" are the counties assessed for 2016 (announced early 2017): the model's
    # counties_qualified, which counties_exited follows county_grant_lag years later.
    m = PovertyModel(small, rng=2)
    m.run()
    df = m.datacollector.get_model_vars_dataframe().set_index("year")
    lag = m.p.exit_rules.county_grant_lag
    assert df["counties_qualified"].sum() > 0
    for year in df.index:
        if year + lag in df.index:
            assert df.loc[year + lag, "counties_exited"] == df.loc[year, "counties_qualified"]
    for name in ("national_2016_2017.csv", "national_2018_2020_heldout.csv"):
        header = next(line for line in (OBSERVED / name).read_text(encoding="utf-8").splitlines()
                      if line.startswith("year,"))
        assert "counties_qualified" in header.split(",") and "counties_exited" not in header.split(",")
