"""The scenario schema: the typed pydantic models of a scenario file.

A scenario is one YAML file (read by ``files``). Every model parameter is written as

    illness_rate: {value: 0.08, unit: share of households per year, source: "assumption: ..."}

so each number carries its unit and where it came from (a seed-document section, or
``assumption:`` with the reason); once validated, a parameter is its bare typed value
(``scenario.economy.illness_rate`` is a float, see ``strict.P``), and the model holding it keeps its
unit and source.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from tuopin.scenario.strict import P, Strict, parameter_default

CAUSES: dict[str, str] = {
    "illness": "因病",
    "disability": "因残",
    "school": "因学",
    "disaster": "因灾",
    "no_labour": "缺劳力",
    "no_skills": "缺技术",
    "no_capital": "缺资金",
    "no_land": "缺土地",
    "no_water": "缺水",
    "remote": "交通条件落后",
    "low_motivation": "自身发展动力不足",
}
"""Poverty causes (致贫原因) in the register, English key -> Chinese label: the one list of causes."""


def _one_of(names: Iterable[str], what: str) -> AfterValidator:
    """A check that a name is one of ``names`` (read when validating, so it may be filled later)."""

    def check(value: str) -> str:
        known = tuple(names)
        if value not in known:
            raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(known)}")
        return value

    return AfterValidator(check)


Cause = Annotated[str, _one_of(CAUSES, "cause")]
MAX_PEOPLE = 2_000_000_000
"""More people than any plan can hold (China has about 1.4 billion): a larger count is a typo."""
MAX_VILLAGES = 1_000_000
"""More villages than any plan can hold (China has about 500,000 administrative villages)."""
MAX_AMOUNT = 1e15
"""Largest amount (yuan, people per year) a scenario may give: more than China's GDP."""

# Numbers are strict: a YAML boolean (yes, no, on, off, true, false) or a quoted string is not a
# number, and a number with a fraction is not a whole number.
Share = Annotated[float, Field(strict=True, ge=0, le=1)]
NonNeg = Annotated[float, Field(strict=True, ge=0, le=MAX_AMOUNT)]
Pos = Annotated[float, Field(strict=True, gt=0, le=MAX_AMOUNT)]
Year = Annotated[int, Field(strict=True, ge=1990, le=2100)]
Count = Annotated[int, Field(strict=True, ge=0, le=MAX_VILLAGES)]
People = Annotated[int, Field(strict=True, ge=0, le=MAX_PEOPLE)]
Number = Annotated[float, Field(strict=True)]

NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$"
"""A scenario ``name``: a safe folder name (it names the default results folder)."""
MAX_NAME = 100
HORIZON_TABLES = ("targets.", "funding.sources.", "exit_rules.village_income_threshold")
"""Year-keyed tables (with every ``*.capacity``) whose years must all lie within the horizon."""

MAX_REPLICATES = 100_000


class CountyRow(Strict):
    """One county (or district) of the plan."""

    name: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    poor_people: People
    poor_villages: Count
    other_villages: Count
    rural_population: Annotated[int, Field(strict=True, gt=0, le=MAX_PEOPLE)]
    region: str | None = None
    """Optional: the county's region (e.g. east, central, west); thresholds given by region
    (``exit_rules``) apply to its counties and villages."""
    poor_county: bool = True
    """A national poor county (贫困县) that can take off the hat; False for a group of other
    counties that holds poor people and villages but has no hat (``national.yaml``)."""
    planned_exit_year: Year | None = None
    """Optional: the year the plan takes the county's hat off (as ``targets.counties``)."""
    village_names: list[str] | None = None
    """Optional: the county's villages by name, its poor villages first, so that a household
    register (``tuopin run --households``) can name them; otherwise villages are numbered."""

    @model_validator(mode="after")
    def _check(self) -> CountyRow:
        if self.poor_people > 0 and self.poor_villages + self.other_villages == 0:
            raise ValueError(f"county {self.name}: {self.poor_people:,} poor people but no villages; give "
                             "poor_villages or other_villages")
        if self.village_names is not None:
            n = self.poor_villages + self.other_villages
            if len(self.village_names) != n:
                raise ValueError(f"county {self.name}: village_names lists {len(self.village_names)} "
                                 f"villages, expected poor_villages + other_villages = {n}")
            if len(set(self.village_names)) != n or not all(v.strip() for v in self.village_names):
                raise ValueError(f"county {self.name}: village_names must be unique and non-empty")
        return self


