"""The synthetic register: households, villages and counties drawn from the plan's aggregates.

What is drawn (keyed draws, ``keyed.py``: a village's people by its stratum, everything else of a
household by its own key, so a village and its households are the same at any scale):

1. Villages (cluster sampling): at scale 1 every village of every county; below 1, in each
   county a sample of its poor villages and a sample of its other villages (``round(scale x
   N)``, at least one of each stratum that exists), each simulated whole and weighted ``N / n``
   (``build_villages``); households' weights are calibrated to the county table's people of
   each stratum, so weighted totals are in real people (``calibrated_weights``).
2. People per village: a share ``share_in_poor_villages`` of the county's registered poor live
   in its poor villages, the rest and all near-poor (边缘户, ``near_poor_ratio`` per registered
   person) in its other villages (or all in one stratum when a county has only one). Villages
   differ (``village_poor_cv``); the split is drawn for all of a stratum's villages, so a sampled
   village holds the people it holds at full scale, and at scale 1 each county's people add up
   exactly (``_village_people``).
3. Households per village, sizes ``1 + Poisson(mean - 1)``, each keyed by its village and its
   place in it, the last one cut where it would pass the village's people, so each village holds
   exactly its people (``_households_in_villages``). Every village holds
   ``rural_population / villages`` residents (more if its register needs room).
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

import math

import numpy as np

from tuopin.scenario.schema import CAUSES, CountyRow, Population, Scenario
from tuopin.sim import heap
from tuopin.sim.agents import CAUSE_BIT, EXITED, NEAR, NOT_YET, POOR, Counties, Households, Villages
from tuopin.sim.keyed import Draws, child_keys, key_of, key_order


KINDS = (POOR, NEAR, EXITED)
"""The statuses a synthetic register is drawn in: registered poor, near-poor, and exited before the
first year (``exited_stock``)."""


def sample_size(total: int, scale: float) -> int:
    """Villages simulated of a stratum of ``total``: ``round(scale x total)``, at least one (every
    stratum that has villages is represented) and at most all of them."""
    return min(total, max(1, round(total * scale))) if total > 0 else 0


def _size_cdf(mean: float) -> np.ndarray:
    """P(X <= k), k = 0..8, of X ~ Poisson(mean - 1): a household's size is ``1 + X`` capped at 10."""
    lam = max(mean - 1.0, 0.0)
    terms = [math.exp(-lam) * lam**k / math.factorial(k) for k in range(9)]
    return np.cumsum(terms)


