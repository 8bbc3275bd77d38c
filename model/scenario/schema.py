"""Scenario files: the typed schema, safe loading, validation and overrides.

A scenario is one YAML file. Every model parameter is written as

    illness_rate: {value: 0.08, unit: share of households per year, source: "assumption: ..."}

so each number carries its unit and where it came from (a seed-document section, or
``assumption:`` with the reason). A *variant* is a small file naming a base scenario and a few
dotted-path overrides; it is applied all or nothing: the merged result is validated as a whole.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any, Generic, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tuopin.errors import UserError

T = TypeVar("T")

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
"""Poverty causes (致贫原因) in the register, English key -> Chinese label."""

BATCHES = (
    "industry",
    "employment",
    "relocation",
    "ecology",
    "education",
    "medical",
    "housing",
    "social_floor",
)
"""The intervention batches (五个一批 plus medical aid and housing renovation)."""

Cause = Literal[
    "illness", "disability", "school", "disaster", "no_labour", "no_skills",
    "no_capital", "no_land", "no_water", "remote", "low_motivation",
]
BatchName = Literal[
    "industry", "employment", "relocation", "ecology", "education", "medical", "housing",
    "social_floor",
]
Share = Annotated[float, Field(ge=0, le=1)]
NonNeg = Annotated[float, Field(ge=0)]
Pos = Annotated[float, Field(gt=0)]
Year = Annotated[int, Field(ge=1990, le=2100)]
Count = Annotated[int, Field(ge=0)]

MAX_FILE_BYTES = 2_000_000
MAX_REPLICATES = 100_000


class Strict(BaseModel):
    """Base for every schema node: unknown keys, NaN and infinity are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class P(Strict, Generic[T]):
    """One parameter: its value, its unit and its source."""

    value: T
    unit: str = Field(min_length=1)
    source: str = Field(min_length=1)


class CountyRow(Strict):
    """One county (or district) of the plan."""

    name: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    poor_people: Count
    poor_villages: Count
    other_villages: Count
    rural_population: Annotated[int, Field(gt=0)]
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
        return self


class Population(Strict):
    """How the synthetic register is drawn from the plan's aggregates."""

    household_size_mean: P[Annotated[float, Field(ge=1, le=10)]]
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
    near_poor_ratio: P[Annotated[float, Field(ge=0, le=5)]]
    near_poor_income_ratio: P[tuple[Pos, Pos]]
    share_in_poor_villages: P[Share]
    village_poor_cv: P[NonNeg] = P[NonNeg](
        value=0.0, unit="coefficient of variation of a village's share of its stratum's poor",
        source="default: the villages of a county stratum (poor or other) share its poor evenly")
    """Villages differ: each village's share of its county stratum's poor (and near-poor) is a
    gamma draw with this coefficient of variation (0: all the same)."""

    @model_validator(mode="after")
    def _check(self) -> Population:
        lo, hi = self.near_poor_income_ratio.value
        if lo > hi:
            raise ValueError("near_poor_income_ratio: low must not exceed high")
        return self


class Economy(Strict):
    """Income dynamics and shocks, the same for every scenario on one population."""

    income_growth: P[Annotated[float, Field(ge=-0.5, le=1)]]
    income_volatility: P[Annotated[float, Field(ge=0, le=2)]]
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

    priority: P[Annotated[int, Field(ge=0, le=100)]]
    start_year: P[Year]
    capacity: P[dict[Year, NonNeg]]
    cost_per_person: P[NonNeg]
    cost_per_household: P[NonNeg]
    annual_cost_per_person: P[NonNeg]
    annual_cost_per_household: P[NonNeg]
    targeting: P[Literal["need", "near_line", "random"]]


class Industry(BatchBase):
    success_prob: P[Share]
    gain_per_capita: P[NonNeg]
    gain_sigma: P[Annotated[float, Field(ge=0, le=2)]]
    ramp_years: P[Annotated[int, Field(ge=1, le=10)]]


class Employment(BatchBase):
    placement_prob: P[Share]
    wage: P[NonNeg]


class Relocation(BatchBase):
    build_years: P[Annotated[int, Field(ge=0, le=5)]]
    followup_job_prob: P[Share]
    followup_gain_per_capita: P[NonNeg]
    farm_income_loss: P[Share]


class Ecology(BatchBase):
    """Eco compensation: the annual cost per household is the payment the household receives."""


class Education(BatchBase):
    """Fee waivers and stipends: annual cost per person is per student."""


class Medical(BatchBase):
    reimbursement: P[Share]


class Housing(BatchBase):
    build_years: P[Annotated[int, Field(ge=0, le=5)]]