class CountyTable(Strict):
    """The counties, with one unit per column and one source for the table.

    ``rows`` are given in the scenario, or read from ``file``: a UTF-8 CSV beside the scenario
    with one column per row key (a header row first), e.g. ``file: data/national_counties.csv``.
    """

    unit: dict[str, str]
    source: str = Field(min_length=1)
    file: str | None = None
    rows: list[CountyRow] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> CountyTable:
        names = [r.name for r in self.rows]
        if len(set(names)) != len(names):
            raise ValueError("county names must be unique")
        for r in self.rows:
            if r.poor_people > r.rural_population:
                raise ValueError(f"county {r.name}: poor_people exceeds rural_population")
        if sum(r.poor_villages + r.other_villages for r in self.rows) == 0:
            raise ValueError("no villages in any county; give poor_villages or other_villages")
        return self


class Population(Strict):
    """How the synthetic register is drawn from the plan's aggregates."""

    household_size_mean: P[Annotated[float, Field(strict=True, ge=1, le=10)]]
    no_labour_share: P[Share]
    labour_per_member: P[Share]
    income_ratio_median: P[Pos]
    income_ratio_sigma: P[NonNeg]
    no_labour_income_ratio: P[Pos]
    causes: P[dict[Cause, Share]]
    harsh_location_share: P[Share]
    eco_zone_share: P[Share]
    unsafe_house_share: P[Share]
    insured_share: P[Share]
    student_households_share: P[Share]
    near_poor_ratio: P[Annotated[float, Field(strict=True, ge=0, le=5)]]
    near_poor_income_ratio: P[tuple[Pos, Pos]]
    share_in_poor_villages: P[Share]
    exited_ratio: P[Annotated[float, Field(strict=True, ge=0, le=5)]]
    """People exited in the years before the first (still in the register, able to relapse) per
    registered poor person at the start."""
    exited_income_ratio: P[tuple[Pos, Pos]]
    village_poor_cv: P[NonNeg] = parameter_default(
        0.0, "coefficient of variation of a village's share of its stratum's poor",
        "default: the villages of a county stratum (poor or other) share its poor evenly")
    """Villages differ: each village's share of its county stratum's poor (and near-poor) is a
    gamma draw with this coefficient of variation (0: all the same)."""

    @model_validator(mode="after")
    def _check(self) -> Population:
        for key in ("near_poor_income_ratio", "exited_income_ratio"):
            lo, hi = getattr(self, key)
            if lo > hi:
                raise ValueError(f"{key}: low must not exceed high")
        return self


class Economy(Strict):
    """Income dynamics and shocks, the same for every scenario on one population."""

    income_growth: P[Annotated[float, Field(strict=True, ge=-0.5, le=1)]]
    income_volatility: P[Annotated[float, Field(strict=True, ge=0, le=2)]]
    """Log standard deviation of the transitory part of market income (this year only)."""
    permanent_volatility: P[Annotated[float, Field(strict=True, ge=0, le=2)]]
    """Log standard deviation of the yearly shock to the permanent part (it persists)."""
    illness_rate: P[Share]
    illness_rate_other: P[Share]
    illness_cost: P[NonNeg]
    insured_reimbursement: P[Share]
    school_cost: P[NonNeg]
    disaster_rate: P[Share]
    disaster_loss: P[Share]
    disaster_house_damage: P[Share]
    market_shock_rate: P[Share]
    market_loss: P[Share]
    job_loss_rate: P[Share]


class BatchBase(Strict):
    """What every batch has: priority, start, capacity, costs and targeting."""

    priority: P[Annotated[int, Field(strict=True, ge=0, le=100)]]
    start_year: P[Year]
    capacity: P[dict[Year, NonNeg]]
    cost_per_person: P[NonNeg]
    cost_per_household: P[NonNeg]
    annual_cost_per_person: P[NonNeg]
    annual_cost_per_household: P[NonNeg]
    targeting: P[Literal["need", "near_line", "random"]]


class Retried(BatchBase):
    """A batch whose help can fail, and whose income partly depends on continued support."""

    retry_after_years: P[Annotated[int, Field(strict=True, ge=0, le=30)]]
    """Years after a failed project or placement before the household may be enrolled again
    (0: never retried)."""
    kept_after_support: P[Share]
    """Share of the batch's income that goes on once support has ended."""


