"""Calibration: fit scenario parameters to observed annual counts by ABC on sweeps.

Method (approximate Bayesian computation with a tolerance set by the replicate noise):

1. A Latin hypercube of ``points`` parameter sets in the given box (a uniform prior), each run
   ``replicates`` times on common random numbers (the sweep engine: resumable, any backend).
2. Each point's discrepancy is the mean squared *standardized* error over the n fitted
   (year, quantity) observations: ``z = (observed - mean) / sqrt(sd^2 (1 + 1/R) + floor^2)``,
   with mean and sd over the point's R replicates (the observation is one noisy draw and the
   mean has its own error), and ``floor = 1% of the observation + 1`` so that noise-free counts
   (e.g. no county out yet) stay finite.
3. At the true parameters each z is roughly standard normal, so ``n * discrepancy`` is roughly
   chi-square with n degrees of freedom. A point is accepted when it is below that
   distribution's ``level`` quantile (default 95%): the accepted points are the parameter sets
   the data cannot reject, and their range is the reported uncertainty interval. If no point
   passes, the few closest are kept and the summary says the model does not reproduce the data
   within its noise.
4. Each further round draws a new hypercube in the box the accepted points span (widened by 10%
   of the prior range, within the prior). Accepted points of every round form the final set: the
   estimate is their median, the interval their range widened by one hypercube cell of the last
   round on each side (the sample resolves the set's edge only that finely), within the prior;
   their 5-95% quantiles are reported too.
5. Years observed but not fitted are held out: the accepted runs predict them, and that error is
   the honest test of the fit.
"""

from __future__ import annotations

import csv
import json
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import yaml

from tuopin.errors import UserError, short
from tuopin.scenario import Scenario
from tuopin.sim import flows

if TYPE_CHECKING:
    from tuopin.experiments.sweep import Backend

QUANTITIES = tuple(flows.names("observed"))
"""Observed columns that can be fitted (real people, villages, counties per year): the year's
outputs tagged ``observed`` in ``flows.FIELDS``."""


@dataclass(frozen=True)
class Fit:
    """One fitted parameter: dotted path and prior range; ``integer`` for whole-number parameters."""

    path: str
    low: float
    high: float
    integer: bool = False


def parse_fit(text: str, scenario: Scenario, raw: dict[str, Any]) -> Fit:
    """``PATH=LOW:HIGH`` -> Fit, checked against the scenario (path exists, both ends valid)."""
    from tuopin.scenario import apply_overrides, validate

    key = f"--fit {text}"
    try:
        path, rng = text.split("=", 1)
        low_s, high_s = rng.split(":", 1)
        low, high = float(low_s), float(high_s)
    except ValueError:
        raise UserError("expected PARAM=LOW:HIGH, e.g. economy.income_growth=0.02:0.12", key=key) from None
    if not (math.isfinite(low) and math.isfinite(high)) or not low < high:
        raise UserError(f"empty or invalid range: LOW ({low_s}) must be below HIGH ({high_s})", key=key)
    current = _value_at(raw, path, key)
    integer = isinstance(current, int) and not isinstance(current, bool)
    if not isinstance(current, int | float) or isinstance(current, bool):
        raise UserError(f"not a numeric parameter (its value is {short(repr(current))})", key=key)
    for value in (low, high):
        try:
            validate(apply_overrides(raw, {path: round(value) if integer else value}, key), key)
        except UserError as exc:
            detail = str(exc).removeprefix(f"{key}: ")
            raise UserError(f"value {value:g} gives an invalid scenario: {detail}", key=key) from None
    return Fit(path, low, high, integer)


def _value_at(raw: dict[str, Any], path: str, key: str) -> Any:
    """The current value of a fitted parameter; UserError naming ``--fit`` when there is none."""
    from tuopin.scenario import get_path

    try:
        return get_path(raw, path, key)
    except UserError:
        raise UserError("no such parameter in the scenario", key=key) from None


