"""The headline quantities of a run, the same everywhere (``tuopin run``'s table, headlines.csv,
the dashboard, the notebooks and the figures).

Declared exits count a household again each time it exits after falling back, so they are never
shown alone: beside them stand the net reduction of the register (people poor at the start minus
people poor at the end), the people still poor at the end, the relapses, the distinct people
ever lifted out, and villages and counties exited against the plan. The chance of meeting a
target is a share of replicates, so it comes with its Monte Carlo error: a 95% Wilson interval.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from tuopin.scenario import Scenario

LOW, HIGH = 0.05, 0.95

HEADLINES: tuple[str, ...] = (
    "exits", "net_reduction", "poor_end", "relapses", "lifted_total", "villages_exited_total",
    "counties_exited_total",
)
"""The headline quantities over the whole plan period, in the order they are shown."""

SUMMED = {"exits", "net_reduction", "relapses", "target_exits"}
"""Quantities added up over the years (the others are stocks: their last year's value)."""


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a proportion ``successes / n`` (NaN, NaN when ``n`` is 0).

    Unlike ``p ± z·sqrt(p(1-p)/n)`` it does not collapse to zero width at 0% or 100%: 0 of 10
    replicates meeting a target gives 0–28%, not "0% exactly"."""
    if n == 0:
        return math.nan, math.nan
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def period_totals(annual: pd.DataFrame) -> pd.DataFrame:
    """One row per replicate: flows summed over the years, stocks at the last year."""
    ordered = annual.sort_values(["replicate", "year"])
    grouped = ordered.groupby("replicate")
    columns = [c for c in ("target_exits", *HEADLINES) if c in ordered.columns]
    return pd.DataFrame({c: grouped[c].sum() if c in SUMMED else grouped[c].last() for c in columns})


def plan_totals(scenario: Scenario | None) -> dict[str, float]:
    """The plan's totals over its period for the headline quantities it sets: villages and
    counties exited (exits come from each year's ``target_exits`` in the run's table)."""
    if scenario is None:
        return {}
    villages = float(sum(scenario.targets.villages.values()))
    counties = float(sum(len(names) for names in scenario.targets.counties.values()))
    return {k: v for k, v in (("villages_exited_total", villages), ("counties_exited_total", counties)) if v > 0}


def headlines(annual: pd.DataFrame, scenario: Scenario | None = None) -> pd.DataFrame:
    """The headline table of a run: per quantity over the whole period, the median and 5-95% band
    across replicates, the plan's figure where it sets one, and the share of replicates that meet
    it (``p_meet``) with its 95% Wilson interval (``p_meet_low``, ``p_meet_high``).

    ``annual`` is every replicate's yearly rows (``annual.csv``); ``scenario`` gives the village and
    county targets. Columns: quantity, first_year, last_year, median, q05, q95, plan, p_meet,
    p_meet_low, p_meet_high, replicates.
    """
    totals = period_totals(annual)
    plans = {"exits": float(totals["target_exits"].iloc[0]), **plan_totals(scenario)}
    first, last = int(annual["year"].min()), int(annual["year"].max())
    rows = []
    for quantity in HEADLINES:
        if quantity not in totals:
            continue
        values = totals[quantity].to_numpy(dtype=float)
        lo, mid, hi = np.quantile(values, [LOW, 0.5, HIGH])
        plan = plans.get(quantity, math.nan)
        row = {"quantity": quantity, "first_year": first, "last_year": last, "median": mid, "q05": lo, "q95": hi,
               "plan": plan, "p_meet": math.nan, "p_meet_low": math.nan, "p_meet_high": math.nan,
               "replicates": len(values)}
        if plan > 0:
            met = int((values >= plan).sum())
            row["p_meet"] = met / len(values)
            row["p_meet_low"], row["p_meet_high"] = wilson(met, len(values))
        rows.append(row)
    return pd.DataFrame(rows)


BETTER: dict[str, int] = {
    "exits": +1, "net_reduction": +1, "poor_end": -1, "relapses": 0, "lifted_total": +1,
    "villages_exited_total": +1, "counties_exited_total": +1,
}
"""Which way is better for each headline quantity (0: neither; fewer relapses also come from
fewer exits)."""


def paired_headlines(base: pd.DataFrame, variant: pd.DataFrame) -> pd.DataFrame:
    """Baseline against variant over the whole period, replicate ``i`` against replicate ``i``
    (common random numbers): per headline quantity the two medians, the median and 5-95% band of
    the paired difference (variant - base), P(variant higher) and P(variant better) (NaN where
    neither direction is better)."""
    b, v = period_totals(base), period_totals(variant)
    rows = []
    for quantity in HEADLINES:
        if quantity not in b or quantity not in v:
            continue
        diff = (v[quantity] - b[quantity].reindex(v.index)).to_numpy(dtype=float)
        lo, mid, hi = np.quantile(diff, [LOW, 0.5, HIGH])
        sign = BETTER[quantity]
        rows.append({"quantity": quantity, "base_median": float(b[quantity].median()),
                     "variant_median": float(v[quantity].median()), "difference_median": mid,
                     "difference_q05": lo, "difference_q95": hi, "p_variant_higher": float((diff > 0).mean()),
                     "p_variant_better": float((sign * diff > 0).mean()) if sign else math.nan,
                     "better_if": {1: "higher", -1: "lower", 0: "neither"}[sign], "replicates": len(diff)})
    return pd.DataFrame(rows)