class Industry(Retried):
    success_prob: P[Share]
    gain_per_capita: P[NonNeg]
    gain_sigma: P[Annotated[float, Field(strict=True, ge=0, le=2)]]
    ramp_years: P[Annotated[int, Field(strict=True, ge=1, le=10)]]


class Employment(Retried):
    placement_prob: P[Share]
    wage: P[NonNeg]


class Relocation(BatchBase):
    build_years: P[Annotated[int, Field(strict=True, ge=0, le=5)]]
    followup_job_prob: P[Share]
    followup_gain_per_capita: P[NonNeg]
    farm_income_loss: P[Share]
    kept_after_support: P[Share]


class Ecology(BatchBase):
    """Eco compensation: the annual cost per household is the payment the household receives."""


class Education(BatchBase):
    """Fee waivers and stipends: annual cost per person is per student."""


class Medical(BatchBase):
    reimbursement: P[Share]


class Housing(BatchBase):
    build_years: P[Annotated[int, Field(strict=True, ge=0, le=5)]]


class SocialFloor(Strict):
    """低保 raised to the line: an entitlement, outside the discretionary budget and capacity."""

    start_year: P[Year]
    top_up_to: P[Annotated[float, Field(strict=True, ge=0, le=3)] | dict[Year, Annotated[float, Field(strict=True, ge=0, le=3)]]]
    annual_cost_per_household: P[NonNeg]
    coverage: P[dict[Year, Share]]
    """Share of the eligible people the floor reaches by each year (identification phases in;
    a year missing takes the latest earlier one, 0 before the first)."""
    labour_after_years: P[Annotated[int, Field(strict=True, ge=0, le=30)]]
    """A household with labour is eligible once it has been registered poor this many years and
    its income still cannot reach the floor (应兜尽兜); households without labour at once."""


class Batches(Strict):
    """Every batch, by name: the one list of batches (``BATCHES``)."""

    industry: Industry
    employment: Employment
    relocation: Relocation
    ecology: Ecology
    education: Education
    medical: Medical
    housing: Housing
    social_floor: SocialFloor


BATCHES: tuple[str, ...] = tuple(Batches.model_fields)
"""The intervention batches (五个一批 plus medical aid and housing renovation), in register order."""
FUNDED_BATCHES: tuple[str, ...] = tuple(
    name for name, field in Batches.model_fields.items() if issubclass(field.annotation, BatchBase))  # type: ignore[arg-type]
"""The batches that draw on the budget (all but the social floor, an entitlement)."""
INFRASTRUCTURE = "infrastructure"
"""Village infrastructure: funded like a batch, from the same pools."""
EARMARKS: tuple[str, ...] = (*BATCHES, INFRASTRUCTURE)


class Source(Strict):
    """One funding source: yearly amounts, optionally earmarked to one batch."""

    amount: P[dict[Year, NonNeg]]
    earmark: Annotated[str, _one_of(EARMARKS, "earmark")] | None = None


class Funding(Strict):
    multiplier: P[NonNeg]
    carryover_share: P[Share]
    capacity_rule: P[Literal["schedule", "need"]]
    """``schedule``: each batch takes at most its yearly capacity; ``need``: a batch may take the
    people still waiting for it spread over the plan's remaining years, within money
    (relocation keeps its construction schedule)."""
    sources: dict[str, Source] = Field(min_length=1)


class Assessment(Strict):
    target_pressure: P[Share]
    pressure_band: P[Share]
    list_income_ratio: P[Annotated[float, Field(strict=True, ge=0, le=3)]]
    """A poor household goes on the year's pre-exit list when last year's stable income is at
    least this multiple of this year's line."""
    help_per_capita: P[NonNeg]
    """Intensified help (stable income, yuan per person-year) for listed households below the bar."""
    exit_margin: P[Annotated[float, Field(strict=True, ge=0, le=1)]]
    """Stable income must reach the line times (1 + margin) to exit."""
    measurement_error: P[Annotated[float, Field(strict=True, ge=0, le=2)]]
    """Log standard deviation of the year-end check's error on stable income (source of 错退)."""
    verification_capacity: P[dict[Year, NonNeg]]
    """People the year-end checks can verify (a year missing: no limit)."""


