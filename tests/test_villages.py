"""Villages and counties: a scale samples whole villages (weighted), and 摘帽 is granted by the
county rule (incidence with missed and wrongly exited poor, their shares, the grant lag)."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import SHANGLUO
from tuopin import PovertyModel, load_scenario
from tuopin.experiments.replicates import run_replicates
from tuopin.sim import villages
from tuopin.sim.agents import EXITED, NOT_YET, POOR

LOOSE = {"exit_rules.village_incidence_threshold": 0.06, "exit_rules.county_incidence_threshold": 0.06}
"""Thresholds loose enough that many villages and counties exit under today's household rules, so
that the village and county machinery is exercised (the tests are about it, not the plan)."""


def village_exit_share(scale: float, replicates: int, year: int = 2019) -> np.ndarray:
    """Per replicate: the share of Shangluo's 699 poor villages exited by ``year`` (weighted), with
    the file's thresholds (by 2019 some villages have exited and some have not)."""
    scenario = load_scenario(SHANGLUO, overrides={"scale": scale})
    annual = run_replicates(scenario, replicates=replicates, seed=5).annual
    return annual.loc[annual["year"] == year, "villages_exited_total"].to_numpy() / 699


def test_village_exit_share_does_not_drift_with_scale():
    # Replicate i draws the same uncertain parameters at both scales, so the paired difference
    # holds the sampling noise only. Household sampling (the old rule) exited 416 of 699 at 1:20
    # against 58 at full scale; a sample of whole villages keeps the share.
    full, sample = village_exit_share(1.0, 6), village_exit_share(0.1, 6)
    assert 0.1 < full.mean() < 0.9, "the test needs villages that exit and villages that do not"
    # Measured with keyed draws (seed 5, 6 replicates): 1:10 exits 0.051 +- 0.018 (s.e.) fewer of
    # the 699 by 2019, because the sample ends 2019 with about 2% more poor people (72.3 k against
    # 70.7 k) on the steep part of the villages' exit curve; an open item (see the stop note), and
    # a tenth of the household-sampling drift this test was written to catch.
    assert abs((sample - full).mean()) < 0.08


def test_every_county_and_stratum_is_sampled_and_weights_add_up():
    # 1:500: most strata keep a single village, and every county is still represented
    scenario = load_scenario(SHANGLUO, overrides={"scale": 0.002})
    m = PovertyModel(scenario, rng=3)
    v = m.villages
    for c, row in enumerate(scenario.counties.rows):
        for poor, total in ((True, row.poor_villages), (False, row.other_villages)):
            mine = (v.county == c) & (v.poor_village == poor)
            assert mine.sum() >= 1 and v.weight[mine].sum() == pytest.approx(total)
    # households' weights are calibrated to each county's registered poor (and near-poor) people
    hh = m.hh
    poor = np.bincount(hh.county, weights=hh.size * hh.weight * (hh.status == POOR), minlength=len(m.counties))
    assert poor == pytest.approx([r.poor_people for r in scenario.counties.rows])


def test_scale_one_simulates_every_village_whole():
    scenario = load_scenario(SHANGLUO)
    m = PovertyModel(scenario, rng=3)
    assert len(m.villages) == sum(r.poor_villages + r.other_villages for r in scenario.counties.rows)
    assert (m.hh.weight == 1).all() and (villages.county_incidence_se(m) == 0).all()
    poor = np.bincount(m.hh.county, weights=m.hh.size * (m.hh.status == POOR))
    assert np.array_equal(poor, [r.poor_people for r in scenario.counties.rows])


def qualifying(lag: int = 0) -> PovertyModel:
    """Shangluo at 1:20, its first county (商州区) made to meet every part of the exit rule: every
    poor household exited, every poor village exited, and no missed or wrongly exited poor."""
    m = PovertyModel(load_scenario(SHANGLUO, overrides={"scale": 0.05, "exit_rules.county_grant_lag": lag}), rng=2)
    m.year = 2017
    hh, v = m.hh, m.villages
    hh.status[(hh.county == 0) & (hh.status == POOR)] = EXITED
    v.exit_year[(v.county == 0) & v.poor_village] = 2016
    return m


def flag_wrongly_exited(m: PovertyModel, share: float) -> None:
    """Flag wrongly exited (错退) about ``share`` of the first county's exited people."""
    hh = m.hh
    idx = np.flatnonzero((hh.county == 0) & (hh.status == EXITED))
    people = np.cumsum((hh.size * hh.weight)[idx])
    hh.wrongly_exited[idx[people <= share * people[-1]]] = True


def test_county_below_threshold_with_too_many_wrongly_exited_is_not_granted():
    m = qualifying()
    assert villages.county_qualifies(m, villages.county_indicators(m))[0]  # the control: it qualifies as set up
    flag_wrongly_exited(m, 0.03)
    indicators = villages.county_indicators(m)
    assert indicators["incidence"][0] < m.counties.threshold[0]  # still below its threshold
    assert indicators["wrongly_exited_share"][0] > 0.02
    granted, _, _ = villages.exit_counties(m)
    assert m.counties.name[0] not in granted
    assert m.counties.exit_year[0] == NOT_YET and m.counties.first_qualified_year[0] == NOT_YET


def test_county_with_few_wrongly_exited_is_granted():
    m = qualifying()
    flag_wrongly_exited(m, 0.01)
    assert 0 < villages.county_indicators(m)["wrongly_exited_share"][0] < 0.02
    granted, _, _ = villages.exit_counties(m)
    assert m.counties.name[0] in granted and m.counties.exit_year[0] == 2017


def test_missed_poor_count_in_the_incidence_and_block_the_exit():
    m = qualifying()
    hh = m.hh
    near = np.flatnonzero((hh.county == 0) & (hh.status != POOR) & (hh.status != EXITED))
    hh.missed[near] = True  # every near-poor household of the county missed by the register
    indicators = villages.county_indicators(m)
    assert indicators["incidence"][0] > 0 and indicators["missed_share"][0] > 0.02
    assert not villages.county_qualifies(m, indicators)[0]


def test_exit_granted_the_year_after_it_qualifies_when_the_scenario_says_so():
    m = qualifying(lag=1)
    granted, qualified, _ = villages.exit_counties(m)
    c = m.counties
    assert qualified >= 1 and c.first_qualified_year[0] == 2017
    assert m.counties.name[0] not in granted and c.exit_year[0] == NOT_YET
    m.hh.status[m.hh.county == 0] = POOR  # next year's state does not matter: the 2017 assessment stands
    m.year = 2018
    granted, _, _ = villages.exit_counties(m)
    assert m.counties.name[0] in granted and c.exit_year[0] == 2018 and c.first_qualified_year[0] == 2017


def test_whole_runs_record_the_exit_one_year_after_the_first_qualification():
    scenario = load_scenario(SHANGLUO, overrides={"scale": 0.05, **LOOSE})
    counties = run_replicates(scenario, replicates=3, seed=11).counties
    final = counties[counties["year"] == 2020]
    qualified = final["first_qualified_year"].astype(float)
    granted = final["county_exit_year"].astype(float)
    early = qualified <= 2019
    assert early.any(), "the test needs counties qualifying before the last year"
    assert (granted[early] == qualified[early] + 1).all()
    assert granted[qualified.isna() | (qualified == 2020)].isna().all()
