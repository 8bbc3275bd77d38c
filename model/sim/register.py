"""A household register (建档立卡-style CSV) read in place of the synthetic population.

One row per household; the format is documented in ``scenarios/data/README.md``. Every row is
checked and the first problem is reported as one line naming the file, the row (as numbered in a
spreadsheet: the header is row 1) and the column. Columns other than those below are ignored.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd

from tuopin.errors import UserError
from tuopin.scenario.schema import CAUSES, Scenario
from tuopin.sim.agents import CAUSE_BIT, NEAR, POOR, Households, Population
from tuopin.sim.population import build_counties, build_villages, fit_village_population

REQUIRED = ("household_id", "county", "village", "size", "labour", "students", "per_capita_income",
            "causes", "safe_house", "insured", "harsh_location", "eco_zone")
"""Columns every register must have (``status`` is optional: 贫困户 by default)."""

CAUSE_LABELS: dict[str, str] = {**{zh: key for key, zh in CAUSES.items()}, **{key: key for key in CAUSES}}
"""A cause as written in the register (Chinese label or English key) -> English key."""

CAUSE_SEPARATORS = r"[、;；,，]"
YES = {"1", "true", "yes", "y", "是", "有"}
NO = {"0", "false", "no", "n", "否", "无"}
STATUS = {"贫困户": POOR, "poor": POOR, "": POOR, "边缘户": NEAR, "near": NEAR}
MAX_SIZE = 30
MAX_REGISTER_BYTES = 200_000_000


def _fail(path: Path, row: int, column: str, message: str) -> UserError:
    """The one-line error for a bad cell: file, spreadsheet row, column, what was expected."""
    return UserError(message, source=str(path), key=f"row {row}, column {column}")


def _first_bad(path: Path, df: pd.DataFrame, bad: pd.Series, column: str, message: str) -> None:
    """Raise for the first row where ``bad`` holds (rows numbered as in a spreadsheet)."""
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        value = df[column].iloc[i]
        raise _fail(path, i + 2, column, f"{message} (got {value!r})")


def _whole(path: Path, df: pd.DataFrame, column: str, low: int, high: int) -> np.ndarray:
    """A column of whole numbers within [low, high]."""
    x = pd.to_numeric(df[column].str.strip(), errors="coerce")
    _first_bad(path, df, x.isna() | (x != np.round(x)), column, "expected a whole number")
    _first_bad(path, df, (x < low) | (x > high), column, f"expected a whole number from {low} to {high}")
    return x.to_numpy(dtype=np.int64)


def _flag(path: Path, df: pd.DataFrame, column: str) -> np.ndarray:
    """A yes/no column (是/否, yes/no, 1/0, true/false)."""
    x = df[column].str.strip().str.lower()
    _first_bad(path, df, ~x.isin(YES | NO), column, "expected yes or no (是/否, 1/0)")
    return x.isin(YES).to_numpy()


def _causes(path: Path, df: pd.DataFrame) -> np.ndarray:
    """The cause labels of each household as a bitmask of ``CAUSE_BIT``."""
    labels = df["causes"].str.split(CAUSE_SEPARATORS, regex=True).explode().str.strip()
    labels = labels[labels != ""]
    keys = labels.map(CAUSE_LABELS)
    unknown = keys.isna()
    if unknown.any():
        row = int(labels.index[np.flatnonzero(unknown.to_numpy())[0]])
        raise _fail(path, row + 2, "causes", f"unknown cause {labels[unknown].iloc[0]!r}; expected labels "
                    f"from: {'、'.join(CAUSES.values())}, separated by 、 or ;")
    bits = keys.map(CAUSE_BIT).astype(np.int64).reset_index().drop_duplicates()
    mask = bits.groupby("index")["causes"].sum()
    return mask.reindex(range(len(df)), fill_value=0).to_numpy(dtype=np.uint16)


def _village_index(path: Path, df: pd.DataFrame, county: np.ndarray, scenario: Scenario) -> np.ndarray:
    """Each household's village as an index into the scenario's village table.

    A county that lists ``village_names`` is matched by name; otherwise villages are numbered
    1 to poor_villages + other_villages, the poor villages first.
    """
    lookup: dict[str, int] = {}
    first = 0
    for c, row in enumerate(scenario.counties.rows):
        n = row.poor_villages + row.other_villages
        names = row.village_names or [str(i + 1) for i in range(n)]
        lookup.update({f"{c}|{name}": first + i for i, name in enumerate(names)})
        first += n
    village = df["village"].str.strip()
    numbered = village.str.fullmatch(r"\d+(\.0+)?")
    village = village.where(~numbered, village.str.replace(r"\.0+$", "", regex=True))
    index = (pd.Series(county, index=df.index).astype(str) + "|" + village).map(lookup)
    if index.isna().any():
        i = int(np.flatnonzero(index.isna().to_numpy())[0])
        row = scenario.counties.rows[county[i]]
        known = (f"one of {', '.join(row.village_names)}" if row.village_names
                 else f"a village number from 1 to {row.poor_villages + row.other_villages} (poor villages first)")
        raise _fail(path, i + 2, "village", f"village {df['village'].iloc[i]!r} is not in county {row.name} of the "
                    f"scenario; expected {known}")
    return index.to_numpy(dtype=np.int32)


def read_register(path: str | Path) -> pd.DataFrame:
    """Read a register CSV as text (UTF-8, a spreadsheet's BOM allowed); errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise UserError("register file not found", source=str(path))
    if path.stat().st_size > MAX_REGISTER_BYTES:
        raise UserError(f"register is larger than {MAX_REGISTER_BYTES} bytes", source=str(path))
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise UserError("not UTF-8 text; save the register as CSV UTF-8", source=str(path)) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise UserError(f"not a readable CSV table: {str(exc).splitlines()[0]}", source=str(path)) from None
    df.columns = [str(c).strip() for c in df.columns]
    if missing := [c for c in REQUIRED if c not in df.columns]:
        raise UserError(f"missing column(s) {', '.join(missing)}; a register needs {', '.join(REQUIRED)}",
                        source=str(path), key="header (row 1)")
    if df.empty:
        raise UserError("the register has no households", source=str(path))
    return df


def households_from_register(path: str | Path, scenario: Scenario) -> Population:
    """Build the households, villages and counties of a scenario from a register file.

    Incomes are per-capita market incomes of the registration year (the year before the first
    simulated year). The register is simulated whole, so the scenario must have scale 1.

    Raises:
        UserError: one line naming the file, the row and column, and what was expected.
    """
    path = Path(path)
    if scenario.scale != 1.0:
        raise UserError(f"a register is simulated whole; scenario {scenario.name} has scale {scenario.scale}, "
                        "use scale 1 (--scale 1)", source=str(path))
    df = read_register(path)
    ids = df["household_id"].str.strip()
    _first_bad(path, df, ids == "", "household_id", "household_id is empty")
    dup = ids.duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        first = int(np.flatnonzero((ids == ids.iloc[i]).to_numpy())[0])
        raise _fail(path, i + 2, "household_id", f"duplicate household_id {ids.iloc[i]!r} (first in row {first + 2})")

    names = {r.name: c for c, r in enumerate(scenario.counties.rows)}
    names.update({r.name_en: c for c, r in enumerate(scenario.counties.rows)})
    county_names = df["county"].str.strip().map(names)
    _first_bad(path, df, county_names.isna(), "county",
               f"county not in the scenario; expected one of {', '.join(r.name for r in scenario.counties.rows)}")
    county = county_names.to_numpy(dtype=np.int16)
    village = _village_index(path, df, county, scenario)

    size = _whole(path, df, "size", 1, MAX_SIZE)
    labour = _whole(path, df, "labour", 0, MAX_SIZE)
    _first_bad(path, df, pd.Series(labour > size), "labour", "more workers than members")
    students = _whole(path, df, "students", 0, MAX_SIZE)
    _first_bad(path, df, pd.Series(students > size), "students", "more students than members")
    income = pd.to_numeric(df["per_capita_income"].str.strip(), errors="coerce")
    _first_bad(path, df, income.isna() | ~np.isfinite(income), "per_capita_income", "expected a number of yuan")
    _first_bad(path, df, income < 0, "per_capita_income", "income must not be negative")
    written = df["status"].str.strip().str.lower().map(STATUS) if "status" in df.columns else pd.Series(POOR, index=df.index)
    if "status" in df.columns:
        _first_bad(path, df, written.isna(), "status", "expected 贫困户 (poor) or 边缘户 (near-poor)")
    status = written.to_numpy(dtype=np.int8)
    causes = _causes(path, df)
    causes |= np.where(labour == 0, CAUSE_BIT["no_labour"], 0).astype(np.uint16)

    villages = build_villages(scenario, 1.0)
    counties = build_counties(scenario, 1.0)
    fit_village_population(villages, village, size)
    hh = Households.register(
        county=county, village=village, size=size.astype(np.int16), labour=labour.astype(np.int16),
        students=students.astype(np.int16), causes=causes, harsh=_flag(path, df, "harsh_location"),
        eco_zone=_flag(path, df, "eco_zone"), house_ok=_flag(path, df, "safe_house"),
        insured=_flag(path, df, "insured"), status=status, market=income.to_numpy(dtype=np.float64),
        first_year=scenario.years[0])
    return hh, villages, counties


def fresh_copy(population: Population) -> Population:
    """A deep copy: a run changes its population, so every replicate starts from its own copy."""
    return copy.deepcopy(population)


def describe(population: Population) -> dict[str, int]:
    """Households and people of a register, registered poor and near-poor."""
    hh = population[0]
    return {"households": len(hh), "people": int(hh.size.sum()),
            "registered_poor_people": hh.people(hh.status == POOR), "near_poor_people": hh.people(hh.status == NEAR)}