def _households_in_villages(draws: Draws, village_keys: np.ndarray, people: np.ndarray, kind: int,
                            mean: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Households holding exactly ``people[j]`` people in village ``j``: the ``i``-th household of
    a village (and kind) has key ``child_keys(village key, i)`` and size ``1 + Poisson(mean - 1)``
    (at most 10) drawn with that key; the household that would take the village past its people
    is cut there. So a village's households depend on the village alone, not on the sample.
    Returns (sizes, village position, key) of each household."""
    cdf = _size_cdf(mean)
    slots = np.where(people > 0, np.ceil(people / mean * 1.3).astype(np.int64) + 16, 0)
    while True:  # rarely more than once: a village whose slots hold too few people gets more
        village = np.repeat(np.arange(len(people), dtype=np.int32), slots)
        starts = np.cumsum(slots) - slots
        index = np.arange(len(village)) - np.repeat(starts, slots)
        keys = child_keys(village_keys[village], index, "household", kind)
        u = draws.uniform(keys, "household size")
        sizes = np.ones(len(u), dtype=np.int16)
        for q in cdf:  # 1 + how many of P(X <= k) are below u: the inverse CDF, 4x faster than searchsorted
            sizes += q < u
        del u
        ends = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)])  # people before each slot
        short = ends[starts + slots] - ends[starts] < people
        if not short.any():
            break
        slots[short] = np.maximum(2 * slots[short], people[short])  # sizes are >= 1: enough
    before = ends[:-1] - np.repeat(ends[starts], slots)  # people before it in its village
    room = people[village] - before
    keep = room > 0
    return np.compress(keep, np.minimum(sizes, room)).astype(np.int16), np.compress(keep, village), np.compress(keep, keys)


def build_villages(p: Scenario, scale: float) -> Villages:
    """The simulated villages, county by county, poor villages first.

    At scale 1 every village, each standing for itself (weight 1): the order a household
    register numbers them in. Below 1, a stratified sample: in each county, ``sample_size`` of
    its poor villages and of its other villages, each standing for ``N / n`` villages of its
    stratum. Villages of a stratum are exchangeable (their people are drawn afterwards, see
    ``_village_people``), so the sample is the stratum's first ``n``: a smaller sample is a subset
    of a larger one. A village holds ``rural_population / villages`` residents of its county,
    whatever the scale. Its key names it by its county, stratum and place in the stratum.
    """
    county, population, poor, weight, threshold, key = [], [], [], [], [], []
    for c, row in enumerate(p.counties.rows):
        per_village = row.rural_population / max(row.poor_villages + row.other_villages, 1)
        for is_poor, total in ((True, row.poor_villages), (False, row.other_villages)):
            n = sample_size(total, scale)
            county += [c] * n
            population += [per_village] * n
            poor += [is_poor] * n
            weight += [total / n if n else 0.0] * n
            threshold += [by_region(p.exit_rules.village_incidence_threshold, row.region)] * n
            key.append(child_keys(np.full(n, key_of("village", row.name, int(is_poor)), dtype=np.uint64), np.arange(n)))
    n = len(county)
    return Villages(
        county=np.asarray(county, dtype=np.int16),
        population=np.asarray(population, dtype=np.float64),
        poor_village=np.asarray(poor, dtype=bool),
        infra_done=np.zeros(n, dtype=bool),
        exit_year=np.full(n, NOT_YET, dtype=np.int16),
        weight=np.asarray(weight, dtype=np.float64),
        threshold=np.asarray(threshold, dtype=np.float64),
        key=np.concatenate(key) if key else np.zeros(0, dtype=np.uint64),
    )


def build_counties(p: Scenario) -> Counties:
    """The county table (real people), with each county's incidence threshold."""
    rows = p.counties.rows
    threshold = p.exit_rules.county_incidence_threshold
    return Counties(
        name=[r.name for r in rows],
        name_en=[r.name_en for r in rows],
        rural_population=np.asarray([r.rural_population for r in rows], dtype=np.float64),
        exit_year=np.full(len(rows), NOT_YET, dtype=np.int16),
        first_qualified_year=np.full(len(rows), NOT_YET, dtype=np.int16),
        threshold=np.asarray([by_region(threshold, r.region) for r in rows], dtype=np.float64),
        poor_county=np.asarray([r.poor_county for r in rows], dtype=bool),
    )


def by_region(threshold: float | dict[str, float], region: str | None) -> float:
    """A threshold given as one share, or per region, for a county of ``region``."""
    return threshold[str(region)] if isinstance(threshold, dict) else threshold  # validated: every region has one


def fit_village_population(villages: Villages, hh: Households) -> None:
    """Make room: a village holds at least 1.25 times the people the register ``hh`` puts in it."""
    villages.population = np.maximum(villages.population, hh.village_people(len(villages)) * 1.25)


def _village_people(rng: np.random.Generator, totals: list[int], n_all: int, n_sampled: int, cv: float) -> np.ndarray:
    """People of each of a stratum's ``totals`` (poor, near-poor, exited) in each of its first
    ``n_sampled`` villages, shape (len(totals), n_sampled).

    Every one of the stratum's ``n_all`` villages gets a weight, gamma with coefficient of
    variation ``cv`` (equal when 0); the people fall into villages multinomially in proportion to
    it. ``rng`` is the stratum's own (keyed by the stratum), and the draws are made for all its
    villages whatever the sample, so a sampled village holds the people it holds at full scale
    (and at scale 1 the totals are exact).
    """
    out = np.zeros((len(totals), n_sampled), dtype=np.int64)
    if n_sampled == 0:
        return out
    share = rng.gamma(1.0 / cv**2, size=n_all) if cv > 0 else np.ones(n_all)
    share = share / share.sum()
    for k, total in enumerate(totals):
        if total > 0:
            out[k] = rng.multinomial(total, share)[:n_sampled]
    return out


def stratum_people(row: CountyRow, pop: Population) -> dict[bool, list[int]]:
    """A county's registered poor, near-poor and exited-before-the-start people (``KINDS``), by
    stratum (poor villages or not): a share ``share_in_poor_villages`` of the poor, and of the
    exited, in poor villages, the rest and every near-poor person in the other villages (all in
    whichever stratum exists when a county has one)."""
    poor = row.poor_people
    near = round(poor * pop.near_poor_ratio)
    exited = round(poor * pop.exited_ratio)
    if row.poor_villages == 0 or row.other_villages == 0:
        return {row.poor_villages > 0: [poor, near, exited], row.poor_villages == 0: [0, 0, 0]}
    in_poor = round(poor * pop.share_in_poor_villages)
    exited_in_poor = round(exited * pop.share_in_poor_villages)
    return {True: [in_poor, 0, exited_in_poor], False: [poor - in_poor, near, exited - exited_in_poor]}


def calibrated_weights(p: Scenario, villages: Villages, village: np.ndarray, status: np.ndarray,
                       size: np.ndarray) -> np.ndarray:
    """Each household's weight: its village's ``N / n``, calibrated so that the sample's weighted
    registered poor, near-poor and exited people of each county stratum equal the known totals.

    The county table gives each stratum's people (``stratum_people``), so the sample's t0 error in
    them is removed (a ratio estimator): otherwise a sample holding 18% too many poor would keep
    them all, since capacities and budgets are real, and the error would grow as exits shrink the
    remainder. A cell the sample holds nobody of keeps its village weight. At scale 1 every
    factor is 1.
    """
    m = len(KINDS)
    position = np.zeros(max(KINDS) + 1, dtype=np.int64)
    position[list(KINDS)] = np.arange(m)
    kind = position[status]  # each household's place in KINDS
    cell = ((villages.county.astype(np.int64) * 2 + villages.poor_village) * m)[village] + kind  # county, stratum, kind
    k = 2 * m * len(p.counties.rows)
    weight = villages.weight[village]
    estimate = np.bincount(cell, weights=size * weight, minlength=k)
    target = np.zeros(k)
    for c, row in enumerate(p.counties.rows):
        for is_poor, people in stratum_people(row, p.population).items():
            target[(c * 2 + is_poor) * m: (c * 2 + is_poor) * m + m] = people
    factor = np.divide(target, estimate, out=np.ones(k), where=estimate > 0)
    weight *= factor[cell]
    return weight


def _binomial(u: np.ndarray, n: np.ndarray, p: float) -> np.ndarray:
    """Binomial(n, p) numbers by inversion of the uniform numbers ``u`` (n at most 10)."""
    cdf = np.asarray([[min(1.0, math.fsum(math.comb(m, i) * p**i * (1 - p) ** (m - i) for i in range(min(j, m) + 1)))
                       for j in range(11)] for m in range(11)])  # CDF of Binomial(m, p) at j
    out = np.zeros(len(u), dtype=np.int16)
    for j in range(10):
        out += cdf[n, j] < u
    return out


def synthesize(p: Scenario, draws: Draws) -> tuple[Households, Villages, Counties]:
    """Draw the synthetic register of scenario ``p`` (see module doc) with the replicate's keyed draws."""
    pop = p.population
    scale = p.scale
    first_year = p.years[0]
    line0 = p.poverty_line[first_year]

    villages = build_villages(p, scale)
    counties = build_counties(p)
    counts = np.zeros((len(KINDS), len(villages)), dtype=np.int64)  # poor, near-poor, exited people per village
    first = 0  # build_villages lays villages out county by county, poor villages first
    for row in p.counties.rows:
        people = stratum_people(row, pop)
        for is_poor, n_all in ((True, row.poor_villages), (False, row.other_villages)):
            n = sample_size(n_all, scale)
            rng = draws.generator("village people", row.name, int(is_poor))
            counts[:, first:first + n] = _village_people(rng, people[is_poor], n_all, n, pop.village_poor_cv)
            first += n
    # a large register: the set-up's and the years' temporaries from the heap (a slot's key is 8 bytes)
    heap.keep_in_heap(int(counts.sum() / pop.household_size_mean) * 8)
    sizes, village_of, status, keys = [], [], [], []
    for k, code in enumerate(KINDS):
        drawn, where, key = _households_in_villages(draws, villages.key, counts[k], int(code), pop.household_size_mean)
        sizes.append(drawn)
        village_of.append(where)
        status.append(np.full(len(drawn), code, dtype=np.int8))
        keys.append(key)
    # households in the order of their keys from here on (``in_key_order``): each attribute is
    # drawn in that order, so the register is never copied to reorder it
    hk = np.concatenate(keys)
    order = key_order(hk)
    hk = hk[order]
    size = np.concatenate(sizes)[order]
    village = np.concatenate(village_of)[order]
    status_arr = np.concatenate(status)[order]
    del sizes, village_of, status, keys, order
    county_arr = villages.county[village]
    near = status_arr == NEAR
    u = lambda *purpose: draws.uniform(hk, *purpose)  # noqa: E731  (each household's own numbers)

    no_labour = u("no labour") < pop.no_labour_share
    labour = np.maximum(_binomial(u("labour"), size, pop.labour_per_member), 1).astype(np.int16)
    labour[no_labour] = 0

    causes = np.zeros(len(size), dtype=np.uint16)
    for name in CAUSES:
        prevalence = pop.causes.get(name, 0.0)
        causes |= (u("cause", name) < prevalence) * np.uint16(CAUSE_BIT[name])
    causes &= ~np.uint16(CAUSE_BIT["no_labour"])
    causes |= (labour == 0) * np.uint16(CAUSE_BIT["no_labour"])
    school = (causes & CAUSE_BIT["school"]) != 0
    students = np.where(
        school | ((u("student household") < pop.student_households_share) & (size >= 2)),
        1 + (u("second student") < 0.3),
        0,
    ).astype(np.int16)
    students = np.minimum(students, np.maximum(size - 1, 1)).astype(np.int16)

    harsh = (u("harsh location") < pop.harsh_location_share) | ((causes & CAUSE_BIT["remote"]) != 0)
    eco_zone = u("eco zone") < pop.eco_zone_share
    house_ok = ~harsh & (u("unsafe house") >= pop.unsafe_house_share)
    insured = u("insured") < pop.insured_share

    # Near-poor households meet every condition; their school and illness risks stay.
    house_ok |= near
    harsh &= ~near
    insured |= near
    causes &= ~(near * np.uint16(CAUSE_BIT["school"]))

    hh = Households.register(
        county=county_arr, village=village, size=size, labour=labour, students=students, causes=causes, harsh=harsh,
        eco_zone=eco_zone, house_ok=house_ok, insured=insured, status=status_arr,
        market=market_income(pop, draws, hk, labour == 0, near, line0),
        first_year=first_year, key=hk, weight=calibrated_weights(p, villages, village, status_arr, size))
    fit_village_population(villages, hh)
    exited_stock(hh, pop, draws, line0, first_year)
    return hh, villages, counties


def market_income(pop: Population, draws: Draws, keys: np.ndarray, no_labour: np.ndarray, near: np.ndarray,
                  line: float) -> np.ndarray:
    """Market income per capita of the first year (step 7 of the module doc): the ``line`` times a
    lognormal ratio, ``no_labour_income_ratio`` times half its spread for households without
    labour, uniform in ``near_poor_income_ratio`` for the near-poor. Each kind's numbers are
    computed only for its households (full-length temporaries are 8 bytes a household)."""
    z = draws.normal(keys, "income ratio")  # labour and no-labour households each read it their way
    without = np.flatnonzero(no_labour & ~near)
    tail = pop.no_labour_income_ratio * np.exp(0.5 * pop.income_ratio_sigma * z[without])
    ratio = np.exp(np.log(pop.income_ratio_median) + pop.income_ratio_sigma * z, out=z)
    ratio[without] = tail
    del tail, without
    lo, hi = pop.near_poor_income_ratio
    at = np.flatnonzero(near)
    ratio[at] = lo + (hi - lo) * draws.uniform(keys[at], "near-poor income ratio")
    ratio *= line
    return ratio


def exited_stock(hh: Households, pop: Population, draws: Draws, line: float, first_year: int) -> None:
    """Give the households drawn as exited before the first year (status EXITED) what an exit
    required: every condition met, income uniform in ``exited_income_ratio`` times the first
    year's line, registered two years and exited one year before the first. They had none of
    the programme's batches."""
    out = np.flatnonzero(hh.status == EXITED)
    if not len(out):
        return
    lo, hi = pop.exited_income_ratio
    market = line * (lo + (hi - lo) * draws.uniform(hh.key[out], "exited income ratio"))
    hh.market[out] = market
    hh.net[out] = market
    hh.stable[out] = market
    hh.house_ok[out] = True
    hh.harsh[out] = False
    hh.insured[out] = True
    hh.causes[out] &= ~np.uint16(CAUSE_BIT["school"])
    hh.registered_year[out] = first_year - 2
    hh.exit_year[out] = first_year - 1
