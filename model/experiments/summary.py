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


def _years(values: pd.Series) -> pd.Series:
    """Median and 5-95% band of a year over replicates; a replicate where it never came counts as
    later than any year, so a median or bound beyond the horizon is NaN ("not by the horizon")."""
    v = values.astype(float).fillna(np.inf).to_numpy()
    lo, mid, hi = np.quantile(v, [LOW, 0.5, HIGH], method="inverted_cdf")
    return pd.Series({k: float(x) if np.isfinite(x) else np.nan for k, x in (("median", mid), ("q05", lo), ("q95", hi))})


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
    order = list(dict.fromkeys(counties["county"]))
    by = counties.groupby(["county", "year"], sort=False)
    out = by[["county_en", "threshold"]].first()
    out.insert(0, "planned_exit_year", [planned.get(c) for c, _ in out.index])
    for column in ("poor_end", "incidence"):
        q = by[column].quantile(np.array([0.5, LOW, HIGH])).unstack()
        for name, level in (("median", 0.5), ("q05", LOW), ("q95", HIGH)):
            out[f"{column}_{name}"] = q[level]
    out["incidence_se_median"] = by["incidence_se"].median()
    final = counties[counties["year"] == last].set_index(["county", "replicate"])
    years = counties[["county", "replicate", "year"]].join(
        final[["first_qualified_year", "county_exit_year"]].astype(float), on=["county", "replicate"])
    years["qualified"] = years["first_qualified_year"] <= years["year"]
    years["exited"] = years["county_exit_year"] <= years["year"]
    share = years.groupby(["county", "year"], sort=False)[["qualified", "exited"]].mean()
    out["p_qualified"], out["p_exited"] = share["qualified"], share["exited"]
    plan = out["planned_exit_year"].astype(float)
    year = out.index.get_level_values("year")
    out["behind_plan"] = (year >= plan) & (out["p_qualified"] < 0.5)
    per = final.groupby(level="county", sort=False)
    first = per["first_qualified_year"].apply(_years).unstack()
    grant = per["county_exit_year"].apply(_years).unstack()
    plan_of = pd.Series({c: planned.get(c, np.nan) for c in order}, dtype=float)
    p_plan = (final["first_qualified_year"].astype(float) <= plan_of.reindex(final.index.get_level_values(0)).to_numpy())
    p_plan = p_plan.groupby(level="county", sort=False).mean().where(plan_of.notna())
    at = plan_of.where(plan_of <= last, last).fillna(last)
    median = out["incidence_median"]
    gap = pd.Series({c: median[(c, int(at[c]))] for c in order}) - out["threshold"].groupby(level="county").first()
    per_county = pd.DataFrame({"p_hat_off_by_plan": p_plan, **{f"first_qualified_year_{k}": first[k] for k in first},
                               **{f"exit_year_{k}": grant[k] for k in grant}, "gap_at_plan": gap}).reindex(order)
    ranked = per_county.assign(key=per_county["p_hat_off_by_plan"].fillna(2.0)).sort_values(
        ["key", "gap_at_plan"], ascending=[True, False], kind="stable")
    per_county["rank"] = pd.Series(np.arange(1, len(ranked) + 1), index=ranked.index)
    out = out.reset_index().join(per_county, on="county")
    first_columns = ["county", "county_en", "year", "planned_exit_year"]
    rest = [c for c in out.columns if c not in first_columns and c != "threshold"]
    pos = rest.index("incidence_se_median") + 1
    out = out[first_columns + rest[:pos] + ["threshold"] + rest[pos:]]
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