class SocialFloor(Strict):
    """低保 raised to the line: an entitlement, outside the discretionary budget and capacity."""

    start_year: P[Year]
    top_up_to: P[Annotated[float, Field(ge=0, le=3)] | dict[Year, Annotated[float, Field(ge=0, le=3)]]]
    annual_cost_per_household: P[NonNeg]


class Batches(Strict):
    industry: Industry
    employment: Employment
    relocation: Relocation
    ecology: Ecology
    education: Education
    medical: Medical
    housing: Housing
    social_floor: SocialFloor


class Source(Strict):
    """One funding source: yearly amounts, optionally earmarked to one batch."""

    amount: P[dict[Year, NonNeg]]
    earmark: BatchName | Literal["infrastructure"] | None = None


class Funding(Strict):
    multiplier: P[NonNeg]
    carryover_share: P[Share]
    sources: dict[str, Source] = Field(min_length=1)


class Assessment(Strict):
    target_pressure: P[Share]
    pressure_band: P[Share]


class Relapse(Strict):
    support_continuation_years: P[Annotated[int, Field(ge=0, le=30)]]
    insurance_cover: P[Share]
    registration_rate: P[Share]


class Infrastructure(Strict):
    priority: P[Annotated[int, Field(ge=0, le=100)]]
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

    village_rule: P[VillageRule] = P[VillageRule](
        value="incidence", unit="rule", source="default: poverty incidence (DOMAIN.md)")
    village_incidence_threshold: P[Threshold]
    village_income_threshold: P[dict[Year, Pos]] | None = None
    resident_income_ratio: P[Pos] | None = None
    county_incidence_threshold: P[Threshold]
    county_min_village_exit_share: P[Share]
    wrongly_exited_max: P[Share] = P[Share](
        value=0.02, unit="wrongly exited people / exited people",
        source="DOMAIN.md: wrongly exited (错退) and missed poor (漏评) each had to be under 2%")
    missed_max: P[Share] = P[Share](
        value=0.02, unit="missed poor people / people not registered",
        source="DOMAIN.md: wrongly exited (错退) and missed poor (漏评) each had to be under 2%")
    satisfaction: P[Share] = P[Share](
        value=0.95, unit="share of surveyed people satisfied",
        source="assumption: not modelled; assessments reported satisfaction well above 90% for counties that exited")
    satisfaction_min: P[Share] = P[Share](
        value=0.90, unit="share of surveyed people satisfied", source="DOMAIN.md: satisfaction over 90%")
    county_grant_lag: P[Annotated[int, Field(ge=0, le=2)]] = P[Annotated[int, Field(ge=0, le=2)]](
        value=0, unit="years from the year a county qualifies to the year its exit is granted",
        source="default: granted in the year it qualifies")
    infrastructure: Infrastructure

    @model_validator(mode="after")
    def _check(self) -> ExitRules:
        if self.village_rule.value == "mean_income":
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

    low: float
    high: float
    mode: float | None = None
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

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    title: dict[Literal["zh", "en"], str]
    document: str
    seed: Annotated[int, Field(ge=0, lt=2**63)]
    replicates: Annotated[int, Field(ge=1, le=MAX_REPLICATES)]
    years: P[tuple[Year, Year]]
    scale: P[Annotated[float, Field(gt=0, le=1)]]
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
        first, last = self.years.value
        if first > last:
            raise ValueError(f"years: first year {first} is after last year {last}")
        horizon = set(range(first, last + 1))
        if missing := sorted(horizon - set(self.poverty_line.value)):
            raise ValueError(f"poverty_line: no value for year(s) {missing}")
        for key, series in (
            ("targets.exits", self.targets.exits.value),
            ("targets.villages", self.targets.villages.value),
            ("targets.counties", self.targets.counties.value),
        ):
            if outside := sorted(set(series) - horizon):
                raise ValueError(f"{key}: year(s) {outside} outside the horizon {first}-{last}")
        names = {r.name for r in self.counties.rows}
        regions = {r.region for r in self.counties.rows}
        for key in ("village_incidence_threshold", "county_incidence_threshold"):
            by_region = getattr(self.exit_rules, key).value
            if isinstance(by_region, dict) and (missing := sorted(str(r) for r in regions - set(by_region))):
                raise ValueError(f"exit_rules.{key}: no threshold for region(s) {missing} of the county table")
        for year, listed in self.targets.counties.value.items():
            if unknown := sorted(set(listed) - names):
                raise ValueError(f"targets.counties: {year}: unknown county {unknown}")
        if (threshold := self.exit_rules.village_income_threshold) is not None and \
                self.exit_rules.village_rule.value == "mean_income":
            if missing := sorted(horizon - set(threshold.value)):
                raise ValueError(f"exit_rules.village_income_threshold: no value for year(s) {missing}")
        for name, src in self.funding.sources.items():
            if outside := sorted(set(src.amount.value) - horizon):
                raise ValueError(f"funding.sources.{name}: year(s) {outside} outside the horizon")
        total_poor = sum(r.poor_people for r in self.counties.rows)
        if total_poor * self.scale.value < 1:
            raise ValueError("scale: fewer than one simulated person; raise scale")
        return self

    def county_plan(self) -> dict[str, int]:
        """County name -> the year the plan takes its hat off (``targets.counties`` and the
        county table's ``planned_exit_year``)."""
        plan = {r.name: r.planned_exit_year for r in self.counties.rows if r.planned_exit_year is not None}
        plan.update({name: year for year, names in self.targets.counties.value.items() for name in names})
        return plan

    @property
    def horizon(self) -> list[int]:
        """The simulated years, first to last."""
        first, last = self.years.value
        return list(range(first, last + 1))


