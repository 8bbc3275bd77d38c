"""Invariants of the model, property-tested over random valid scenarios (hypothesis).

Each example draws overrides for a small base scenario (the township at full scale, or Shangluo
at 1:200): budget, income growth and volatility, target pressure, support continuation,
carry-over, batch capacities, the village threshold, and a seed. The model is stepped year by
year and after every year:

* stock and flow: poor_end = poor_start - exits + relapses + new_entrants;
* no negative count or amount anywhere;
* spending from the pools never above the year's budget (appropriations plus carry-over);
* exits come only from the year's pre-exit list; every household that exited honestly passed
  the year-end check, checked here from its definition (stable income as measured, with the
  year's check error, at the line times 1 + margin, safe house, insured, schooling); those whose
  true stable income or conditions fall short are exactly the reported wrongly exited
  (``exits_wrong``); a declared exit under target pressure failed the check, was within the
  pressure band and is counted in ``exits_paper``;
* a village is marked exited only with its incidence (综合贫困发生率: poor, missed and wrongly
  exited) below its threshold and infrastructure done; a county first qualifies only with its
  weighted incidence below its threshold, wrongly exited and missed shares below their maxima
  and enough poor villages exited; its exit is granted exactly ``county_grant_lag`` years after
  it first qualified, never otherwise; a hat once off stays off (missed flags are drawn at
  random, the hook the assessment would set; wrongly exited are set by the assessment);
* cumulative exits never exceed the people ever in poverty (initial register, new entrants,
  relapses), and households ever exited are a subset of those ever registered.

And the same seed gives the same tables on 1 and 2 worker processes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT, SHANGLUO
import tuopin.sim.loop as loop
from tuopin import UserError, load_scenario
from tuopin.sim.agents import BATCH_INDEX, CAUSE_BIT, EXITED, NEAR, POOR
from tuopin.sim.assessment import check_error, meets_standard
from tuopin.sim import flows
from tuopin.sim.model import PovertyModel
from tuopin.experiments.replicates import run_replicates
from tuopin.scenario import FUNDED_BATCHES

TOWNSHIP = ROOT / "scenarios" / "township.yaml"
BASES = {"township": (TOWNSHIP, 1.0), "shangluo": (SHANGLUO, 0.005)}
FUNDED = FUNDED_BATCHES


CAPACITIES = {name: {b: getattr(load_scenario(path).batches, b).capacity for b in FUNDED}
              for name, (path, _) in BASES.items()}


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[str, dict, int]:
    """A valid scenario as (base name, overrides, seed): a small base with drawn overrides."""
    name = draw(st.sampled_from(sorted(BASES)))
    factor = draw(st.floats(0.0, 3.0))
    overrides = {
        "scale": BASES[name][1],
        "funding.multiplier": draw(st.floats(0.0, 2.0)),
        "funding.carryover_share": draw(st.floats(0.0, 1.0)),
        "economy.income_growth": draw(st.floats(-0.1, 0.3)),
        "economy.income_volatility": draw(st.floats(0.0, 0.6)),
        "assessment.target_pressure": draw(st.floats(0.0, 1.0)),
        "assessment.pressure_band": draw(st.floats(0.0, 0.5)),
        "relapse.support_continuation_years": draw(st.integers(0, 6)),
        "exit_rules.village_incidence_threshold": draw(st.floats(0.0, 0.3)),
        "exit_rules.county_incidence_threshold": draw(st.floats(0.0, 0.3)),
        "exit_rules.county_min_village_exit_share": draw(st.floats(0.0, 1.0)),
        "exit_rules.county_grant_lag": draw(st.integers(0, 2)),
        **{f"batches.{b}.capacity": {year: v * factor for year, v in cap.items()}
           for b, cap in CAPACITIES[name].items()},
    }
    flagged = draw(st.floats(0.0, 0.06))  # share of households flagged wrongly exited / missed
    return name, {**overrides, "flagged": flagged}, draw(st.integers(0, 2**32))


def build(drawn: tuple[str, dict, int]):
    """The drawn scenario, validated (every drawn value is allowed, so a refusal is a bug)."""
    name, overrides, seed = drawn
    overrides = {k: v for k, v in overrides.items() if k != "flagged"}
    try:
        return load_scenario(BASES[name][0], overrides=overrides), seed
    except UserError as exc:
        raise AssertionError(f"drawn scenario refused: {exc}") from None


def exit_conditions(m: PovertyModel) -> np.ndarray:
    """两不愁三保障 beyond income from its definition (DOMAIN.md), independent of ``assessment``:
    a safe house, insurance, and no child out of school for cost."""
    hh = m.hh
    school_poor = (hh.causes & CAUSE_BIT["school"]) != 0
    schooled = ~school_poor | (hh.students == 0) | (hh.enrolled[BATCH_INDEX["education"]] >= 0)
    return hh.house_ok & hh.insured & schooled


def exit_standard(m: PovertyModel) -> np.ndarray:
    """The exit standard: stable income at the line and every condition."""
    return (m.hh.stable >= m.line) & exit_conditions(m)


def passes_check(m: PovertyModel) -> np.ndarray:
    """What the year-end check finds: stable income times the year's check error at the bar, and
    every condition."""
    a = m.p.assessment
    measured = m.hh.stable * np.exp(a.measurement_error * check_error(m, m.hh.key))
    return (measured >= m.line * (1 + a.exit_margin)) & exit_conditions(m)


def check_year(m: PovertyModel, before: dict, cumulative: dict) -> None:
    """Every invariant for the year ``m`` has just simulated."""
    f, hh, v, c, year = m.flows, m.hh, m.villages, m.counties, m.year
    people = hh.size * hh.weight  # real people
    close = lambda a, b: abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1.0)  # noqa: E731
    # Stock and flow, in real people.
    assert close(f["poor_end"], f["poor_start"] - f["exits"] + f["relapses"] + f["new_entrants"])
    assert close(f["poor_start"], before["poor"])
    assert close(f["poor_end"], people[hh.status == POOR].sum())
    # The headline quantities: net reduction of the register, distinct people exited in the
    # simulated years (the stock exited before the first year is not counted).
    assert close(f["net_reduction"], f["poor_start"] - f["poor_end"])
    assert close(f["lifted_total"], people[m.lifted].sum())
    assert people[m.lifted & (hh.status == EXITED)].sum() <= f["sustained_exits"] * (1 + 1e-12)
    assert f["lifted_total"] >= cumulative.get("lifted", 0) * (1 - 1e-12)
    cumulative["lifted"] = f["lifted_total"]
    # No negative counts or amounts.
    for key in flows.of_unit("people", "yuan") - set(flows.names("signed")) & set(f) | {"villages_exited", "villages_exited_total", "villages_built",
                                "counties_exited", "counties_exited_total"}:
        assert f[key] >= 0, key
    assert (hh.size > 0).all() and (hh.weight >= 1).all() and np.isin(hh.status, [NEAR, POOR, EXITED]).all()
    # Spending within the year's budget (appropriations times multiplier plus carry-over).
    assert f["spending"] <= f["budget"] * (1 + 1e-9) + 1e-6
    assert abs(f["budget"] - f["spending"] - f["unspent"]) <= 1e-6 * max(f["budget"], 1.0)
    by_item = sum(f[f"spending_{b}"] for b in FUNDED) + f["spending_infrastructure"] + f["spending_pre_exit_help"] \
        + f["spending_monitoring"]
    assert abs(by_item - f["spending"]) <= 1e-6 * max(f["spending"], 1.0)
    # Exits: who left this year, honestly or declared under pressure.
    exited = (hh.exit_year == year) & before["poor_mask"]
    paper = exited & hh.paper_exit
    honest = exited & ~hh.paper_exit
    assert close(people[exited].sum(), f["exits"])
    assert close(people[paper].sum(), f["exits_paper"])
    assert before["listed"][exited].all(), "an exit that was not on the pre-exit list"
    assert before["check"][honest].all(), "an honest exit did not pass the year-end check"
    assert not before["check"][paper].any(), "a declared exit passed the check (should be honest)"
    assert close(people[exited & ~before["standard"]].sum(), f["exits_wrong"])
    band = 1 - m.p.assessment.pressure_band
    assert (before["stable"][paper] >= band * m.line - 1e-9).all()
    assert -1e-9 <= f["lifted_total"] - before["lifted"] <= f["exits"] * (1 + 1e-12) + 1e-9  # real (weighted) people
    if m.p.assessment.target_pressure == 0:
        assert f["exits_paper"] == 0
    # Villages: exited only below the threshold (official formula), with infrastructure; never back.
    counted = (hh.status == POOR) | hh.missed | hh.wrongly_exited
    poor_v = np.bincount(hh.village, weights=hh.size * counted, minlength=len(v))  # whole villages
    new_v = v.exit_year == year
    assert (v.exit_year[before["village_exit"] >= 0] == before["village_exit"][before["village_exit"] >= 0]).all()
    assert (v.poor_village[new_v] & v.infra_done[new_v]).all()
    if m.p.exit_rules.village_rule == "incidence":
        assert (poor_v[new_v] / v.population[new_v] < v.threshold[new_v]).all()
    assert close(v.weight[new_v].sum(), f["villages_exited"])
    # Counties: first qualified only when the rule held that year; granted only lag years later.
    rules = m.p.exit_rules
    by = lambda mask: np.bincount(hh.county, weights=people * mask, minlength=len(c))  # noqa: E731
    gone = by(hh.status == EXITED)
    wrong = np.divide(by((hh.status == EXITED) & hh.wrongly_exited), gone, out=np.zeros(len(c)), where=gone > 0)
    outside = c.rural_population - by(hh.status != NEAR)
    missed = np.divide(by((hh.status == NEAR) & hh.missed), outside, out=np.zeros(len(c)), where=outside > 0)
    poor_vw = np.bincount(v.county, weights=v.weight * v.poor_village, minlength=len(c))
    done_vw = np.bincount(v.county, weights=v.weight * (v.poor_village & (v.exit_year >= 0)), minlength=len(c))
    share = np.divide(done_vw, poor_vw, out=np.ones(len(c)), where=poor_vw > 0)
    first = c.first_qualified_year == year
    assert (before["county_qualified"][first] < 0).all()
    was = before["county_qualified"] >= 0
    assert (c.first_qualified_year[was] == before["county_qualified"][was]).all()
    assert (by(counted)[first] / c.rural_population[first] < c.threshold[first]).all()
    assert (wrong[first] < rules.wrongly_exited_max).all() and (missed[first] < rules.missed_max).all()
    assert (share[first] >= rules.county_min_village_exit_share).all() and c.poor_county[first].all()
    new_c = c.exit_year == year
    assert (c.exit_year[before["county_exit"] >= 0] == before["county_exit"][before["county_exit"] >= 0]).all()
    due = (c.first_qualified_year >= 0) & (c.first_qualified_year + rules.county_grant_lag == year)
    assert np.array_equal(new_c, due & (before["county_exit"] < 0))
    assert len(new_c.nonzero()[0]) == f["counties_exited"]
    # Cumulative exits against the people who were ever in poverty.
    cumulative["exits"] += f["exits"]
    cumulative["in"] += f["relapses"] + f["new_entrants"]
    assert cumulative["exits"] <= cumulative["in"] * (1 + 1e-12)
    ever_exited = hh.exit_year >= 0
    assert (hh.registered_year[ever_exited] >= 0).all()
    assert people[ever_exited].sum() <= people[hh.registered_year >= 0].sum() * (1 + 1e-12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_invariants_hold_every_year(drawn):
    scenario, seed = build(drawn)
    m = PovertyModel(scenario, rng=seed)
    flags = np.random.default_rng(seed).random((2, len(m.hh))) < drawn[1]["flagged"]
    m.hh.wrongly_exited, m.hh.missed = flags[0], flags[1]
    seen: dict[str, np.ndarray] = {}
    real = loop.assessment.assess

    def spy(model: PovertyModel, listed: np.ndarray):
        """The standard, the check and incomes as the assessment sees them, then the assessment itself."""
        seen["standard"] = exit_standard(model)
        assert np.array_equal(seen["standard"], meets_standard(model))
        seen["check"] = passes_check(model)
        seen["listed"] = np.isin(np.arange(len(model.hh)), listed)
        seen["stable"] = model.hh.stable.copy()
        return real(model, listed)

    cumulative = {"exits": 0, "in": m.hh.people(m.hh.status == POOR)}
    loop.assessment.assess = spy
    try:
        while m.running:
            before = {"poor": m.hh.people(m.hh.status == POOR), "poor_mask": m.hh.status == POOR,
                      "lifted": m.hh.people(m.lifted),
                      "village_exit": m.villages.exit_year.copy(), "county_exit": m.counties.exit_year.copy(),
                      "county_qualified": m.counties.first_qualified_year.copy()}
            m.step()
            check_year(m, {**before, **seen}, cumulative)
    finally:
        loop.assessment.assess = real


@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_same_seed_same_result_on_one_or_two_workers(drawn):
    scenario, seed = build(drawn)
    one = run_replicates(scenario, replicates=3, seed=seed, workers=1)
    two = run_replicates(scenario, replicates=3, seed=seed, workers=2)
    pd.testing.assert_frame_equal(one.annual, two.annual)
    pd.testing.assert_frame_equal(one.counties, two.counties)
