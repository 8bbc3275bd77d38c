"""A household register (建档立卡) read in place of the synthetic population.

The file is read by ``register_files.py`` (spreadsheets or CSV, official Chinese or English
columns, person or household rows); here its households are checked against the scenario and
become the model's arrays: villages matched by (county, township, village), status from
脱贫属性 / 脱贫年度 at the start year, 低保 / 特困 households on the social floor, and the
register's totals compared with the scenario's. The format is in ``scenarios/data/README.md``.
Every problem is one line naming the file, the row (as numbered in the spreadsheet) and the
column as the file names it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tuopin.errors import UserError
from tuopin.scenario.schema import CAUSES, Scenario
from tuopin.sim.agents import BATCH_INDEX, CAUSE_BIT, EXITED, NEAR, NOT_YET, POOR, Households, Population, Villages
from tuopin.sim.keyed import text_keys
from tuopin.sim.population import build_counties, build_villages, fit_village_population
from tuopin.sim.register_files import (NO, YES, Mapping, Register, fail, first_bad, first_duplicate, load_mapping,
                                       per_label, read_register, yes_no)

CAUSE_LABELS: dict[str, str | None] = {
    **{zh: key for key, zh in CAUSES.items()}, **{key: key for key in CAUSES},
    "缺劳动力": "no_labour", "其他": None, "其它": None, "other": None,
}
"""A cause as written in the register (official label or English key) -> English key; 其他 /
其它 (other) is a known label that no rule of the model acts on."""

CAUSE_SEPARATORS = r"[、;；,，/]"
STATUS: dict[str, tuple[int, bool]] = {
    "": (POOR, False), "未脱贫": (POOR, False), "贫困户": (POOR, False), "poor": (POOR, False),
    "已脱贫": (EXITED, False), "脱贫": (EXITED, False), "稳定脱贫": (EXITED, False), "exited": (EXITED, False),
    "已脱贫(享受政策)": (EXITED, False), "已脱贫(不享受政策)": (EXITED, False),
    "脱贫(享受政策)": (EXITED, False), "脱贫(不享受政策)": (EXITED, False),
    "返贫": (POOR, True), "relapsed": (POOR, True),
    "边缘户": (NEAR, False), "边缘易致贫户": (NEAR, False), "near": (NEAR, False),
}
"""脱贫属性 (or ``status``) -> (model status, relapsed): 未脱贫 poor; 已脱贫 exited in its 脱贫年度;
返贫 poor again after an exit; 边缘户 near-poor (not registered; can fall into poverty)."""
FLOOR_TYPES = {"": False, "一般贫困户": False, "一般户": False, "general": False,
               "低保贫困户": True, "低保户": True, "低保": True, "dibao": True,
               "特困供养贫困户": True, "特困供养": True, "特困户": True, "特困供养人员": True, "分散供养特困人员": True,
               "五保贫困户": True, "五保户": True, "tekun": True}
"""贫困户属性 -> on the social floor (低保 / 特困供养 households are; 一般贫困户 are not)."""
UNSAFE_WORDS = frozenset({"危房", "是危房", "c级", "d级", "c级危房", "d级危房"})
SAFE_WORDS = frozenset({"安全", "住房安全", "安全住房", "有保障", "已保障", "住房有保障", "safe"})
"""危房户 values: 是 / 危房 / C级 / D级 mean unsafe; words of safety mean the column was inverted."""
MAX_SIZE = 30
TOLERANCE = 0.10
"""Largest relative difference of the register's totals from the scenario's before it is an error
(unless ``allow_partial``)."""


def _whole(path: Path, df: pd.DataFrame, names: dict[str, str], column: str, low: int, high: int) -> np.ndarray:
    """A column of whole numbers within [low, high]."""
    x = pd.to_numeric(df[column].str.replace(",", ""), errors="coerce")
    first_bad(path, df, x.isna() | (x != np.round(x)), column, names, "expected a whole number")
    first_bad(path, df, (x < low) | (x > high), column, names, f"expected a whole number from {low} to {high}")
    return np.array(x, dtype=np.int64)


def _causes(path: Path, df: pd.DataFrame, names: dict[str, str]) -> np.ndarray:
    """The causes of each household (主要 and 其他致贫原因) as a bitmask of ``CAUSE_BIT``."""
    mask = np.zeros(len(df), dtype=np.uint16)
    for column in ("causes", "causes_other"):
        if column not in df.columns:
            continue
        unknown: dict[str, str] = {}

        def bits(cell: str) -> int:
            out = 0
            for label in re.split(CAUSE_SEPARATORS, cell):
                label = label.strip()
                if not label:
                    continue
                if label not in CAUSE_LABELS and label.lower() not in CAUSE_LABELS:
                    unknown[cell] = label
                    return -1
                key = CAUSE_LABELS.get(label, CAUSE_LABELS.get(label.lower()))
                out |= CAUSE_BIT[key] if key else 0
            return out

        value = per_label(df[column], bits, np.int64)
        if (value < 0).any():
            i = int(np.flatnonzero(value < 0)[0])
            raise fail(path, int(df["_row"].iloc[i]), names.get(column, column),
                       f"unknown cause {unknown[str(df[column].iloc[i])]!r}; expected labels from: "
                       f"{'、'.join([*CAUSES.values(), '其他'])}, separated by 、 or ;")
        mask |= value.astype(np.uint16)
    return mask


def _safe_house(path: Path, df: pd.DataFrame, names: dict[str, str]) -> np.ndarray:
    """Safe house from ``safe_house`` (yes = safe) or 危房户 (yes = unsafe, read inverted); both
    given must agree."""
    if "safe_house" not in df.columns and "unsafe_house" not in df.columns:
        raise UserError("missing column safe_house (住房安全) or 危房户 (unsafe_house)", source=str(path), key="header")
    safe = yes_no(path, df, "safe_house", names) if "safe_house" in df.columns else None
    if safe is not None and "unsafe_house" not in df.columns:
        return safe
    column = names["unsafe_house"]
    read = per_label(df["unsafe_house"], lambda s: 2 if s.lower() in SAFE_WORDS else 1 if s.lower() in YES | UNSAFE_WORDS
                     else 0 if s.lower() in NO | {"非危房", "不是危房"} else -1, np.int8)
    first_bad(path, df, read == 2, "unsafe_house", names,
              f"{column} is 是 when the house is unsafe (a dilapidated house); a word of safety reads as the "
              "opposite: write 否 for a safe house, 是 for an unsafe one")
    first_bad(path, df, read < 0, "unsafe_house", names, f"expected 是 (unsafe house) or 否 (safe) in {column}")
    from_unsafe = read == 0
    if safe is not None:
        first_bad(path, df, safe != from_unsafe, "unsafe_house", names,
                  f"{column} contradicts {names['safe_house']} (危房户 是 means the house is NOT safe)")
    return from_unsafe


def _status_code(label: str) -> int:
    """A 脱贫属性 label as status + 4 * relapsed, -1 when unknown."""
    found = STATUS.get(label.lower().replace("（", "(").replace("）", ")"))
    return -1 if found is None else found[0] + 4 * found[1]


def _year(cell: str) -> int:
    """A year cell (2017, 2017年, 2017.0, 2017-12-31): the year, 0 when empty, -1 when not a year."""
    if not cell:
        return 0
    match = re.fullmatch(r"\s*(\d{4})(?:年|\.0+|-.*|/.*)?\s*", cell)
    return int(match.group(1)) if match else -1


def _status(path: Path, df: pd.DataFrame, names: dict[str, str], start: int) -> tuple[np.ndarray, np.ndarray]:
    """Status and latest exit year at the start of ``start``, from 脱贫属性 and 脱贫年度."""
    n = len(df)
    if "status" not in df.columns:
        status = np.full(n, POOR, dtype=np.int8)
        relapsed = np.zeros(n, dtype=bool)
    else:
        code = per_label(df["status"], lambda s: _status_code(s), np.int8)
        first_bad(path, df, code < 0, "status", names,
                  f"unknown {names['status']}; expected 未脱贫, 已脱贫, 返贫 or 边缘户 (poor, exited, relapsed, near)")
        status, relapsed = (code % 4).astype(np.int8), code >= 4
    exit_year = np.full(n, NOT_YET, dtype=np.int16)
    if "exit_year" in df.columns:
        year = per_label(df["exit_year"], _year, np.int64)
        given = year != 0
        first_bad(path, df, year < 0, "exit_year", names, "expected a year such as 2017")
        column = names["exit_year"]
        first_bad(path, df, given & ((year < 2013) | (year >= start)), "exit_year", names,
                  f"an exit year must be from 2013 to the year before the start year {start} (the register is the "
                  f"state at the end of {start - 1}; start later with --start-year)")
        first_bad(path, df, given & ((status == POOR) & ~relapsed | (status == NEAR)), "exit_year", names,
                  f"{column} is given for a household that has not exited (未脱贫 or 边缘户)")
        exit_year = np.where(given, year, NOT_YET).astype(np.int16)
    missing = (status == EXITED) & (exit_year < 0)
    if missing.any():
        column = names.get("exit_year", "exit_year (脱贫年度)")
        i = int(np.flatnonzero(missing)[0])
        raise fail(path, int(df["_row"].iloc[i]), column, "an exited household (已脱贫) needs its exit year (脱贫年度)")
    return status, exit_year


def _county_index(path: Path, df: pd.DataFrame, names: dict[str, str], scenario: Scenario) -> tuple[np.ndarray, bool]:
    """Each household's county; True if the scenario's rows are townships matched on 乡镇."""
    rows = scenario.counties.rows
    lookup = {r.name: c for c, r in enumerate(rows)} | {r.name_en: c for c, r in enumerate(rows)}
    county = df["county"].map(lookup)
    by_township = False
    if county.isna().all() and "township" in df.columns and df["township"].isin(lookup.keys()).any():
        county, by_township = df["township"].map(lookup), True
    column = "township" if by_township else "county"
    first_bad(path, df, county.isna(), column, names,
              f"county not in the scenario; expected one of {', '.join(r.name for r in rows)}")
    return np.array(county, dtype=np.int16), by_township


def _village_index(path: Path, df: pd.DataFrame, names: dict[str, str], county: np.ndarray, scenario: Scenario,
                   township: pd.Series | None) -> np.ndarray:
    """Each household's village as an index into the scenario's village table, matched by
    (county, township, village).

    A county that lists ``village_names`` is matched by name, written ``村`` or ``乡镇/村``; a bare
    name must not stand for villages of two townships in the register. A county without names
    numbers its villages 1 to poor_villages + other_villages, the poor villages first.
    """
    lookup: dict[str, int] = {}
    first = 0
    for c, row in enumerate(scenario.counties.rows):
        n = row.poor_villages + row.other_villages
        listed = row.village_names or [str(i + 1) for i in range(n)]
        lookup.update({f"{c}|{name}": first + i for i, name in enumerate(listed)})
        first += n
    village = df["village"].astype("str")
    numbered = village.str.fullmatch(r"\d+(\.0+)?")
    village = village.where(~numbered, village.str.replace(r"\.0+$", "", regex=True))
    prefix = pd.Series(county, index=df.index).astype(str) + "|"
    index = (prefix + village).map(lookup)
    if township is not None:
        qualified = (prefix + township + "/" + village).map(lookup)
        index = qualified.fillna(index)
        bare = qualified.isna() & index.notna()
        spread = pd.DataFrame({"v": index[bare], "t": township[bare]}).groupby("v")["t"].nunique()
        if (spread > 1).any():
            v = spread.index[np.flatnonzero(spread.to_numpy() > 1)[0]]
            rows = np.flatnonzero((bare & (index == v)).to_numpy())
            towns = township.iloc[rows].unique()
            i = int(rows[np.flatnonzero(township.iloc[rows].to_numpy() != towns[0])[0]])
            raise fail(path, int(df["_row"].iloc[i]), names["village"],
                       f"village {df['village'].iloc[i]!r} is in townships {towns[0]!r} and {towns[1]!r} of the "
                       f"register but once in the scenario; name it per township in the scenario's village_names "
                       f"('{towns[0]}/{df['village'].iloc[i]}')")
    if index.isna().any():
        i = int(np.flatnonzero(index.isna().to_numpy())[0])
        row = scenario.counties.rows[county[i]]
        known = (f"one of {', '.join(row.village_names)}" if row.village_names
                 else f"a village number from 1 to {row.poor_villages + row.other_villages} (poor villages first)")
        raise fail(path, int(df["_row"].iloc[i]), names["village"], f"village {df['village'].iloc[i]!r} is not in "
                   f"county {row.name} of the scenario; expected {known}")
    return np.array(index, dtype=np.int32)


@dataclass
class Comparison:
    """The register's totals beside the scenario's: (what, register, scenario) rows."""

    rows: list[tuple[str, float, float]]

    def worst(self) -> float:
        """The largest relative difference."""
        return max((abs(r - s) / s if s else float(r != 0) for _, r, s in self.rows), default=0.0)

    def lines(self) -> list[str]:
        """A small table, the register's figures beside the scenario's."""
        out = [f"  {'':<42}{'register':>12}{'scenario':>12}{'difference':>12}"]
        for what, r, s in self.rows:
            diff = f"{(r - s) / s:+.1%}" if s else f"{r - s:+,.0f}"
            out.append(f"  {what:<42}{r:>12,.0f}{s:>12,.0f}{diff:>12}")
        return out

    def one_line(self, most: int = 4) -> str:
        """The first ``most`` differing figures in one line."""
        differ = [f"{what} {r:,.0f} vs {s:,.0f}" for what, r, s in self.rows if r != s]
        more = f" and {len(differ) - most} more" if len(differ) > most else ""
        return "; ".join(differ[:most]) + more


def compare_totals(hh: Households, villages: Villages, scenario: Scenario) -> Comparison:
    """Registered people (poor, exited and relapsed) per county and in all, counties and poor
    villages with registered households, against the scenario's counties table."""
    rows = scenario.counties.rows
    registered = hh.status != NEAR
    people = np.bincount(hh.county[registered], weights=hh.size[registered], minlength=len(rows))
    poor_villages = villages.poor_village & (np.bincount(hh.village[registered], minlength=len(villages)) > 0)
    out = [("registered people", float(people.sum()), float(sum(r.poor_people for r in rows))),
           ("counties", float(len(np.unique(hh.county))), float(len(rows))),
           ("poor villages with registered households", float(poor_villages.sum()),
            float(sum(r.poor_villages for r in rows)))]
    if len(rows) > 1:
        out += [(f"registered people, {r.name}", float(people[c]), float(r.poor_people)) for c, r in enumerate(rows)]
    return Comparison(out)


