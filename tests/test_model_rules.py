"""The model's rules: exit standard, budget, social floor, relapse, accounting."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tuopin import PovertyModel
from tuopin.sim.agents import EXITED, POOR
from tuopin.sim.assessment import assess, meets_standard
from tuopin.sim.income import draw_shocks
from tuopin.experiments.replicates import county_table, run_replicates


def test_exit_needs_every_condition_not_income_alone(small):
    m = PovertyModel(small, rng=3, overrides={"assessment.measurement_error": 0.0})
    m.year = 2016
    m.shocks = draw_shocks(m)
    hh = m.hh
    poor = np.flatnonzero(hh.status == POOR)
    hh.stable[:] = m.line * 2  # everyone is rich enough
    hh.insured[:] = True
    no_house, no_insurance, ok = poor[:50], poor[50:100], poor[100:150]
    hh.house_ok[poor[:150]] = True
    hh.causes[poor[:150]] &= ~np.uint16(1 << 2)  # clear 因学 so schooling holds
    hh.house_ok[no_house] = False
    hh.insured[no_insurance] = False
    exited, _, wrong = assess(m, poor)
    assert not wrong.any()
    assert not exited[no_house].any()
    assert not exited[no_insurance].any()
    assert exited[ok].all()


def test_exit_needs_income_too(small):
    m = PovertyModel(small, rng=3)
    m.year = 2016
    hh = m.hh
    hh.house_ok[:] = True
    hh.insured[:] = True
    hh.students[:] = 0
    hh.stable[:] = m.line * 0.99
    hh.net[:] = m.line * 2  # a good year is not stable income
    assert not meets_standard(m).any()
    hh.stable[:] = m.line
    hh.net[:] = m.line * 0.5  # nor does a bad year undo it
    assert meets_standard(m).all()


@pytest.mark.parametrize("multiplier", [0.2, 1.0])
def test_budget_is_never_exceeded(small, multiplier):
    result = run_replicates(small.model_copy(), replicates=3, seed=11)
    m = PovertyModel(small, rng=5, overrides={"funding.multiplier": multiplier})
    m.run()
    df = m.datacollector.get_model_vars_dataframe()
    assert (df["spending"] <= df["budget"] * (1 + 1e-9)).all()
    spent_items = df[[c for c in df.columns if c.startswith("spending_") and c != "spending_floor"]].sum(axis=1)
    assert np.allclose(spent_items, df["spending"])
    assert np.allclose(df["unspent"], df["budget"] - df["spending"])
    assert len(result.annual) == 15


def test_tight_budget_binds(small):
    rich = PovertyModel(small, rng=5)
    poor = PovertyModel(small, rng=5, overrides={"funding.multiplier": 0.2})
    rich.run(), poor.run()
    spent_rich = rich.datacollector.get_model_vars_dataframe()["spending"].sum()
    spent_poor = poor.datacollector.get_model_vars_dataframe()["spending"].sum()
    assert spent_poor < 0.5 * spent_rich


def test_social_floor_covers_everyone_eligible(small):
    m = PovertyModel(small, rng=7, overrides={"batches.social_floor.coverage": {2016: 1.0}})
    for _ in range(3):
        m.step()
        hh = m.hh
        # Registered before this year's payment (new entrants are registered at year end).
        eligible = (hh.status != 0) & (hh.labour == 0) & (hh.registered_year < m.year)
        assert eligible.any()
        # Every registered household without labour ends the year with stable income at the line.
        assert (hh.stable[eligible] >= m.line - 1e-9).all()


def test_social_floor_coverage_phases_in(small):
    half = PovertyModel(small, rng=7, overrides={"batches.social_floor.coverage": {2016: 0.5}})
    full = PovertyModel(small, rng=7, overrides={"batches.social_floor.coverage": {2016: 1.0}})
    half.step(), full.step()
    assert 0 < half.flows["enrolled_social_floor"] < 0.7 * full.flows["enrolled_social_floor"]


def _relapses(scenario, years_kept: int, seed: int) -> float:
    """Relapses in 2017-2019, while support continues for the households exited from 2016 on (with
    3 years kept, 2016's exits lose it in 2020, and the relapses it held back come then)."""
    m = PovertyModel(scenario, rng=seed, overrides={"relapse.support_continuation_years": years_kept})
    m.run()
    return float(m.datacollector.get_model_vars_dataframe().set_index("year").loc[2017:2019, "relapses"].sum())


def test_relapse_higher_without_support_continuation(small):
    # Paired on the same seeds (same population and shocks): support is the only difference.
    pairs = [(_relapses(small, 0, seed), _relapses(small, 3, seed)) for seed in range(4)]
    assert all(without >= kept for without, kept in pairs), pairs
    assert sum(w for w, _ in pairs) > 1.1 * sum(k for _, k in pairs), pairs


def test_stock_flow_identity_and_no_double_counting(small):
    result = run_replicates(small, replicates=4, seed=2)
    df = result.annual.sort_values(["replicate", "year"])
    lhs = df["poor_end"]
    rhs = df["poor_start"] - df["exits"] + df["relapses"] + df["new_entrants"]
    assert np.allclose(lhs, rhs)
    for _, g in df.groupby("replicate"):
        assert np.allclose(g["poor_start"].iloc[1:].to_numpy(), g["poor_end"].iloc[:-1].to_numpy())
        # Each person who exited is either still out or counted once as relapsed (the stock
        # exited before the first year is the constant difference).
        stock = g["sustained_exits"] - (g["exits"] - g["relapses"]).cumsum()
        assert np.allclose(stock, stock.iloc[0]) and stock.iloc[0] > 0
        assert np.allclose(g["net_reduction"], g["poor_start"] - g["poor_end"])
        assert (g["lifted_total"].diff().iloc[1:] >= 0).all()
        assert (g["lifted_total"] <= g["exits"].cumsum() + 1e-6).all()
        assert (g["exits"] <= g["poor_start"]).all()
    assert (df[["exits", "relapses", "new_entrants", "poor_end"]] >= 0).all().all()


def test_exited_households_met_the_standard_in_their_exit_year_but_the_wrongly_exited(small):
    m = PovertyModel(small, rng=9)
    wrong = 0.0
    for _ in range(5):
        m.step()
        hh = m.hh
        just_out = (hh.exit_year == m.year) & (hh.status == EXITED)
        assert just_out.any()
        missed = just_out & ~meets_standard(m)
        assert hh.people(missed) == pytest.approx(m.flows["exits_wrong"])  # real people
        wrong += hh.people(missed)
    exact = PovertyModel(small, rng=9, overrides={"assessment.measurement_error": 0.0})
    exact.run()
    assert wrong > 0  # a noisy check exits some who are not stably above the line (错退) ...
    assert exact.datacollector.get_model_vars_dataframe()["exits_wrong"].sum() == 0  # an exact one none


def test_reproducible_and_independent_of_workers(small):
    a = run_replicates(small, replicates=4, seed=123, workers=1).annual
    b = run_replicates(small, replicates=4, seed=123, workers=2).annual
    c = run_replicates(small, replicates=4, seed=124, workers=1).annual
    pd.testing.assert_frame_equal(a, b)
    assert not a["exits"].equals(c["exits"])
    # Replicates differ from one another (independent streams).
    assert a.groupby("replicate")["exits"].sum().nunique() > 1


def test_exits_counted_in_people(small):
    m = PovertyModel(small, rng=1)
    m.step()
    df = m.datacollector.get_model_vars_dataframe()
    hh = m.hh
    exited = hh.exit_year == 2016
    assert df["exits"].iloc[0] == pytest.approx((hh.size * hh.weight)[exited].sum())  # real people (weighted)
    assert exited.sum() < hh.size[exited].sum()  # households are fewer than people


def test_floor_schedule_phases_in_and_holds_its_last_level(small):
    from tuopin.sim.interventions.social_floor import floor_level

    schedule = {2017: 0.8, 2019: 1.0}
    assert [floor_level(schedule, y) for y in (2016, 2017, 2018, 2019, 2020)] == [0.0, 0.8, 0.8, 1.0, 1.0]
    m = PovertyModel(small, rng=7, overrides={"batches.social_floor.top_up_to": {2016: 0.5},
                                              "batches.social_floor.coverage": {2016: 1.0}})
    m.step()
    covered = (m.hh.status != 0) & (m.hh.labour == 0) & (m.hh.registered_year < m.year)
    assert (m.hh.stable[covered] >= 0.5 * m.line - 1e-9).all()
    assert (m.hh.stable[covered] < m.line).any()  # a floor at half the line leaves some below it


def test_the_same_seed_sequence_gives_the_same_model_twice(small):
    seq = np.random.SeedSequence(42)
    first, second = PovertyModel(small, rng=seq), PovertyModel(small, rng=seq)
    first.step(), second.step()
    assert first.flows == second.flows
    assert (first.hh.net == second.hh.net).all()


def test_a_model_without_a_scenario_runs_the_shipped_baseline_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no scenarios/ here
    m = PovertyModel(rng=1, overrides={"scale": 0.002})
    m.step()
    assert m.p.name == "shangluo" and m.year == 2016 and m.flows["exits"] > 0


def test_a_years_outputs_are_the_ones_flows_defines_in_its_order(small):
    from tuopin.sim import flows

    annual = run_replicates(small, replicates=1, seed=3).annual
    assert list(annual.columns) == ["replicate", *flows.names(), *(c for c in annual.columns if c.startswith("param."))]
    m = PovertyModel(small, rng=3)
    m.step()
    assert set(m.flows) == {f.name for f in flows.FIELDS if f.origin == "year"}  # the loop fills every field
    assert list(county_table(m, 0).columns) == ["replicate", *flows.names(fields=flows.COUNTY_FIELDS)]


@pytest.mark.parametrize("with_cause, without", [(0.08, 0.03), (0.03, 0.08), (0.05, 0.05)])
def test_illness_strikes_at_its_rate_by_cause(small, with_cause, without):
    m = PovertyModel(small, rng=3, overrides={"economy.illness_rate": with_cause, "economy.illness_rate_other": without})
    m.year = 2016
    u = m.draws.uniform(m.hh.key, "illness", 2016)  # the draw the shocks compare (keyed.py)
    has = m.hh.has_cause("illness")
    assert has.any() and (~has).any()
    ill = draw_shocks(m).ill
    assert np.array_equal(ill, np.where(has, u < with_cause, u < without))
