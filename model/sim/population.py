"""The synthetic register: households, villages and counties drawn from the plan's aggregates.

What is drawn, in order (all seeded from the ``population`` stream):

1. Registered poor households per county, sizes ``1 + Poisson(mean - 1)``, cut so that each
   county's people add up exactly to ``poor_people x scale``.
2. Near-poor (边缘户) households, ``near_poor_ratio`` per registered household, same sizes.
3. Village of each household: a share ``share_in_poor_villages`` of the poor live in the
   county's poor villages, the rest and all near-poor in its other villages (or poor villages
   when a county lists none). Every village holds ``rural_population / villages`` residents.
4. Labour: a share ``no_labour_share`` of households has no able-bodied member (cause 缺劳力);
   in the others each member works with probability ``labour_per_member`` (at least one).
5. Causes: each cause independently with its prevalence; 缺劳力 follows labour, 因学 implies a
   child in school, 交通条件落后 implies a harsh location.
6. Conditions: harsh-location households have no safe house (relocation or nothing), others lack
   one with ``unsafe_house_share``; insurance with ``insured_share``. Near-poor households meet
   every condition (otherwise they would be registered).
7. Market income per capita: the first year's line times a lognormal ratio (median
   ``income_ratio_median``) for labour households, ``no_labour_income_ratio`` for the rest; the
   near-poor are uniform in ``near_poor_income_ratio`` times the line.
8. The exited stock (``exited_stock``): ``exited_ratio`` people per registered poor person who
   exited in the two years before the first, still in the register and able to relapse.
"""

from __future__ import annotations

import numpy as np

from tuopin.scenario.schema import CAUSES, Population, Scenario
from tuopin.sim.agents import CAUSE_BIT, EXITED, NEAR, NOT_YET, POOR, Counties, Households, Villages


def _sizes_to_total(rng: np.random.Generator, total: int, mean: float) -> np.ndarray:
    """Household sizes that add up exactly to ``total`` people."""
    if total <= 0:
        return np.zeros(0, dtype=np.int16)
    n_draw = int(total / mean * 1.3) + 16
    sizes = np.minimum(1 + rng.poisson(max(mean - 1.0, 0.0), n_draw), 10)
    csum = np.cumsum(sizes)
    while csum[-1] < total:  # rare: draw more until enough people
        more = np.minimum(1 + rng.poisson(max(mean - 1.0, 0.0), n_draw), 10)
        sizes = np.concatenate([sizes, more])
        csum = np.cumsum(sizes)
    k = int(np.searchsorted(csum, total))  # first index where csum >= total
    sizes = sizes[: k + 1].copy()
    sizes[-1] -= int(csum[k] - total)
    return sizes[sizes > 0].astype(np.int16)


def build_villages(p: Scenario, scale: float) -> Villages:
    """Villages of every county: poor villages first, then the others."""
    county, population, poor = [], [], []
    for c, row in enumerate(p.counties.rows):
        n_villages = row.poor_villages + row.other_villages
        per_village = row.rural_population * scale / max(n_villages, 1)
        county += [c] * n_villages
        population += [per_village] * n_villages
        poor += [True] * row.poor_villages + [False] * row.other_villages
    n = len(county)
    return Villages(
        county=np.asarray(county, dtype=np.int16),
        population=np.asarray(population, dtype=np.float64),
        poor_village=np.asarray(poor, dtype=bool),
        infra_done=np.zeros(n, dtype=bool),
        exit_year=np.full(n, NOT_YET, dtype=np.int16),
    )


def build_counties(p: Scenario, scale: float) -> Counties:
    """The county table at simulated scale."""
    rows = p.counties.rows
    return Counties(
        name=[r.name for r in rows],
        name_en=[r.name_en for r in rows],
        rural_population=np.asarray([r.rural_population * scale for r in rows], dtype=np.float64),
        exit_year=np.full(len(rows), NOT_YET, dtype=np.int16),
    )


def fit_village_population(villages: Villages, village: np.ndarray, size: np.ndarray) -> None:
    """Make room: a village holds at least 1.25 times the people the register puts in it."""
    residents = np.bincount(village, weights=size, minlength=len(villages))
    villages.population = np.maximum(villages.population, residents * 1.25)


def _assign_villages(
    rng: np.random.Generator, villages: Villages, county: np.ndarray, in_poor_village: np.ndarray
) -> np.ndarray:
    """Pick a village in each household's county, poor or other as asked (falls back if none)."""
    village = np.empty(len(county), dtype=np.int32)
    u = rng.random(len(county))
    for c in range(int(villages.county.max()) + 1 if len(villages) else 0):
        ids_poor = np.flatnonzero((villages.county == c) & villages.poor_village)
        ids_other = np.flatnonzero((villages.county == c) & ~villages.poor_village)
        for want_poor, ids, fallback in ((True, ids_poor, ids_other), (False, ids_other, ids_poor)):
            pool = ids if len(ids) else fallback
            sel = (county == c) & (in_poor_village == want_poor)
            if sel.any():
                village[sel] = pool[(u[sel] * len(pool)).astype(np.int64)]
    return village


