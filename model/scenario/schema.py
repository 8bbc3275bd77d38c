"""Scenario files: the typed schema, safe loading, validation and overrides.

A scenario is one YAML file. Every model parameter is written as

    illness_rate: {value: 0.08, unit: share of households per year, source: "assumption: ..."}

so each number carries its unit and where it came from (a seed-document section, or
``assumption:`` with the reason). A *variant* is a small file naming a base scenario and a few
dotted-path overrides; it is applied all or nothing: the merged result is validated as a whole.
"""

from __future__ import annotations

import hashlib
import math
import statistics
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any, Generic, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tuopin.errors import UserError, short, warn

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
MAX_FILE_BYTES = 2_000_000
MAX_VARIANT_DEPTH = 10
"""Longest chain of variants (a variant of a variant of ...) before the scenario itself."""
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
    poor_people: People
    poor_villages: Count
    other_villages: Count
    rural_population: Annotated[int, Field(strict=True, gt=0, le=MAX_PEOPLE)]
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
    """The counties, with one unit per column and one source for the table."""

    unit: dict[str, str]
    source: str = Field(min_length=1)
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

    @model_validator(mode="after")
    def _check(self) -> Population:
        lo, hi = self.near_poor_income_ratio.value
        if lo > hi:
            raise ValueError("near_poor_income_ratio: low must not exceed high")
        return self


class Economy(Strict):
    """Income dynamics and shocks, the same for every scenario on one population."""

    income_growth: P[Annotated[float, Field(strict=True, ge=-0.5, le=1)]]
    income_volatility: P[Annotated[float, Field(strict=True, ge=0, le=2)]]
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


class Industry(BatchBase):
    success_prob: P[Share]
    gain_per_capita: P[NonNeg]
    gain_sigma: P[Annotated[float, Field(strict=True, ge=0, le=2)]]
    ramp_years: P[Annotated[int, Field(strict=True, ge=1, le=10)]]


class Employment(BatchBase):
    placement_prob: P[Share]
    wage: P[NonNeg]


class Relocation(BatchBase):
    build_years: P[Annotated[int, Field(strict=True, ge=0, le=5)]]
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
    build_years: P[Annotated[int, Field(strict=True, ge=0, le=5)]]


class SocialFloor(Strict):
    """低保 raised to the line: an entitlement, outside the discretionary budget and capacity."""

    start_year: P[Year]
    top_up_to: P[Annotated[float, Field(strict=True, ge=0, le=3)] | dict[Year, Annotated[float, Field(strict=True, ge=0, le=3)]]]
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
    support_continuation_years: P[Annotated[int, Field(strict=True, ge=0, le=30)]]
    insurance_cover: P[Share]
    registration_rate: P[Share]


class Infrastructure(Strict):
    priority: P[Annotated[int, Field(strict=True, ge=0, le=100)]]
    capacity: P[dict[Year, NonNeg]]
    cost_per_village: P[NonNeg]
    initial_done_share: P[Share]


VillageRule = Literal["incidence", "mean_income"]


class ExitRules(Strict):
    """When poor villages and counties take off the hat.

    ``village_rule`` ``incidence`` (the default): a village exits when its poverty incidence is
    below ``village_incidence_threshold``. ``mean_income`` (Guangdong's relative standard): when
    its residents' mean per-capita income reaches ``village_income_threshold`` for the year;
    residents outside the simulated register are counted at ``resident_income_ratio`` times the
    year's poverty line. Either way its basic infrastructure must be in place.
    """

    village_rule: P[VillageRule] = P[VillageRule](
        value="incidence", unit="rule", source="default: poverty incidence (DOMAIN.md)")
    village_incidence_threshold: P[Share]
    village_income_threshold: P[dict[Year, Pos]] | None = None
    resident_income_ratio: P[Pos] | None = None
    county_incidence_threshold: P[Share]
    county_min_village_exit_share: P[Share]
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
        first, last = self.years.value
        if first > last:
            raise ValueError(f"years: first year {first} is after last year {last}")
        horizon = set(range(first, last + 1))
        if missing := sorted(horizon - set(self.poverty_line.value)):
            raise ValueError(f"poverty_line: no value for year(s) {missing}")
        for key, series in year_tables(self):
            schedule = key == "batches.social_floor.top_up_to"  # a step schedule: earlier years carry on
            if outside := sorted(y for y in series if y > last or (y < first and not schedule)):
                raise ValueError(f"{key}: year(s) {outside} outside the horizon {first}-{last}")
        names = {r.name for r in self.counties.rows}
        for year, listed in self.targets.counties.value.items():
            if unknown := sorted(set(listed) - names):
                raise ValueError(f"targets.counties: {year}: unknown county {unknown}")
        if (threshold := self.exit_rules.village_income_threshold) is not None and \
                self.exit_rules.village_rule.value == "mean_income":
            if missing := sorted(horizon - set(threshold.value)):
                raise ValueError(f"exit_rules.village_income_threshold: no value for year(s) {missing}")
        total_poor = sum(r.poor_people for r in self.counties.rows)
        if total_poor * self.scale.value < 1:
            raise ValueError("scale: fewer than one simulated person; raise scale")
        return self

    @property
    def horizon(self) -> list[int]:
        """The simulated years, first to last."""
        first, last = self.years.value
        return list(range(first, last + 1))