def read_observed(path: Path, scenario: Scenario) -> pd.DataFrame:
    """Observed annual counts: ``year`` and any of QUANTITIES; errors name file, row and column."""
    src = str(path)
    if not path.is_file():
        raise UserError("not a regular file" if path.exists() else "file not found", source=src)
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:  # a BOM (Excel's UTF-8) is allowed
            rows = list(csv.reader(f))
    except UnicodeDecodeError:
        raise UserError("not UTF-8 text; save the CSV as UTF-8", source=src) from None
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise UserError("empty file; expected a header: year and any of " + ", ".join(QUANTITIES), source=src)
    header = [h.strip() for h in rows[0]]
    if "year" not in header:
        raise UserError("missing column 'year'", source=src, key="header")
    if unknown := [h for h in header if h != "year" and h not in QUANTITIES]:
        raise UserError(f"unknown column {short(repr(unknown[0]))}; expected year and any of {', '.join(QUANTITIES)}",
                        source=src, key="header")
    if len(set(header)) != len(header):
        raise UserError("duplicate column", source=src, key="header")
    if len(header) < 2:
        raise UserError(f"no observed quantity; add any of {', '.join(QUANTITIES)}", source=src, key="header")
    horizon = set(scenario.horizon)
    records = []
    for n, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise UserError(f"{len(row)} fields, expected {len(header)}", source=src, key=f"row {n}")
        rec: dict[str, float] = {}
        for col, cell in zip(header, row):
            where = f"row {n}, column {col}"
            try:
                value = float(cell)
            except ValueError:
                raise UserError(f"expected a number, got {short(repr(cell))}", source=src, key=where) from None
            if not math.isfinite(value) or value < 0:
                raise UserError(f"expected a finite number >= 0, got {short(repr(cell))}", source=src, key=where)
            rec[col] = value
        if rec["year"] not in horizon:
            raise UserError(f"year {cell_year(rec)} outside the scenario's years {min(horizon)}-{max(horizon)}",
                            source=src, key=f"row {n}, column year")
        records.append(rec)
    frame = pd.DataFrame(records)
    if frame.empty:
        raise UserError("no data rows", source=src)
    frame["year"] = frame["year"].astype(int)
    if frame["year"].duplicated().any():
        raise UserError(f"year {int(frame.year[frame.year.duplicated()].iloc[0])} appears twice", source=src,
                        key="column year")
    return frame.sort_values("year", ignore_index=True)


def cell_year(rec: dict[str, float]) -> str:
    """A year as the user wrote it (no trailing .0)."""
    return f"{rec['year']:g}"


def parse_years(text: str | None, observed: pd.DataFrame) -> list[int]:
    """``2016-2017`` or ``2016,2018`` -> years (default: every observed year)."""
    years = list(observed["year"])
    if not text:
        return years
    chosen: set[int] = set()
    try:
        for part in text.split(","):
            a, _, b = part.strip().partition("-")
            chosen.update(range(int(a), int(b or a) + 1))
    except ValueError:
        raise UserError("expected years like 2016-2017 or 2016,2018", key="--fit-years") from None
    if missing := sorted(chosen - set(years)):
        raise UserError(f"year(s) {missing} not in the observed file", key="--fit-years")
    return sorted(chosen)


def distances(runs: pd.DataFrame, observed: pd.DataFrame, years: list[int]) -> pd.Series:
    """Mean squared standardized error of every point over ``years`` and observed quantities."""
    quantities = [q for q in QUANTITIES if q in observed.columns]
    obs = observed.set_index("year").loc[years, quantities]
    sel = runs[runs["year"].isin(years)]
    grouped = sel.groupby(["point", "year"])[quantities]
    mean, sd = grouped.mean(), grouped.std(ddof=1).fillna(0.0)
    reps = sel.groupby(["point", "year"]).size().iloc[0]
    target = obs.reindex(mean.index.get_level_values("year")).set_index(mean.index)
    floor = 0.01 * target.abs() + 1.0
    z = (target - mean) / (sd**2 * (1 + 1 / reps) + floor**2) ** 0.5
    return (z**2).groupby(level="point").mean().mean(axis=1).rename("distance")


def threshold(n_data: int, level: float) -> float:
    """The largest mean squared z a point may have and still be accepted (chi-square quantile / n)."""
    from scipy.stats import chi2

    return float(chi2.ppf(level, n_data)) / n_data


def accepted(dist: pd.Series, limit: float, minimum: int = 3) -> tuple[pd.Index, bool]:
    """Points with discrepancy at most ``limit`` (closest first); if fewer than ``minimum`` pass,
    the ``minimum`` closest and False."""
    ranked = dist.sort_values(kind="stable")
    passed = ranked[ranked <= limit]
    if len(passed) >= minimum:
        return passed.index, True
    return ranked.index[:minimum], False