class Relapse(Strict):
    support_continuation_years: P[Annotated[int, Field(strict=True, ge=0, le=30)]]
    no_withdrawal_from: P[Year] | None = None
    """From this year on no exited household's support ends (四个不摘, 2019): the policies continue
    whatever ``support_continuation_years`` says. Absent: support ends on that count alone."""
    insurance_cover: P[Share]
    registration_rate: P[Share]
    watch_ratio: P[Annotated[float, Field(strict=True, ge=0, le=5)]]
    """Monitoring flags exited and near-poor households with stable or this year's income below
    this multiple of the line, or with a rigid expense (illness, disaster)."""
    monitoring_capacity: P[dict[Year, Share]]
    """Share of the watched (exited and near-poor) people monitoring can help in a year (a year
    missing: 0, no monitoring)."""
    help_max_per_capita: P[NonNeg]
    """Most monitoring help per person-year (yuan): relief, public-welfare job, medical aid."""


class Infrastructure(Strict):
    priority: P[Annotated[int, Field(strict=True, ge=0, le=100)]]
    capacity: P[dict[Year, NonNeg]]
    cost_per_village: P[NonNeg]
    initial_done_share: P[Share]


VillageRule = Literal["incidence", "mean_income"]
Threshold = Share | dict[str, Share]
"""An incidence threshold: one share, or a share per county region (``{east: 0.02, west: 0.03}``)."""


class ExitRules(Strict):
    """When poor villages and counties take off the hat.

    ``village_rule`` ``incidence`` (the default): a village exits when its poverty incidence
    (综合贫困发生率, see ``villages.py``) is below ``village_incidence_threshold``.
    ``mean_income`` (Guangdong's relative standard): when its residents' mean per-capita income
    reaches ``village_income_threshold`` for the year; residents outside the simulated register
    are counted at ``resident_income_ratio`` times the year's poverty line. Either way its basic
    infrastructure must be in place.

    A poor county applies after a year in which its incidence is below
    ``county_incidence_threshold``, its wrongly exited (错退) and missed (漏评) shares are below
    ``wrongly_exited_max`` and ``missed_max``, ``satisfaction`` exceeds ``satisfaction_min`` and
    at least ``county_min_village_exit_share`` of its poor villages have exited; the exit is
    granted and recorded ``county_grant_lag`` years later (1: announced early the next year).
    Thresholds may be given per county region.
    """

    village_rule: P[VillageRule] = parameter_default("incidence", "rule", "default: poverty incidence (DOMAIN.md)")
    village_incidence_threshold: P[Threshold]
    village_income_threshold: P[dict[Year, Pos]] | None = None
    resident_income_ratio: P[Pos] | None = None
    county_incidence_threshold: P[Threshold]
    county_min_village_exit_share: P[Share]
    wrongly_exited_max: P[Share] = parameter_default(
        0.02, "wrongly exited people / exited people",
        "DOMAIN.md: wrongly exited (错退) and missed poor (漏评) each had to be under 2%")
    missed_max: P[Share] = parameter_default(
        0.02, "missed poor people / people not registered",
        "DOMAIN.md: wrongly exited (错退) and missed poor (漏评) each had to be under 2%")
    satisfaction: P[Share] = parameter_default(
        0.95, "share of surveyed people satisfied",
        "assumption: not modelled; assessments reported satisfaction well above 90% for counties that exited")
    satisfaction_min: P[Share] = parameter_default(
        0.90, "share of surveyed people satisfied", "DOMAIN.md: satisfaction over 90%")
    county_grant_lag: P[Annotated[int, Field(ge=0, le=2)]] = parameter_default(
        0, "years from the year a county qualifies to the year its exit is granted",
        "default: granted in the year it qualifies")
    infrastructure: Infrastructure

    @model_validator(mode="after")
    def _check(self) -> ExitRules:
        if self.village_rule == "mean_income":
            for key in ("village_income_threshold", "resident_income_ratio"):
                if getattr(self, key) is None:
                    raise ValueError(f"{key} is required when village_rule is mean_income")
        return self


class Targets(Strict):
    exits: P[dict[Year, NonNeg]]
    villages: P[dict[Year, NonNeg]]
    counties: P[dict[Year, list[str]]]


class Uncertain(Strict):
    """A parameter drawn afresh for each replicate: uniform on [low, high], or triangular with
    its peak at ``mode``. Replicates then carry parameter uncertainty, not only chance."""

    low: Number
    high: Number
    mode: Number | None = None
    unit: str = Field(min_length=1)
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Uncertain:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.mode is not None and not self.low <= self.mode <= self.high:
            raise ValueError(f"mode ({self.mode}) must lie between low and high")
        return self