def households_from_register(path: str | Path, scenario: Scenario, *, mapping: str | Path | Mapping | None = None,
                             start_year: int | None = None, allow_partial: bool = False,
                             warn: Callable[[str], None] | None = None) -> Population:
    """Build the households, villages and counties of a scenario from a register file.

    Args:
        path: the register (.xlsx, .xls or CSV; see ``scenarios/data/README.md``).
        scenario: the scenario it belongs to (scale 1: a register is simulated whole).
        mapping: a mapping file (or a read ``Mapping``) for columns and labels of other names.
        start_year: the first simulated year (default: the scenario's first). The register is
            the state at the end of the year before: its incomes are that year's, and a
            household exited (已脱贫) in its 脱贫年度, which must be before ``start_year``.
        allow_partial: simulate a register whose totals differ from the scenario's by more than
            :data:`TOLERANCE` (a warning instead of an error).
        warn: where notes go (missing optional columns, totals that differ); default: ignored.

    Raises:
        UserError: one line naming the file, the row and column, and what was expected.
    """
    path = Path(path)
    notes: list[str] = []
    if scenario.scale != 1.0:
        raise UserError(f"a register is simulated whole; scenario {scenario.name} has scale {scenario.scale}, "
                        "use scale 1 (--scale 1)", source=str(path))
    first_year, last_year = scenario.years
    start = first_year if start_year is None else int(start_year)
    if not first_year <= start <= last_year:
        raise UserError(f"start year {start} is outside the scenario's years {first_year}-{last_year}",
                        source=str(path), key="start year")
    reg: Register = read_register(path, mapping if isinstance(mapping, Mapping) else load_mapping(mapping))
    df, names = reg.households, reg.names
    if reg.layout == "households":
        ids = df["household_id"]
        first_bad(path, df, ids == "", "household_id", names, "household_id is empty")
        first_duplicate(path, df, "household_id", names, "household_id")

    county, by_township = _county_index(path, df, names, scenario)
    township = df["township"].astype("str") if "township" in df.columns and not by_township else None
    village = _village_index(path, df, names, county, scenario, township)
    size = _whole(path, df, names, "size", 1, MAX_SIZE)
    labour = _whole(path, df, names, "labour", 0, MAX_SIZE)
    first_bad(path, df, labour > size, "labour", names, "more workers than members")
    students = _whole(path, df, names, "students", 0, MAX_SIZE)
    first_bad(path, df, students > size, "students", names, "more students than members")
    income = pd.to_numeric(df["per_capita_income"].str.replace(",", ""), errors="coerce")
    first_bad(path, df, income.isna() | ~np.isfinite(income), "per_capita_income", names, "expected a number of yuan")
    first_bad(path, df, income < 0, "per_capita_income", names, "income must not be negative")
    status, exit_year = _status(path, df, names, start)
    causes = _causes(path, df, names)
    causes |= np.where(labour == 0, CAUSE_BIT["no_labour"], 0).astype(np.uint16)
    if "safe_water" in df.columns:
        causes |= np.where(yes_no(path, df, "safe_water", names), 0, CAUSE_BIT["no_water"]).astype(np.uint16)
    house_ok = _safe_house(path, df, names)
    insured = yes_no(path, df, "insured", names)
    optional = {}
    for column, zh, lacking in (("harsh_location", "易地扶贫搬迁户", "no household is a relocation candidate"),
                                ("eco_zone", "生态保护区", "no household receives ecological compensation")):
        if column in df.columns:
            optional[column] = yes_no(path, df, column, names)
        else:
            optional[column] = np.zeros(len(df), dtype=bool)
            notes.append(f"no column {column} ({zh}): {lacking}")
    floor = np.zeros(len(df), dtype=bool)
    if "household_type" in df.columns:
        kind = per_label(df["household_type"], lambda s: int(FLOOR_TYPES.get(s.lower(), -1)), np.int8)
        first_bad(path, df, kind < 0, "household_type", names,
                  f"unknown {names['household_type']}; expected 一般贫困户, 低保贫困户 or 特困供养贫困户")
        floor = (kind == 1) & (status != NEAR)

    villages = build_villages(scenario, 1.0)
    counties = build_counties(scenario)
    hh = Households.register(
        county=county, village=village, size=size.astype(np.int16), labour=labour.astype(np.int16),
        students=students.astype(np.int16), causes=causes, harsh=optional["harsh_location"],
        eco_zone=optional["eco_zone"], house_ok=house_ok, insured=insured, status=status,
        market=np.array(income, dtype=np.float64), first_year=first_year,
        key=text_keys(df["household_id"].astype("str").to_numpy(), "household"))  # its draws follow its id
    fit_village_population(villages, hh)
    hh.exit_year[:] = exit_year  # the register's state at the start year: exits, the floor
    hh.enrolled[BATCH_INDEX["social_floor"], floor] = start - 1
    comparison = compare_totals(hh, villages, scenario)
    if comparison.worst() > TOLERANCE and not allow_partial:
        raise UserError(f"the register does not match scenario {scenario.name} (beyond the {TOLERANCE:.0%} "
                        f"tolerance): {comparison.one_line()}; check the register and the scenario, or give "
                        "--allow-partial to simulate the register as it is", source=str(path))
    if comparison.worst() > 0:
        notes.append(f"the register's totals differ from scenario {scenario.name}'s (tolerance {TOLERANCE:.0%}"
                     f"{', --allow-partial' if comparison.worst() > TOLERANCE else ''}):\n"
                     + "\n".join(comparison.lines()))
    for note in notes:
        if warn:
            warn(f"{path}: {note}")
    return hh, villages, counties


def fresh_copy(population: Population) -> Population:
    """A deep copy: a run changes its population, so every replicate starts from its own copy."""
    return copy.deepcopy(population)


def describe(population: Population) -> dict[str, int]:
    """Households and people of a register: registered poor, exited, relapsed-in-waiting, near-poor."""
    hh = population[0]
    return {"households": len(hh), "people": int(hh.size.sum()),
            "registered_poor_people": round(hh.people(hh.status == POOR)),
            "exited_people": round(hh.people(hh.status == EXITED)),
            "near_poor_people": round(hh.people(hh.status == NEAR)),
            "floor_people": round(hh.people(hh.enrolled[BATCH_INDEX["social_floor"]] >= 0))}