def refine(fits: list[Fit], sample: pd.DataFrame) -> list[Fit]:
    """The next round's box: the span of the accepted points, widened by 10%, within the prior."""
    box = []
    for f in fits:
        lo, hi = float(sample[f.path].min()), float(sample[f.path].max())
        pad = 0.1 * (f.high - f.low) + (0.5 if f.integer else 0.0)
        box.append(Fit(f.path, max(f.low, lo - pad), min(f.high, hi + pad), f.integer))
    return box


def round_spec(scenario_path: Path, box: list[Fit], points: int, replicates: int, seed: int,
               scale: float | None, quantities: list[str]) -> dict[str, Any]:
    """The sweep spec of one round (a Latin hypercube on common random numbers)."""
    spec: dict[str, Any] = {
        "description": "calibration round (generated by tuopin calibrate)",
        "base": str(scenario_path.resolve()), "design": "latin", "points": points,
        "replicates": replicates, "seed": seed, "common_random_numbers": True,
        "parameters": {f.path: {"low": f.low, "high": f.high, "integer": f.integer} for f in box},
        "outputs": quantities,
    }
    if scale is not None:
        spec["scale"] = scale
    return spec


def estimates(fits: list[Fit], posterior: pd.DataFrame, best: pd.Series, box: list[Fit],
              points: int) -> pd.DataFrame:
    """Per parameter: best point, median, interval, quantiles, prior range.

    The interval is the range of the accepted points widened by one Latin-hypercube cell of the
    last round (its box width / points) on each side, within the prior: the sample resolves the
    edge of the accepted set only to one cell.
    """
    rows = []
    for f, b in zip(fits, box):
        x = posterior[f.path].astype(float)
        cell = (b.high - b.low) / points
        rows.append({"parameter": f.path, "best": best[f.path], "median": x.median(),
                     "interval_low": max(f.low, x.min() - cell), "interval_high": min(f.high, x.max() + cell),
                     "q05": x.quantile(0.05), "q25": x.quantile(0.25), "q75": x.quantile(0.75),
                     "q95": x.quantile(0.95), "prior_low": f.low, "prior_high": f.high,
                     "accepted_points": len(x)})
    return pd.DataFrame(rows)


def fit_table(runs: pd.DataFrame, observed: pd.DataFrame, points: pd.Index, best: tuple[int, int],
              fit_years: list[int]) -> pd.DataFrame:
    """Per observed year and quantity: observed, the accepted runs' median and 5-95% band, the best point."""
    quantities = [q for q in QUANTITIES if q in observed.columns]
    sel = runs.set_index(["round", "point"]).loc[points].reset_index()
    rows = []
    for q in quantities:
        for year, value in zip(observed["year"], observed[q]):
            sims = sel.loc[sel["year"] == year, q]
            best_mean = sel.loc[(sel["round"] == best[0]) & (sel["point"] == best[1]) & (sel["year"] == year), q].mean()
            rows.append({"year": int(year), "quantity": q, "observed": value, "sim_median": sims.median(),
                         "sim_q05": sims.quantile(0.05), "sim_q95": sims.quantile(0.95), "best_point": best_mean,
                         "in_fit": int(year) in fit_years})
    return pd.DataFrame(rows)


def errors(fit: pd.DataFrame) -> dict[str, Any]:
    """RMSE and mean absolute percentage error of the accepted runs' median, fit and held-out years."""
    out: dict[str, Any] = {}
    for label, part in (("fit_years", fit[fit["in_fit"]]), ("held_out_years", fit[~fit["in_fit"]])):
        if part.empty:
            out[label] = None
            continue
        err = part["sim_median"] - part["observed"]
        nonzero = part["observed"] != 0
        out[label] = {
            "years": sorted({int(y) for y in part["year"]}),
            "rmse_by_quantity": {q: float(np.sqrt((err[part.quantity == q] ** 2).mean()))
                                 for q in dict.fromkeys(part["quantity"])},
            "mape": float((err[nonzero].abs() / part.loc[nonzero, "observed"]).mean()) if nonzero.any() else None,
            "observed_within_band": float(((part["observed"] >= part["sim_q05"]) &
                                           (part["observed"] <= part["sim_q95"])).mean()),
        }
    return out