def synthesize(p: Scenario, rng: np.random.Generator) -> tuple[Households, Villages, Counties]:
    """Draw the synthetic register of scenario ``p`` (see module doc)."""
    pop = p.population
    scale = p.scale
    first_year = p.years[0]
    line0 = p.poverty_line[first_year]

    sizes, county, status = [], [], []
    for c, row in enumerate(p.counties.rows):
        poor_sizes = _sizes_to_total(rng, round(row.poor_people * scale), pop.household_size_mean)
        n_near_people = round(row.poor_people * scale * pop.near_poor_ratio)
        near_sizes = _sizes_to_total(rng, n_near_people, pop.household_size_mean)
        exited_sizes = _sizes_to_total(rng, round(row.poor_people * scale * pop.exited_ratio), pop.household_size_mean)
        sizes += [poor_sizes, near_sizes, exited_sizes]
        county += [np.full(len(poor_sizes) + len(near_sizes) + len(exited_sizes), c, dtype=np.int16)]
        status += [np.full(len(poor_sizes), POOR, np.int8), np.full(len(near_sizes), NEAR, np.int8),
                   np.full(len(exited_sizes), EXITED, np.int8)]
    size = np.concatenate(sizes).astype(np.int16)
    county_arr = np.concatenate(county)
    status_arr = np.concatenate(status)
    n = len(size)
    near = status_arr == NEAR

    villages = build_villages(p, scale)
    counties = build_counties(p, scale)
    in_poor_village = (rng.random(n) < pop.share_in_poor_villages) & ~near
    village = _assign_villages(rng, villages, county_arr, in_poor_village)
    fit_village_population(villages, village, size)

    no_labour = rng.random(n) < pop.no_labour_share
    labour = np.maximum(rng.binomial(size, pop.labour_per_member), 1).astype(np.int16)
    labour[no_labour] = 0

    causes = np.zeros(n, dtype=np.uint16)
    u = rng.random((len(CAUSES), n))
    for i, name in enumerate(CAUSES):
        prevalence = pop.causes.get(name, 0.0)
        causes |= np.where(u[i] < prevalence, CAUSE_BIT[name], 0).astype(np.uint16)
    causes &= ~np.uint16(CAUSE_BIT["no_labour"])
    causes |= np.where(labour == 0, CAUSE_BIT["no_labour"], 0).astype(np.uint16)
    school = (causes & CAUSE_BIT["school"]) != 0
    students = np.where(
        school | ((rng.random(n) < pop.student_households_share) & (size >= 2)),
        1 + (rng.random(n) < 0.3),
        0,
    ).astype(np.int16)
    students = np.minimum(students, np.maximum(size - 1, 1)).astype(np.int16)

    harsh = (rng.random(n) < pop.harsh_location_share) | ((causes & CAUSE_BIT["remote"]) != 0)
    eco_zone = rng.random(n) < pop.eco_zone_share
    house_ok = ~harsh & (rng.random(n) >= pop.unsafe_house_share)
    insured = rng.random(n) < pop.insured_share

    ratio = np.exp(np.log(pop.income_ratio_median) + pop.income_ratio_sigma * rng.standard_normal(n))
    ratio_no_labour = pop.no_labour_income_ratio * np.exp(0.5 * pop.income_ratio_sigma * rng.standard_normal(n))
    lo, hi = pop.near_poor_income_ratio
    ratio_near = rng.uniform(lo, hi, n)
    market = line0 * np.where(near, ratio_near, np.where(labour == 0, ratio_no_labour, ratio))

    # Near-poor households meet every condition; their school and illness risks stay.
    house_ok[near] = True
    harsh[near] = False
    insured[near] = True
    causes[near] &= ~np.uint16(CAUSE_BIT["school"])

    hh = Households.register(
        county=county_arr, village=village, size=size, labour=labour, students=students, causes=causes, harsh=harsh,
        eco_zone=eco_zone, house_ok=house_ok, insured=insured, status=status_arr, market=market,
        first_year=first_year)
    exited_stock(hh, pop, rng, line0, first_year)
    return hh, villages, counties


def exited_stock(hh: Households, pop: Population, rng: np.random.Generator, line: float, first_year: int) -> None:
    """Give the households drawn as exited before the first year (status EXITED) what an exit
    required: every condition met, income uniform in ``exited_income_ratio`` times the first
    year's line, registered two years and exited one year before the first. They had none of
    the programme's batches. No draw is made when there are none (older populations unchanged)."""
    out = hh.status == EXITED
    k = int(out.sum())
    if k == 0:
        return
    lo, hi = pop.exited_income_ratio
    hh.market[out] = line * rng.uniform(lo, hi, k)
    hh.net[out] = hh.market[out]
    hh.stable[out] = hh.market[out]
    hh.house_ok[out] = True
    hh.harsh[out] = False
    hh.insured[out] = True
    hh.causes[out] &= ~np.uint16(CAUSE_BIT["school"])
    hh.registered_year[out] = first_year - 2
    hh.exit_year[out] = first_year - 1