class Scenario(Strict):
    """A whole scenario: population, economy, batches, funding and the plan's targets."""

    name: str = Field(min_length=1, max_length=MAX_NAME, pattern=NAME_PATTERN)
    """Also the default results folder (results/<name>): letters, digits, ``_ . -``, not starting
    with a dot or a dash (no ``.``, ``..``, hidden or option-like folder names)."""
    title: dict[Literal["zh", "en"], str]
    document: str
    seed: Annotated[int, Field(strict=True, ge=0, lt=2**63)]
    replicates: Annotated[int, Field(strict=True, ge=1, le=MAX_REPLICATES)]
    years: P[tuple[Year, Year]]
    scale: P[Annotated[float, Field(strict=True, gt=0, le=1)]]
    poverty_line: P[dict[Year, Pos]]
    counties: CountyTable
    population: Population
    economy: Economy
    batches: Batches
    funding: Funding
    assessment: Assessment
    relapse: Relapse
    exit_rules: ExitRules
    targets: Targets
    uncertainty: dict[str, Uncertain] = {}

    @model_validator(mode="after")
    def _check(self) -> Scenario:
        first, last = self.years
        if first > last:
            raise ValueError(f"years: first year {first} is after last year {last}")
        horizon = set(range(first, last + 1))
        if missing := sorted(horizon - set(self.poverty_line)):
            raise ValueError(f"poverty_line: no value for year(s) {missing}")
        for key, series in year_tables(self):
            if key == "poverty_line":  # an earlier year is the line's base year
                outside = sorted(y for y in series if y > last)
            elif key.startswith(HORIZON_TABLES) or key.endswith(".capacity"):
                outside = sorted(y for y in series if y > last or y < first)
            else:  # other schedules (the floor's, monitoring) carry a year on to the next
                continue
            if outside:
                raise ValueError(f"{key}: year(s) {outside} outside the horizon {first}-{last}")
        names = {r.name for r in self.counties.rows}
        regions = {r.region for r in self.counties.rows}
        for key in ("village_incidence_threshold", "county_incidence_threshold"):
            by_region = getattr(self.exit_rules, key)
            if isinstance(by_region, dict) and (absent := sorted(str(r) for r in regions - set(by_region))):
                raise ValueError(f"exit_rules.{key}: no threshold for region(s) {absent} of the county table")
        for year, listed in self.targets.counties.items():
            if unknown := sorted(set(listed) - names):
                raise ValueError(f"targets.counties: {year}: unknown county {unknown}")
        if (threshold := self.exit_rules.village_income_threshold) is not None and \
                self.exit_rules.village_rule == "mean_income":
            if missing := sorted(horizon - set(threshold)):
                raise ValueError(f"exit_rules.village_income_threshold: no value for year(s) {missing}")
        total_poor = sum(r.poor_people for r in self.counties.rows)
        if total_poor * self.scale < 1:
            raise ValueError("scale: fewer than one simulated person; raise scale")
        return self

    @property
    def horizon(self) -> list[int]:
        """The simulated years, first to last."""
        first, last = self.years
        return list(range(first, last + 1))

    def planned_county_years(self) -> dict[str, int]:
        """County name -> the year the plan takes its hat off: ``targets.counties`` and the county
        table's ``planned_exit_year`` (the year of the assessment that takes it off)."""
        plan = {r.name: r.planned_exit_year for r in self.counties.rows if r.planned_exit_year is not None}
        plan.update({name: year for year, names in self.targets.counties.items() for name in names})
        return plan


def year_tables(node: object, path: str = "") -> list[tuple[str, dict[int, object]]]:
    """Every year-keyed table of a scenario (capacities, budgets, lines, targets, thresholds, ...):
    ``(dotted path, {year: value})`` for each mapping whose keys are all years."""
    if isinstance(node, dict):
        if node and all(isinstance(k, int) and not isinstance(k, bool) for k in node):
            return [(path, node)]
        items = [(str(k), v) for k, v in node.items()]
    elif isinstance(node, Strict):
        items = [(name, getattr(node, name)) for name in type(node).model_fields]
    else:
        return []
    found = []
    for name, child in items:
        found += year_tables(child, f"{path}.{name}" if path else name)
    return found