def variant_yaml(scenario_path: Path, out: Path, name: str, est: pd.DataFrame, fits: list[Fit]) -> str:
    """The calibrated scenario as a variant file (base: + overrides:), base relative to ``out``."""
    import os

    integer = {f.path: f.integer for f in fits}
    overrides = {str(path): int(round(float(median))) if integer[str(path)] else float(f"{float(median):.6g}")
                 for path, median in zip(est["parameter"], est["median"])}
    base = os.path.relpath(scenario_path.resolve(), out.resolve())
    doc = {"base": base, "name": f"{name}_calibrated",
           "description": "medians of the accepted parameter sets from tuopin calibrate; intervals in estimates.csv",
           "overrides": overrides}
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def figure(fit: pd.DataFrame, path: Path, title: str) -> None:
    """Observed points against the accepted runs' median and 5-95% band, held-out years shaded."""
    from matplotlib.figure import Figure

    quantities = list(dict.fromkeys(fit["quantity"]))
    fig = Figure(figsize=(4.5 * len(quantities), 3.6))
    axes = fig.subplots(1, len(quantities), squeeze=False)
    for ax, q in zip(axes[0], quantities):
        part = fit[fit["quantity"] == q]
        ax.fill_between(part["year"], part["sim_q05"], part["sim_q95"], alpha=0.3, color="#4c72b0",
                        label="accepted runs, 5-95%")
        ax.plot(part["year"], part["sim_median"], color="#4c72b0", label="accepted runs, median")
        ax.scatter(part["year"], part["observed"], color="black", zorder=3, label="observed")
        for year in part.loc[~part["in_fit"], "year"]:
            ax.axvspan(year - 0.5, year + 0.5, color="#dddddd", zorder=0)
        ax.set_title(q.replace("_", " ") + " (grey: held out)", fontsize=10)
        ax.set_xticks(sorted(part["year"].unique()))
        ax.ticklabel_format(axis="y", style="plain")
    axes[0][0].legend(fontsize=8)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


@dataclass
class Calibration:
    """The outcome of :func:`calibrate`: the accepted points and what they say.

    ``estimates`` per parameter (best point, median, interval, quantiles, prior range),
    ``posterior`` the accepted points with their distances, ``fit`` per observed year and quantity
    (observed, the accepted runs' median and band, the best point), ``summary`` the method, the
    threshold and the errors on fit and held-out years, and ``passed`` whether any point reproduces
    the data within its noise (if not, the closest few are kept).
    """

    scenario: Scenario
    scenario_file: Path
    fits: list[Fit]
    estimates: pd.DataFrame
    posterior: pd.DataFrame
    fit: pd.DataFrame
    summary: dict[str, Any]
    passed: bool
    seed: int


