"""Replicates reduced to medians, 5-95% bands and the chance of meeting the plan; paired
differences between a base scenario and a variant run on the same replicate seeds."""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import pandas as pd

from tuopin.sim import flows

BANDED = [name for f in flows.names("summary") for name in ((f, "exits_cum") if f == "exits" else (f,))]
"""Quantities summarised with median and band, per year: the year's outputs tagged ``summary`` in
``flows.FIELDS``, and cumulative exits beside the exits."""

LOW, HIGH = 0.05, 0.95

COMPARED: dict[str, int] = flows.better()
"""Quantities compared between scenarios, with the direction that is better (+1: more is better)."""


def _band(group: pd.DataFrame, column: str) -> dict[str, float]:
    values = group[column].to_numpy(dtype=float)
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return {f"{column}_median": np.nan, f"{column}_q05": np.nan, f"{column}_q95": np.nan}
    lo, mid, hi = np.quantile(values, [LOW, 0.5, HIGH])
    return {f"{column}_median": mid, f"{column}_q05": lo, f"{column}_q95": hi}


def with_cumulative(annual: pd.DataFrame) -> pd.DataFrame:
    """Add cumulative exits and cumulative plan targets per replicate."""
    out = annual.sort_values(["replicate", "year"]).copy()
    out["exits_cum"] = out.groupby("replicate")["exits"].cumsum()
    out["target_exits_cum"] = out.groupby("replicate")["target_exits"].cumsum()
    return out


def summarize(annual: pd.DataFrame) -> pd.DataFrame:
    """Per year: target, median and 5-95% band of each quantity, and P(exits >= target)."""
    annual = with_cumulative(annual)
    rows = []
    for key, group in annual.groupby("year", sort=True):
        year = cast(int, key)
        target = float(group["target_exits"].iloc[0])
        target_cum = float(group["target_exits_cum"].iloc[0])
        row: dict[str, float] = {"year": int(year), "replicates": len(group), "target_exits": target,
                                 "target_exits_cum": target_cum}
        for column in BANDED:
            row.update(_band(group, column))
        row["p_meet_target"] = float((group["exits"] >= target).mean()) if target > 0 else np.nan
        row["p_meet_cum_target"] = float((group["exits_cum"] >= target_cum).mean()) if target_cum > 0 else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def summarize_counties(counties: pd.DataFrame, planned: dict[str, int]) -> pd.DataFrame:
    """Per county and year: remaining poor (median, band), P(exited by then) and the planned year."""
    rows = []
    for keys, group in counties.groupby(["county", "year"], sort=False):
        county, year = cast(tuple[str, int], keys)
        exit_year = group["county_exit_year"].astype(float)
        row: dict[str, Any] = {"county": county, "county_en": group["county_en"].iloc[0], "year": int(year),
               "planned_exit_year": planned.get(county)}
        row.update(_band(group, "poor_end"))
        row.update(_band(group, "incidence"))
        row["p_exited"] = float((exit_year <= year).mean())
        row["behind_plan"] = bool(planned.get(county) is not None and year >= planned[county]
                                  and row["p_exited"] < 0.5)
        rows.append(row)
    return pd.DataFrame(rows)


def paired_differences(base: pd.DataFrame, variant: pd.DataFrame) -> pd.DataFrame:
    """Per replicate and year: base and variant values of each compared quantity, and their
    difference (variant - base). Rows are matched on replicate and year, so replicate ``i`` of the
    variant is set against replicate ``i`` of the base (same seed: common random numbers)."""
    keys = ["replicate", "year"]
    cols = list(COMPARED)
    paired = base[keys + cols].merge(variant[keys + cols], on=keys, suffixes=("_base", "_variant"),
                                     validate="one_to_one")
    for c in cols:
        paired[f"{c}_diff"] = paired[f"{c}_variant"] - paired[f"{c}_base"]
    return paired


def summarize_differences(paired: pd.DataFrame) -> pd.DataFrame:
    """Per year and quantity: base and variant medians, the difference's median and 5-95% band,
    and P(variant better): the share of replicates where the variant beats its paired base."""
    rows = []
    for key, group in paired.groupby("year", sort=True):
        year = cast(int, key)
        for quantity, sign in COMPARED.items():
            diff = group[f"{quantity}_diff"].to_numpy(dtype=float)
            diff = diff[~np.isnan(diff)]
            band = _band(group, f"{quantity}_diff")
            rows.append({
                "year": int(year), "quantity": quantity, "better_if": "higher" if sign > 0 else "lower",
                "base_median": _band(group, f"{quantity}_base")[f"{quantity}_base_median"],
                "variant_median": _band(group, f"{quantity}_variant")[f"{quantity}_variant_median"],
                "difference_median": band[f"{quantity}_diff_median"],
                "difference_q05": band[f"{quantity}_diff_q05"],
                "difference_q95": band[f"{quantity}_diff_q95"],
                "p_variant_better": float((sign * diff > 0).mean()) if len(diff) else np.nan,
                "replicates": len(diff),
            })
    return pd.DataFrame(rows)
