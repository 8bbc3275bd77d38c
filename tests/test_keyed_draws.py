"""Keyed random numbers (``tuopin.sim.keyed``): a household's draws are a function of the seed, the
household, the year and the purpose, so they do not move when rows are reordered, when other
households are added or removed, when the sample scale changes or with the number of workers,
and two policy variants see the same shocks household by household.

Where a household's fate is compared (not only its draws), the test says what couples it to the
others: money, capacities, the pre-exit quota and the verification capacity are shared, so a
register edit or a smaller sample changes other households' queues; the draws never change.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tuopin import PovertyModel, load_scenario
from tuopin.sim.agents import Households
from tuopin.sim.assessment import check_error
from tuopin.sim.income import NORMAL_SHOCKS, UNIFORM_SHOCKS, shock_draw
from tuopin.sim.interventions.base import NEW, enrolment_draws, lottery
from tuopin.sim.keyed import Draws, child_keys, key_of, text_keys
from tuopin.sim.model import start_replicate
from tuopin.sim.population import synthesize
from tuopin.sim.reference import ReferenceModel
from tuopin.sim.register import fresh_copy
from tuopin.sim.relapse import registration_draw

from conftest import SHANGLUO

SEED = 11


@pytest.fixture(scope="module")
def small():
    return load_scenario(SHANGLUO, overrides={"scale": 0.01})


def rows(hh: Households, order: np.ndarray) -> Households:
    """The households in another order (or a subset of them)."""
    return hh.select(order)


def positions(all_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Positions of ``keys`` in ``all_keys`` (every key must be there)."""
    order = np.argsort(all_keys)
    pos = order[np.minimum(np.searchsorted(all_keys[order], keys), len(all_keys) - 1)]
    assert np.array_equal(all_keys[pos], keys)
    return pos


def by_key(hh: Households, keys: np.ndarray) -> np.ndarray:
    """Positions of the households of ``keys`` in ``hh``."""
    return positions(hh.key, keys)


def year_draws(m: PovertyModel, keys: np.ndarray) -> dict[str, np.ndarray]:
    """Every keyed draw of the model's current year for the households of ``keys``."""
    out = {name: shock_draw(m, name, keys) for name in (*NORMAL_SHOCKS, *UNIFORM_SHOCKS)}
    out["check"] = check_error(m, keys)
    out["registration"] = registration_draw(m, keys)
    out["lottery"] = lottery(m, "industry", NEW, keys)
    out["enrolment"] = enrolment_draws(m, "industry", keys, 2)
    return out


def final_state(m: PovertyModel) -> pd.DataFrame:
    """Each household's state at the end of a run, by key."""
    hh = m.hh
    return pd.DataFrame({"key": hh.key, "status": hh.status, "exit_year": hh.exit_year, "net": hh.net,
                         "stable": hh.stable, "market": hh.market, "house_ok": hh.house_ok,
                         **{f"enrolled_{i}": row for i, row in enumerate(hh.enrolled)}}).sort_values("key",
                                                                                                     ignore_index=True)


# ------------------------------------------------------------------ the generator itself

def test_keyed_uniforms_are_uniform_and_independent_across_purposes_and_keys():
    d = Draws(SEED)
    keys = child_keys(np.full(200_000, key_of("village", "x"), dtype=np.uint64), np.arange(200_000))
    a, b = d.uniform(keys, "illness", 2016), d.uniform(keys, "illness", 2017)
    assert ((a > 0) & (a < 1)).all()
    assert stats.kstest(a, "uniform").pvalue > 1e-4 and stats.kstest(b, "uniform").pvalue > 1e-4
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.01  # another year: independent numbers
    assert abs(np.corrcoef(a[:-1], a[1:])[0, 1]) < 0.01  # neighbouring households: independent
    z = d.normal(keys, "check", 2016)
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01
    assert not np.array_equal(a, Draws(SEED + 1).uniform(keys, "illness", 2016))  # another seed
    # A draw is a function of its key alone: any subset, in any order, reads the same numbers.
    pick = np.random.default_rng(0).permutation(len(keys))[:1000]
    assert np.array_equal(d.uniform(keys[pick], "illness", 2016), a[pick])
    # Register ids: a key is a function of the id's text.
    assert np.array_equal(text_keys(["H2", "H1"], "household"), text_keys(["H1", "H2"], "household")[::-1])


# ------------------------------------------------------------------ invariances

def test_reordered_rows_give_every_household_the_same_draws_and_fate(small):
    population = start_replicate(small, SEED).population
    shuffled = fresh_copy(population)
    order = np.random.default_rng(1).permutation(len(population[0]))
    shuffled = (rows(shuffled[0], order), shuffled[1], shuffled[2])
    a = PovertyModel(small, rng=SEED, population=fresh_copy(population))
    b = PovertyModel(small, rng=SEED, population=shuffled)
    a.run(), b.run()
    pd.testing.assert_frame_equal(final_state(a), final_state(b))
    pd.testing.assert_frame_equal(a.datacollector.get_model_vars_dataframe(), b.datacollector.get_model_vars_dataframe())


def test_a_register_edit_leaves_the_other_households_draws_alone(small):
    population = start_replicate(small, SEED).population
    hh = population[0]
    keep = np.random.default_rng(2).random(len(hh)) > 0.1  # remove a tenth of the households
    edited = (rows(hh, np.flatnonzero(keep)), *fresh_copy(population)[1:])
    a = PovertyModel(small, rng=SEED, population=fresh_copy(population))
    b = PovertyModel(small, rng=SEED, population=edited)
    common = b.hh.key
    pa = by_key(a.hh, common)
    for _ in range(5):
        a.step(), b.step()
        da, db = year_draws(a, common), year_draws(b, common)
        for name in da:
            assert np.array_equal(da[name], db[name]), name
        # Shocks reach every household alike (uncoupled): the same shocks, household by household.
        for field in ("ill", "disaster", "transitory"):
            assert np.array_equal(getattr(a.shocks, field)[pa], getattr(b.shocks, field)), field
    # Fates are coupled (shared money, capacity, quota): some households fare otherwise.
    assert not final_state(a).set_index("key").loc[common].reset_index().equals(final_state(b))


