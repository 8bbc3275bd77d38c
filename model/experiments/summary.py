"""Replicates reduced to medians, 5-95% bands and the chance of meeting the plan; paired
differences between a base scenario and a variant run on the same replicate seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd

BANDED = [
    "exits", "exits_cum", "relapses", "new_entrants", "poor_end", "exits_paper", "sustained_exits",
    "villages_exited_total", "counties_qualified", "counties_exited", "counties_exited_total", "spending",
    "spending_floor",
    "cost_per_sustained_exit",
]
"""Quantities summarised with median and band, per year."""

LOW, HIGH = 0.05, 0.95

COMPARED: dict[str, int] = {
    "exits": +1, "relapses": -1, "poor_end": -1, "spending": -1, "cost_per_sustained_exit": -1,
}
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
    for year, group in annual.groupby("year", sort=True):
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


def _years(values: pd.Series) -> dict[str, float]:
    """Median and 5-95% band of a year over replicates; a replicate where it never came counts as
    later than any year, so a median or bound beyond the horizon is NaN ("not by the horizon")."""
    v = values.astype(float).fillna(np.inf).to_numpy()
    lo, mid, hi = np.quantile(v, [LOW, 0.5, HIGH], method="inverted_cdf")
    return {k: float(x) if np.isfinite(x) else np.nan for k, x in (("median", mid), ("q05", lo), ("q95", hi))}


def summarize_counties(counties: pd.DataFrame, planned: dict[str, int]) -> pd.DataFrame:
    """Per county and year, the rows ranked by how far behind the county is.

    Per county and year: remaining poor and incidence (median, 5-95% band over replicates, which
    carries the sampling noise of the villages as well as chance), the median standard error of
    the incidence estimate, the threshold, P(qualified by then) and P(exited, i.e. granted, by
    then). Per county: the planned year, P(hat off by the planned year) (qualified in the planned
    year's assessment or earlier), the year it first qualified and the year its exit was granted
    (median and band), the median incidence minus the threshold in the planned year (the last
    year without a plan), and ``rank`` (1 = furthest behind: lowest P(hat off by the planned
    year), then the widest gap). ``behind_plan``: from the planned year on, P(qualified) < 50%.
    """
    last = counties["year"].max()
    rows, per_county = [], []
    for county, group in counties.groupby("county", sort=False):
        final = group[group["year"] == last]
        plan = planned.get(county)
        qualified = final["first_qualified_year"].astype(float)
        granted = final["county_exit_year"].astype(float)
        at = group[group["year"] == (plan if plan is not None and plan <= last else last)]
        threshold = float(group["threshold"].iloc[0])
        p_plan = float((qualified <= plan).mean()) if plan is not None else np.nan
        gap = float(at["incidence"].median()) - threshold
        first, grant = _years(qualified), _years(granted)
        per_county.append((county, p_plan, gap))
        for year, g in group.groupby("year", sort=True):
            row = {"county": county, "county_en": g["county_en"].iloc[0], "year": int(year),
                   "planned_exit_year": plan}
            row.update(_band(g, "poor_end"))
            row.update(_band(g, "incidence"))
            p_qualified = float((qualified <= year).mean())
            row.update({
                "incidence_se_median": float(g["incidence_se"].median()), "threshold": threshold,
                "p_qualified": p_qualified, "p_exited": float((granted <= year).mean()),
                "behind_plan": bool(plan is not None and year >= plan and p_qualified < 0.5),
                "p_hat_off_by_plan": p_plan,
                **{f"first_qualified_year_{k}": x for k, x in first.items()},
                **{f"exit_year_{k}": x for k, x in grant.items()},
                "gap_at_plan": gap,
            })
            rows.append(row)
    order = sorted(per_county, key=lambda c: (np.nan_to_num(c[1], nan=2.0), -c[2]))
    rank = {county: i + 1 for i, (county, _, _) in enumerate(order)}
    out = pd.DataFrame(rows)
    out["rank"] = out["county"].map(rank)
    return out.sort_values(["rank", "year"], kind="stable").reset_index(drop=True)


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
    for year, group in paired.groupby("year", sort=True):
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