def calibrate(scenario_file: Path, observed_file: Path, fit: list[str], out: Path, *, fit_years: str | None = None,
              points: int = 100, replicates: int = 4, rounds: int = 2, level: float = 0.95, seed: int | None = None,
              scale: float | None = None, backend: Backend | None = None, progress: bool = False) -> Calibration:
    """Fit parameters to observed yearly counts by ABC on sweeps (see the module doc).

    Args:
        scenario_file: the scenario (or variant) file.
        observed_file: the observed counts, ``year`` and any of ``QUANTITIES``.
        fit: ``PATH=LOW:HIGH`` per fitted parameter (the prior range).
        out: where each round's sweep goes (``round-K/``; a rerun resumes them).
        fit_years: years to fit, e.g. ``2016-2017`` (default: every observed year; the rest are held out).
        points, replicates, rounds, level: per round, parameter sets and runs per set; rounds;
            the confidence of the accepted set.
        seed, scale: default the scenario's.
        backend: where the sweeps run (default: this process).

    Raises:
        UserError: a bad file, parameter, range or year, naming it.
    """
    from tuopin.experiments.outputs import ROUND_SPEC_HEADER, write_atomic
    from tuopin.experiments.sweep import Backend, read_runs, run_sweep
    from tuopin.experiments.sweep_spec import load_spec
    from tuopin.scenario import load_raw, load_scenario

    scenario = load_scenario(scenario_file, {"scale": scale} if scale is not None else None)
    raw, _ = load_raw(scenario_file)
    fits = [parse_fit(text, scenario, raw) for text in fit]
    if len({f.path for f in fits}) != len(fits):
        raise UserError("the same parameter is fitted twice", key="--fit")
    observed = read_observed(observed_file, scenario)
    years = parse_years(fit_years, observed)
    seed = scenario.seed if seed is None else seed
    quantities = [q for q in QUANTITIES if q in observed.columns]
    out.mkdir(parents=True, exist_ok=True)
    limit = threshold(len(years) * len(quantities), level)
    box, all_runs, kept, passed = fits, [], [], True
    for k in range(1, rounds + 1):
        spec_path = out / f"round-{k}.spec.yaml"
        text = ROUND_SPEC_HEADER + f" (round {k}); rerun the same command to resume\n" + yaml.safe_dump(
            round_spec(scenario_file, box, points, replicates, seed + k - 1, scale, quantities), sort_keys=False)
        write_atomic(spec_path, lambda p: p.write_text(text, encoding="utf-8"))
        plan = load_spec(spec_path)
        run_sweep(plan, out / f"round-{k}", backend or Backend(), progress=progress)
        runs = read_runs(out / f"round-{k}", columns=["point", "replicate", "year", *quantities])
        dist = distances(runs, observed, years)
        keep, passed = accepted(dist, limit)
        sample = plan.points.set_index("point").loc[keep].assign(distance=dist.loc[keep], round=k)
        all_runs.append(runs.assign(round=k))
        kept.append(sample.reset_index())
        if k < rounds:
            box = refine(fits, sample)
    runs = pd.concat(all_runs, ignore_index=True)
    posterior = pd.concat(kept, ignore_index=True).sort_values("distance", kind="stable", ignore_index=True)
    if passed:
        posterior = posterior[posterior["distance"] <= limit].reset_index(drop=True)
    posterior = posterior[["round", "point", *[f.path for f in fits], "distance"]]
    best = posterior.iloc[0]
    est = estimates(fits, posterior, best, box, points)
    keys = pd.MultiIndex.from_frame(posterior[["round", "point"]])
    table = fit_table(runs, observed, keys, (int(best["round"]), int(best["point"])), years)
    summary = {"method": "ABC: accept points whose mean squared standardized error is below the chi-square "
                         f"{level:.0%} quantile / n; refinement rounds",
               "rounds": rounds, "points": points, "replicates": replicates, "level": level,
               "threshold": limit, "accepted_points": len(posterior), "data_reproduced_within_noise": passed,
               "fit_years": years, "quantities": quantities, "best_distance": float(best["distance"]),
               "errors": errors(table)}
    return Calibration(scenario, scenario_file, fits, est, posterior, table, summary, passed, seed)


def write_calibration(cal: Calibration, out: Path, *, observed_file: Path | None = None, fit: list[str] | None = None,
                      t0: float | None = None) -> None:
    """Write a calibration's files into ``out`` whole (``estimates.csv``, ``posterior.csv``,
    ``fit.csv``, ``fit_vs_observed.png``, ``calibrated.yaml``, ``summary.json``, then ``run.json``)."""
    from tuopin.experiments.outputs import provenance, write_results

    title = f"{cal.scenario.name}: calibrated fit against observed (scale {cal.scenario.scale:g})"
    variant = variant_yaml(cal.scenario_file, out, cal.scenario.name, cal.estimates, cal.fits)
    summary = json.dumps(cal.summary, indent=2) + "\n"
    writers = {
        "estimates.csv": lambda p: cal.estimates.to_csv(p, index=False, float_format="%.6g"),
        "posterior.csv": lambda p: cal.posterior.to_csv(p, index=False, float_format="%.6g"),
        "fit.csv": lambda p: cal.fit.to_csv(p, index=False, float_format="%.6g"),
        "fit_vs_observed.png": lambda p: figure(cal.fit, p, title),
        "calibrated.yaml": lambda p: p.write_text(variant, encoding="utf-8"),
        "summary.json": lambda p: p.write_text(summary, encoding="utf-8"),
    }
    meta = {"scenario": str(cal.scenario_file), "observed": str(observed_file) if observed_file else None,
            "fit": fit, "seed": cal.seed, "scale": cal.scenario.scale,
            **provenance(datetime.now(UTC), time.perf_counter() if t0 is None else t0)}
    write_results(out, writers, meta)
