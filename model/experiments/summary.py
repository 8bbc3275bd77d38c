"""Replicates reduced to medians, 5-95% bands and the chance of meeting the plan; paired
differences between a base scenario and a variant run on the same replicate seeds."""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import pandas as pd

from tuopin.experiments.headlines import wilson
from tuopin.sim import flows

BANDED = [name for f in flows.names("summary") for name in ((f, "exits_cum") if f == "exits" else (f,))]
"""Quantities summarised with median and band, per year: the year's outputs tagged ``summary`` in
``flows.FIELDS``, and cumulative exits beside the exits."""

LOW, HIGH = 0.05, 0.95

COMPARED: dict[str, int] = dict(zip(flows.known("exits", "poor_end", "relapses", "spending", "cost_per_sustained_exit"),
                                    (+1, -1, 0, 0, -1)))
"""Quantities compared between scenarios, with the direction that is better (+1: more is better,
-1: fewer is better, 0: neither). Fewer relapses are not better in themselves: they also fall
when fewer people exit (nobody left to fall back), and less spending may buy fewer exits; for
those the tables give P(variant higher) only."""


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
    """Per year: target, median and 5-95% band of each quantity, and P(exits >= target) with its
    95% Wilson interval (``p_meet_target_low``/``_high``); the same for cumulative exits against the
    cumulative target (so the last year's ``p_meet_cum_target`` is P(meet the whole plan))."""
    annual = with_cumulative(annual)
    rows = []
    for label, group in annual.groupby("year", sort=True):
        year = cast(int, label)
        target = float(group["target_exits"].iloc[0])
        target_cum = float(group["target_exits_cum"].iloc[0])
        row: dict[str, float] = {"year": int(year), "replicates": len(group), "target_exits": target,
                                 "target_exits_cum": target_cum}
        for column in BANDED:
            row.update(_band(group, column))
        for key, column, goal in (("p_meet_target", "exits", target), ("p_meet_cum_target", "exits_cum", target_cum)):
            met, n = int((group[column] >= goal).sum()), len(group)
            row[key] = met / n if goal > 0 else np.nan
            row[f"{key}_low"], row[f"{key}_high"] = wilson(met, n) if goal > 0 else (np.nan, np.nan)
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
    P(variant higher) (share of paired replicates where the variant's value is above the base's)
    and P(variant better) (where the variant beats its paired base; NaN for a quantity with no
    better direction, see :data:`COMPARED`)."""
    rows = [{"year": int(cast(int, year)), **row} for year, group in paired.groupby("year", sort=True)
            for row in _difference_rows(group)]
    return pd.DataFrame(rows)


PERIOD_SUMMED = ("exits", "relapses", "spending")
"""Compared quantities added up over the years for the period's total (the others are stocks or
running ratios: their last year's value)."""


def total_differences(paired: pd.DataFrame) -> pd.DataFrame:
    """The same as :func:`summarize_differences` for the whole period, one row per quantity:
    exits, relapses and spending summed over the years of each paired replicate, people still poor
    and cost per sustained exit at the last year. ``years`` names the period, e.g. ``2016-2020``."""
    ordered = paired.sort_values(["replicate", "year"])
    grouped = ordered.groupby("replicate")
    totals = pd.DataFrame({
        f"{q}_{side}": grouped[f"{q}_{side}"].sum() if q in PERIOD_SUMMED else grouped[f"{q}_{side}"].last()
        for q in COMPARED for side in ("base", "variant", "diff")})
    years = f"{int(paired['year'].min())}-{int(paired['year'].max())}"
    return pd.DataFrame([{"years": years, **row} for row in _difference_rows(totals)])


def _difference_rows(group: pd.DataFrame) -> list[dict[str, float | str | int]]:
    """One row per compared quantity of a set of paired replicates (see summarize_differences)."""
    rows: list[dict[str, float | str | int]] = []
    for quantity, sign in COMPARED.items():
        diff = group[f"{quantity}_diff"].to_numpy(dtype=float)
        diff = diff[~np.isnan(diff)]
        band = _band(group, f"{quantity}_diff")
        rows.append({
            "quantity": quantity,
            "better_if": {1: "higher", -1: "lower", 0: "neither"}[sign],
            "base_median": _band(group, f"{quantity}_base")[f"{quantity}_base_median"],
            "variant_median": _band(group, f"{quantity}_variant")[f"{quantity}_variant_median"],
            "difference_median": band[f"{quantity}_diff_median"],
            "difference_q05": band[f"{quantity}_diff_q05"],
            "difference_q95": band[f"{quantity}_diff_q95"],
            "p_variant_higher": float((diff > 0).mean()) if len(diff) else np.nan,
            "p_variant_better": float((sign * diff > 0).mean()) if len(diff) and sign else np.nan,
            "replicates": len(diff),
        })
    return rows