def plain(node: Any) -> Any:
    """Strip units and sources: a nested namespace of bare values for the model to read."""
    if isinstance(node, P):
        return plain(node.value)
    if isinstance(node, BaseModel):
        return SimpleNamespace(**{k: plain(getattr(node, k)) for k in type(node).model_fields})
    if isinstance(node, dict):
        return {k: plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    return node


# ---------------------------------------------------------------- loading


class _NoAliasLoader(yaml.SafeLoader):
    """Safe YAML that also refuses anchors and aliases (no 'billion laughs'), tags that would
    build Python objects, and a key given twice in one mapping (the second would silently win)."""

    def compose_node(self, parent: Any, index: Any) -> Any:  # noqa: D401
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.constructor.ConstructorError(
                None, None, "YAML aliases (*name) are not allowed", event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, list | dict):
                raise yaml.constructor.ConstructorError(
                    None, None, "a list or mapping cannot be a key", key_node.start_mark)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}; give each key once", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_undefined(self, node: Any) -> Any:
        raise yaml.constructor.ConstructorError(
            None, None, f"tag {node.tag!r} is not allowed; scenario files are plain YAML", node.start_mark)


_NoAliasLoader.add_constructor(None, _NoAliasLoader.construct_undefined)


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping safely: no code, no aliases, UTF-8 only; errors name the file."""
    path = Path(path)
    src = str(path)
    if not path.exists():
        raise UserError("file not found", source=src)
    if not path.is_file():
        raise UserError("not a regular file", source=src)
    data = path.read_bytes()
    if len(data) > MAX_FILE_BYTES:
        raise UserError(f"file is {len(data)} bytes; a scenario is at most {MAX_FILE_BYTES}", source=src)
    if b"\x00" in data:
        raise UserError("binary file; expected UTF-8 YAML text", source=src)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"not UTF-8 text (byte {exc.start}); save the file as UTF-8", source=src) from None
    if not text.strip():
        raise UserError("empty file; expected a YAML mapping", source=src)
    try:
        raw = yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - SafeLoader subclass
    except RecursionError:
        raise UserError("YAML nested too deeply to be a scenario", source=src) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(f"{where}invalid YAML: {problem}", source=src) from None
    if raw is None:
        raise UserError("empty file (only comments); expected a YAML mapping", source=src)
    if not isinstance(raw, dict):
        raise UserError(f"expected a YAML mapping at top level, got {type(raw).__name__}", source=src)
    return raw


def _format_validation(exc: ValidationError) -> tuple[str, str]:
    """(dotted key, message) of the first pydantic error, in a planner's words.

    Whole-scenario checks have no key of their own; their message names the keys.
    """
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"] if not str(p).startswith("function-after")]
    loc = [p for p in loc if not p.startswith(("P[", "tuple[", "dict["))]
    key = ".".join(loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        msg = "unknown key; check the spelling against scenarios/README.md"
    elif kind == "missing":
        msg = "required key is missing"
    elif kind in {"finite_number"}:
        msg = "NaN or infinity is not allowed; give a finite number"
    else:
        msg = err["msg"]
        if "input" in err and kind != "value_error" and not isinstance(err["input"], dict | list):
            msg += f" (got {err['input']!r})"
    more = len(exc.errors()) - 1
    if more:
        msg += f" (and {more} more problem{'s' if more > 1 else ''})"
    return key, msg.replace("Value error, ", "")


def validate(raw: dict[str, Any], source: str) -> Scenario:
    """Validate a raw mapping into a Scenario, or raise a one-line UserError."""
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        key, msg = _format_validation(exc)
        raise UserError(msg, source=source, key=key or None) from None


def check_uncertainty(raw: dict[str, Any], scenario: Scenario, source: str) -> None:
    """Each ``uncertainty`` entry must name a number in the scenario, and both ends of its range
    must be valid values there (checked by validating the scenario at each end)."""
    for path, u in scenario.uncertainty.items():
        key = f"uncertainty.{path}"
        try:
            value = get_path(raw, path, source)
        except UserError:
            raise UserError("names no parameter of the scenario", source=source, key=key) from None
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise UserError("must name a single number in the scenario", source=source, key=key)
        for end in ("low", "high"):
            try:
                Scenario.model_validate(apply_overrides(raw, {path: getattr(u, end)}, source))
            except ValidationError as exc:
                _, msg = _format_validation(exc)
                raise UserError(f"{end} end of the range is not a valid value: {msg}", source=source,
                                key=key) from None


def _is_parameter(node: Any) -> bool:
    """A ``{value, unit, source}`` mapping."""
    return isinstance(node, dict) and "value" in node and "unit" in node


def _child_key(node: Any, part: str) -> Any:
    """The key ``part`` names in ``node`` (a year written as digits is an int key), or None."""
    if not isinstance(node, dict):
        return None
    if part.isdigit() and int(part) in node:
        return int(part)
    return part if part in node else None


def _locate(raw: dict[str, Any], path: str, source: str) -> tuple[dict[Any, Any], Any]:
    """The mapping holding a dotted path's last key, and that key (which must exist).

    A path passes through a parameter's ``value`` when the next part is not one of the
    parameter's own keys: ``poverty_line.2017`` is the 2017 entry of the line's value.
    """
    parts = path.split(".")
    node: Any = raw
    for i, part in enumerate(parts):
        key = _child_key(node, part)
        if key is None and _is_parameter(node):
            node = node["value"]
            key = _child_key(node, part)
        if key is None:
            raise UserError("no such key in the base scenario" if i == len(parts) - 1 else
                            f"no key '{'.'.join(parts[: i + 1])}' in the base scenario", source=source, key=path)
        if i == len(parts) - 1:
            return (node[key], "value") if _is_parameter(node[key]) else (node, key)
        node = node[key]
    raise UserError("empty key", source=source, key=path)


def get_path(raw: dict[str, Any], path: str, source: str) -> Any:
    """The value at a dotted path of a raw scenario (a parameter's ``value``)."""
    node, key = _locate(raw, path, source)
    return node[key]


def set_path(raw: dict[str, Any], path: str, value: Any, source: str) -> None:
    """Set a dotted-path key in a raw scenario; a parameter's ``value`` is set through it.

    ``batches.relocation.start_year`` and ``batches.relocation.start_year.value`` both work, and
    so does one entry of a parameter's mapping: ``poverty_line.2017``.
    The path must already exist in the base scenario.
    """
    node, key = _locate(raw, path, source)
    node[key] = value


def apply_overrides(raw: dict[str, Any], overrides: dict[str, Any], source: str) -> dict[str, Any]:
    """Return a deep copy of ``raw`` with dotted-path overrides applied (nothing changed on error).

    A parameter given a value here is fixed: its ``uncertainty`` entry, if any, is dropped.
    """
    import copy

    merged = copy.deepcopy(raw)
    uncertain = merged.get("uncertainty")
    for path, value in overrides.items():
        path = str(path)
        set_path(merged, path, value, source)
        if isinstance(uncertain, dict):
            uncertain.pop(path.removesuffix(".value"), None)
    return merged


MAX_COUNTY_ROWS = 10_000

_COUNTY_INTS = ("poor_people", "poor_villages", "other_villages", "rural_population", "planned_exit_year")


def _read_county_file(raw: dict[str, Any], path: Path) -> Path | None:
    """Fill ``counties.rows`` from the CSV named by ``counties.file`` (relative to the scenario);
    returns the CSV's path, or None when the rows are in the scenario itself.

    Each row is checked as a county row; a bad one stops with the CSV, the row and the column.
    """
    import csv

    table = raw.get("counties")
    if not isinstance(table, dict) or "file" not in table:
        return None
    key = "counties.file"
    if "rows" in table:
        raise UserError("give the county rows in the scenario or in a file, not both", source=str(path), key=key)
    if not isinstance(table["file"], str) or not table["file"].endswith(".csv"):
        raise UserError("expected the path of a .csv file beside the scenario", source=str(path), key=key)
    csv_path = path.parent / table["file"]
    if not csv_path.is_file():
        raise UserError(f"county table {csv_path} not found", source=str(path), key=key)
    src = str(csv_path)
    data = csv_path.read_bytes()
    if len(data) > MAX_FILE_BYTES:
        raise UserError(f"file is {len(data)} bytes; a county table is at most {MAX_FILE_BYTES}", source=src)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(f"not UTF-8 text (byte {exc.start}); save the table as CSV UTF-8", source=src) from None
    reader = csv.DictReader(text.splitlines())
    allowed = set(CountyRow.model_fields) - {"village_names"}
    if unknown := sorted(set(reader.fieldnames or []) - allowed):
        raise UserError(f"unknown column {unknown[0]!r}; allowed: {sorted(allowed)}", source=src, key="header (row 1)")
    rows = []
    for i, record in enumerate(reader, start=2):
        if i - 1 > MAX_COUNTY_ROWS:
            raise UserError(f"more than {MAX_COUNTY_ROWS:,} counties", source=src)
        row: dict[str, Any] = {}
        for column, cell in record.items():
            cell = (cell or "").strip()
            if column is None or cell == "":
                continue
            if column in _COUNTY_INTS:
                if not cell.isdigit():
                    raise UserError(f"expected a whole number, got {cell!r}", source=src, key=f"row {i}, column {column}")
                row[column] = int(cell)
            elif column == "poor_county":
                if cell.lower() not in ("true", "false"):
                    raise UserError(f"expected true or false, got {cell!r}", source=src, key=f"row {i}, column {column}")
                row[column] = cell.lower() == "true"
            else:
                row[column] = cell
        try:
            rows.append(CountyRow.model_validate(row).model_dump(exclude_none=True))
        except ValidationError as exc:
            column, msg = _format_validation(exc)
            raise UserError(msg, source=src, key=f"row {i}" + (f", column {column}" if column else "")) from None
    raw["counties"] = {**table, "rows": rows}
    return csv_path


def load_raw(path: str | Path, _chain: tuple[Path, ...] = ()) -> tuple[dict[str, Any], list[Path]]:
    """Read a scenario or a variant file; returns the merged raw mapping and the files read.

    A variant file has ``base: other.yaml`` (relative to the variant), optional ``name`` and
    ``title``, and ``overrides: {dotted.path: value}``.
    """
    path = Path(path)
    raw = read_yaml(path)
    if "base" not in raw:
        table = _read_county_file(raw, path)
        return raw, [path] if table is None else [path, table]
    src = str(path)
    allowed = {"base", "name", "title", "overrides", "description"}
    if unknown := sorted(set(raw) - allowed):
        raise UserError(f"unknown key in a variant file; allowed: {sorted(allowed)}", source=src, key=unknown[0])
    base_path = (path.parent / str(raw["base"])).resolve()
    if base_path == path.resolve():
        raise UserError("a variant cannot be its own base", source=src, key="base")
    chain = (*_chain, path.resolve())
    if base_path in chain:
        raise UserError(f"variants form a cycle through {base_path.name}; a base must be a scenario or "
                        "a variant of one", source=src, key="base")
    base_raw, files = load_raw(base_path, chain)
    overrides = raw.get("overrides") or {}
    if not isinstance(overrides, dict):
        raise UserError("expected a mapping of dotted.path: value", source=src, key="overrides")
    merged = apply_overrides(base_raw, overrides, src)
    for key in ("name", "title"):
        if key in raw:
            merged[key] = raw[key]
    return merged, [*files, path]


def load_scenario(path: str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Load, merge and validate a scenario (or variant) file.

    Args:
        path: the YAML file.
        overrides: extra ``{"dotted.path": value}`` changes, validated with the rest.

    Raises:
        UserError: with the file, the key and what was expected.
    """
    raw, _ = load_raw(path)
    if overrides:
        raw = apply_overrides(raw, overrides, "override")
    scenario = validate(raw, str(path))
    check_uncertainty(raw, scenario, str(path))
    return scenario


def resolve(scenario: Scenario | str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """A validated scenario from a ``Scenario`` or a scenario / variant file, with overrides applied."""
    if not isinstance(scenario, Scenario):
        return load_scenario(scenario, overrides)
    if not overrides:
        return scenario
    return validate(apply_overrides(scenario.model_dump(), overrides, "override"), "override")


def file_hash(path: str | Path) -> str:
    """SHA-256 of a scenario and every file it is built on (variant chains)."""
    _, files = load_raw(path)
    digest = hashlib.sha256()
    for f in files:
        digest.update(Path(f).read_bytes())
    return digest.hexdigest()