def test_growth_of_market_income_is_the_households_own(small):
    # Market income is a household's own draws only, unless relocation moved it (relocation is
    # funded in a queue, so coupled): identical after a register edit for every household that
    # was not relocated in either run.
    population = start_replicate(small, SEED).population
    keep = np.arange(len(population[0])) % 3 != 0
    a = PovertyModel(small, rng=SEED, population=fresh_copy(population))
    b = PovertyModel(small, rng=SEED, population=(rows(population[0], np.flatnonzero(keep)),
                                                   *fresh_copy(population)[1:]))
    pos = by_key(a.hh, b.hh.key)
    for _ in range(5):
        a.step(), b.step()
    row = next(batch.row for batch in a.batches if batch.name == "relocation")
    stayed = (a.hh.enrolled[row, pos] < 0) & (b.hh.enrolled[row] < 0)
    assert stayed.mean() > 0.5
    assert np.array_equal(a.hh.market[pos][stayed], b.hh.market[stayed])


def test_the_same_draws_on_any_number_of_workers(small):
    seq = np.random.SeedSequence(SEED).spawn(3)[2]
    here = PovertyModel(small, rng=seq)
    here.run()
    with ProcessPoolExecutor(1) as pool:
        there = pool.submit(_run_elsewhere, small, seq).result()
    pd.testing.assert_frame_equal(final_state(here), there)


def _run_elsewhere(scenario, seq) -> pd.DataFrame:
    """A replicate run in another process (a worker)."""
    m = PovertyModel(scenario, rng=seq)
    m.run()
    return final_state(m)


def test_policy_variants_see_the_same_shocks_household_by_household(small):
    a = PovertyModel(small, rng=SEED)
    b = PovertyModel(small, rng=SEED, overrides={"funding.multiplier": 0.8})  # a budget cut
    assert np.array_equal(a.hh.key, b.hh.key)
    differs = False
    for _ in range(5):
        a.step(), b.step()
        for field in ("ill", "disaster", "transitory"):
            assert np.array_equal(getattr(a.shocks, field), getattr(b.shocks, field)), field
        differs |= not np.array_equal(a.hh.status, b.hh.status)
    assert differs  # the policy changes fates; the shocks did not
    # A household enrolled in industry in the same year under both budgets draws the same project.
    row = next(batch.row for batch in a.batches if batch.name == "industry")
    same = (a.hh.enrolled[row] >= 0) & (a.hh.enrolled[row] == b.hh.enrolled[row])
    assert same.sum() > 10
    assert np.array_equal(a.hh.industry_gain[same], b.hh.industry_gain[same])


def test_a_smaller_sample_holds_the_same_villages_and_households():
    full = load_scenario(SHANGLUO, overrides={"scale": 1.0})
    sample = load_scenario(SHANGLUO, overrides={"scale": 0.05})
    big, small_ = synthesize(full, Draws(SEED)), synthesize(sample, Draws(SEED))
    (hh_f, v_f, _), (hh_s, v_s, _) = big, small_
    # The sample's villages are full-scale villages, holding the same people and households.
    vpos = positions(v_f.key, v_s.key)
    pos = by_key(hh_f, hh_s.key)
    assert np.array_equal(vpos[hh_s.village], hh_f.village[pos])
    for name in ("size", "labour", "students", "causes", "harsh", "eco_zone", "house_ok", "insured", "status",
                 "market", "stable"):
        assert np.array_equal(getattr(hh_s, name), getattr(hh_f, name)[pos]), name
    assert np.array_equal(v_s.population, v_f.population[vpos])
    sampled = np.isin(hh_f.village, vpos)
    assert sampled.sum() == len(hh_s)  # every household of a sampled village is in the sample
    assert (hh_s.weight > 1).all() and (hh_f.weight == 1).all()  # only the weights differ


def test_a_smaller_sample_gives_its_households_the_full_runs_draws():
    full = PovertyModel(SHANGLUO, rng=SEED, overrides={"scale": 1.0})
    sample = PovertyModel(SHANGLUO, rng=SEED, overrides={"scale": 0.05})
    keys = sample.hh.key
    pos = by_key(full.hh, keys)
    assert np.array_equal(sample.villages.infra_done, full.villages.infra_done[positions(full.villages.key,
                                                                                        sample.villages.key)])
    for _ in range(2):
        full.step(), sample.step()
        for field in ("ill", "disaster", "transitory"):
            assert np.array_equal(getattr(full.shocks, field)[pos], getattr(sample.shocks, field)), field
        df, ds = year_draws(full, keys), year_draws(sample, keys)
        for name in df:
            assert np.array_equal(df[name], ds[name]), name


def test_the_reference_reads_the_same_draws_replicate_by_replicate(small):
    # With the same keyed draws the per-agent reference and the vectorized model agree replicate by
    # replicate, not only in distribution: to the rounding of sums taken in another order.
    for seed in range(3):
        a, b = PovertyModel(small, rng=seed), ReferenceModel(small, rng=seed)
        a.run(), b.run()
        x = a.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        y = pd.DataFrame(b.records)
        for q in ("exits", "relapses", "new_entrants", "poor_end", "spending", "spending_floor"):
            np.testing.assert_allclose(x[q], y[q], rtol=1e-9, atol=1e-6, err_msg=q)