def year_tables(node: Any, path: str = "") -> list[tuple[str, dict[int, Any]]]:
    """Every year-keyed table of a scenario (capacities, budgets, lines, targets, thresholds, ...):
    ``(dotted path, {year: value})`` for each parameter whose value is a mapping keyed by year."""
    if isinstance(node, P):
        value = node.value
        if isinstance(value, dict) and value and all(isinstance(k, int) for k in value):
            return [(path, value)]
        return []
    found = []
    if isinstance(node, BaseModel):
        for name in type(node).model_fields:
            found += year_tables(getattr(node, name), f"{path}.{name}" if path else name)
    elif isinstance(node, dict):
        for name, child in node.items():
            found += year_tables(child, f"{path}.{name}" if path else str(name))
    return found


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
                    None, None, f"duplicate key {short(repr(key))}; give each key once", key_node.start_mark)
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


NUMBER_ERRORS = {"float_type", "int_type", "int_from_float", "float_parsing", "int_parsing"}
"""pydantic error types of a value that is not the number expected."""


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
    elif kind == "string_pattern_mismatch" and key == "name":
        msg = (f"not a safe folder name (got {short(repr(err.get('input')))}); use letters, digits, _ . - "
               "and start with a letter, digit or _")
    else:
        msg = err["msg"]
        value = err.get("input")
        if "input" in err and kind != "value_error" and not isinstance(value, dict | list):
            msg += f" (got {short(repr(value))})"
            if isinstance(value, bool) and kind in NUMBER_ERRORS:
                msg += "; yes/no, on/off and true/false are booleans in YAML, not numbers"
            elif isinstance(value, str) and kind in NUMBER_ERRORS:
                msg += ("; YAML reads this as text: write the number without quotes, and an exponent with a "
                        "dot (1.0e+5, not 1e5)")
            elif isinstance(value, float) and kind == "int_from_float":
                msg += "; give a whole number"
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


def load_raw(path: str | Path, _chain: tuple[Path, ...] = ()) -> tuple[dict[str, Any], list[Path]]:
    """Read a scenario or a variant file; returns the merged raw mapping and the files read.

    A variant file has ``base: other.yaml`` (relative to the variant), optional ``name`` and
    ``title``, and ``overrides: {dotted.path: value}``.
    """
    path = Path(path)
    raw = read_yaml(path)
    if "base" not in raw:
        return raw, [path]
    src = str(path)
    allowed = {"base", "name", "title", "overrides", "description"}
    if unknown := sorted(set(raw) - allowed):
        raise UserError(f"unknown key in a variant file; allowed: {sorted(allowed)}", source=src, key=unknown[0])
    base = raw["base"]
    if not isinstance(base, str) or not base.strip():
        raise UserError(f"expected the path of the base scenario file, relative to this variant (got "
                        f"{short(repr(base))})", source=src, key="base")
    if len(_chain) >= MAX_VARIANT_DEPTH:
        raise UserError(f"variants built on variants more than {MAX_VARIANT_DEPTH} deep; base this variant on "
                        "a scenario or a shorter chain", source=src, key="base")
    base_path = (path.parent / base).resolve()
    if not base_path.is_file():
        raise UserError(f"base scenario file not found: {short(base, 200)} (paths are relative to the variant)",
                        source=src, key="base")
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
    warn_implausible(scenario, str(path))
    return scenario


LINE_JUMP = 2.0
"""A poverty line that changes by more than this factor from one year to the next is implausible."""
FUNDING_JUMP = 100.0
"""A year's funding per registered poor person this many times off the other years' median is implausible."""


def warn_implausible(scenario: Scenario, source: str) -> None:
    """At most one one-line warning per kind (the run goes on) for values that can be but look
    like typos: a poverty line that halves or doubles from one year to the next (the first such
    year), a year's funding per registered poor person 100 times above or below the median of the
    other years (the year furthest off)."""
    line = scenario.poverty_line.value
    for year in scenario.horizon[1:]:
        before, now = line.get(year - 1), line.get(year)
        if before and now and not 1 / LINE_JUMP <= now / before <= LINE_JUMP:
            warn(f"the line goes from {before:,g} in {year - 1} to {now:,g} in {year} yuan; is that a typo?",
                 source=source, key=f"poverty_line.{year}")
            break
    poor = sum(r.poor_people for r in scenario.counties.rows) or 1
    per_poor = {y: sum(s.amount.value.get(y, 0.0) for s in scenario.funding.sources.values()) / poor
                for y in scenario.horizon}
    off = {}
    for year, value in per_poor.items():
        others = [v for y, v in per_poor.items() if y != year and v > 0]
        if others and value > 0:
            off[year] = (value / statistics.median(others), statistics.median(others))
    if off:
        year, (ratio, median) = max(off.items(), key=lambda kv: abs(math.log(kv[1][0])))
        if not 1 / FUNDING_JUMP <= ratio <= FUNDING_JUMP:
            warn(f"funding in {year} is {per_poor[year]:,.0f} yuan per registered poor person against a median of "
                 f"{median:,.0f} in the other years; is an amount off by a factor of 100 or more?",
                 source=source, key=f"funding.sources.*.amount.{year}")


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

