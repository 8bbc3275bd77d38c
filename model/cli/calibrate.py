"""``tuopin calibrate``: fit parameters to observed annual counts (ABC on sweeps)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import yaml

import pandas as pd

from tuopin.experiments.calibration import (QUANTITIES, Fit, accepted, distances, errors, estimates, figure, fit_table, parse_fit,
                         parse_years, read_observed, refine, round_spec, threshold, variant_yaml)
from tuopin.errors import UserError, interrupt_code, stop_word
from tuopin.experiments.outputs import (ROUND_SPEC_HEADER, check_output_dir, command_line, environment, os_error, out_path,
                                       output_lock, write_results)
from tuopin.experiments.resources import cap_workers
from tuopin.scenario.schema import Scenario, load_raw, load_scenario
from tuopin.experiments.sweep import Backend, read_runs, run_sweep, write_atomic
from tuopin.experiments.sweep_spec import load_spec
from tuopin.cli.sweep import backend

HELP = """\
Fit scenario parameters to observed yearly counts, with their uncertainty.

FILE.csv has a column 'year' and any of: exits, poor_end, relapses, villages_exited,
counties_exited (real people, villages, counties per year, as in annual.csv). Each --fit gives a
dotted parameter path and the range to search, e.g. --fit economy.income_growth=0.02:0.12.

Method: approximate Bayesian computation. A Latin hypercube of --points parameter sets in the
ranges, each run --replicates times on common random numbers; the points the data cannot reject
(a chi-square test on the errors standardized by the replicate noise, at --level) are kept; the
next round searches the box they span; the accepted points of all rounds give the estimate
(median) and its interval (their range, widened by one hypercube cell of the last round). Years
in FILE.csv but not in --fit-years are held out and predicted: their error is the honest test
of the fit.

Writes to DIR:
  estimates.csv          per parameter: best point, median, interval, quantiles, prior range
  posterior.csv          the accepted points and their distances
  fit.csv                per year and quantity: observed, accepted runs' median and 5-95% band
  fit_vs_observed.png    the same as a figure, held-out years shaded
  calibrated.yaml        the scenario with the fitted medians, as a variant file
                         (tuopin run DIR/calibrated.yaml)
  summary.json           errors on the fit and held-out years; run.json (written last)
  round-N/               each round's sweep (rerun the same command to resume)

Example:  tuopin calibrate scenarios/shangluo.yaml --observed observed.csv \\
              --fit economy.income_growth=0.02:0.12 --fit economy.illness_rate=0.05:0.2 \\
              --fit-years 2016-2018 --scale 0.05 --out results/calibration --workers 2
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``tuopin calibrate``."""
    p = sub.add_parser("calibrate", help="fit parameters to observed yearly counts (with uncertainty)",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenario", type=Path, help="scenario or variant YAML file")
    p.add_argument("--observed", type=Path, required=True, metavar="FILE.csv", help="observed yearly counts")
    p.add_argument("--fit", action="append", required=True, metavar="PARAM=LOW:HIGH",
                   help="a parameter to fit and its range (repeat for several)")
    p.add_argument("--fit-years", metavar="YEARS", help="years to fit, e.g. 2016-2017 (default: all observed)")
    p.add_argument("--out", type=out_path, required=True, metavar="DIR", help="results directory")
    p.add_argument("--points", type=int, default=100, metavar="N", help="parameter sets per round (default 100)")
    p.add_argument("--replicates", type=int, default=4, metavar="R", help="runs per parameter set (default 4)")
    p.add_argument("--rounds", type=int, default=2, metavar="K", help="search rounds (default 2)")
    p.add_argument("--level", type=float, default=0.95, metavar="P",
                   help="confidence of the accepted set: keep points the data reject at less than this (default 0.95)")
    p.add_argument("--seed", type=int, metavar="S", help="random seed (default: the scenario's)")
    p.add_argument("--scale", type=float, metavar="X", help="simulated people per real person (default: the file's)")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--scheduler", metavar="ADDRESS", help="run on an existing Dask scheduler")
    how.add_argument("--dask", action="store_true", help="run on a local Dask cluster of --workers processes")
    p.add_argument("--workers", type=int, default=1, metavar="N", help="processes to use (same numbers for any N)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or table")
    p.set_defaults(func=main)


def _check_numbers(args: argparse.Namespace) -> None:
    for key, value, ok in (("--points", args.points, 5 <= args.points <= 100_000),
                           ("--replicates", args.replicates, 2 <= args.replicates <= 1000),
                           ("--rounds", args.rounds, 1 <= args.rounds <= 10),
                           ("--level", args.level, 0 < args.level < 1)):
        if not ok:
            raise UserError(f"{value} is out of range (points 5-100000, replicates 2-1000, rounds 1-10, "
                            f"level in (0, 1))", key=key)


def main(args: argparse.Namespace) -> int:
    """Run ``tuopin calibrate``."""
    t0 = time.perf_counter()
    _check_numbers(args)
    overrides = {"scale": args.scale} if args.scale is not None else None
    scenario = load_scenario(args.scenario, overrides)
    raw, _ = load_raw(args.scenario)
    fits = [parse_fit(text, scenario, raw) for text in args.fit]
    if len({f.path for f in fits}) != len(fits):
        raise UserError("the same parameter is fitted twice", key="--fit")
    observed = read_observed(args.observed, scenario)
    fit_years = parse_years(args.fit_years, observed)
    how = backend(args)
    if not how.scheduler:
        how = Backend(workers=cap_workers(how.workers, args.points, "points"), dask=how.dask)
    target = check_output_dir(args.out, inputs=(args.scenario, args.observed))
    with output_lock(target):
        try:
            return _calibrate(args, target, scenario, fits, observed, fit_years, how, t0)
        except OSError as exc:
            raise os_error(exc, target) from None


def _calibrate(args: argparse.Namespace, out: Path, scenario: Scenario, fits: list[Fit], observed: pd.DataFrame,
               fit_years: list[int], how: Backend, t0: float) -> int:
    """The rounds, the estimates and the files (under the output's lock)."""
    seed = scenario.seed if args.seed is None else args.seed
    quantities = [q for q in QUANTITIES if q in observed.columns]
    out.mkdir(parents=True, exist_ok=True)
    limit = threshold(len(fit_years) * len(quantities), args.level)
    box, all_runs, kept, passed = fits, [], [], True
    try:
        for k in range(1, args.rounds + 1):
            spec_path = out / f"round-{k}.spec.yaml"
            text = ROUND_SPEC_HEADER + f" (round {k}); rerun the same command to resume\n" + yaml.safe_dump(
                round_spec(args.scenario, box, args.points, args.replicates, seed + k - 1, args.scale, quantities),
                sort_keys=False)
            write_atomic(spec_path, lambda p, text=text: p.write_text(text, encoding="utf-8"))
            plan = load_spec(spec_path)
            run_sweep(plan, out / f"round-{k}", how, progress=not args.quiet)
            runs = read_runs(out / f"round-{k}", columns=["point", "replicate", "year", *quantities])
            dist = distances(runs, observed, fit_years)
            keep, passed = accepted(dist, limit)
            sample = plan.points.set_index("point").loc[keep].assign(distance=dist.loc[keep], round=k)
            all_runs.append(runs.assign(round=k))
            kept.append(sample.reset_index())
            if k < args.rounds:
                box = refine(fits, sample)
    except KeyboardInterrupt:
        print(f"\ntuopin: {stop_word()}; finished runs are kept in {args.out}. To resume, rerun the same command: "
              f"{' '.join(sys.argv)}", file=sys.stderr)
        raise SystemExit(interrupt_code()) from None
    runs = pd.concat(all_runs, ignore_index=True)
    posterior = pd.concat(kept, ignore_index=True).sort_values("distance", kind="stable", ignore_index=True)
    if passed:
        posterior = posterior[posterior["distance"] <= limit].reset_index(drop=True)
    posterior = posterior[["round", "point", *[f.path for f in fits], "distance"]]
    best = posterior.iloc[0]
    est = estimates(fits, posterior, best, box, args.points)
    keys = pd.MultiIndex.from_frame(posterior[["round", "point"]])
    fit = fit_table(runs, observed, keys, (int(best["round"]), int(best["point"])), fit_years)
    summary = {"method": "ABC: accept points whose mean squared standardized error is below the chi-square "
                         f"{args.level:.0%} quantile / n; refinement rounds",
               "rounds": args.rounds, "points": args.points, "replicates": args.replicates, "level": args.level,
               "threshold": limit, "accepted_points": len(posterior), "data_reproduced_within_noise": passed,
               "fit_years": fit_years, "quantities": quantities, "best_distance": float(best["distance"]),
               "errors": errors(fit)}
    title = f"{scenario.name}: calibrated fit against observed (scale {scenario.scale.value:g})"
    writers = {
        "estimates.csv": lambda p: est.to_csv(p, index=False, float_format="%.6g"),
        "posterior.csv": lambda p: posterior.to_csv(p, index=False, float_format="%.6g"),
        "fit.csv": lambda p: fit.to_csv(p, index=False, float_format="%.6g"),
        "fit_vs_observed.png": lambda p: figure(fit, p, title),
        "calibrated.yaml": lambda p: p.write_text(variant_yaml(args.scenario, out, scenario.name, est, fits),
                                                  encoding="utf-8"),
        "summary.json": lambda p: p.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8"),
    }
    meta = {"scenario": str(args.scenario), "observed": str(args.observed), "fit": args.fit, "seed": seed,
            "scale": scenario.scale.value, "wall_time_s": round(time.perf_counter() - t0, 2),
            "command": command_line(), "versions": environment()}
    write_results(out, writers, meta)
    if not args.quiet:
        for r in est.itertuples():
            print(f"{r.parameter}: {r.median:.4g} (interval {r.interval_low:.4g}-{r.interval_high:.4g}, "
                  f"{len(posterior)} accepted points; best point {r.best:.4g})")
        if not passed:
            print("warning: no parameter set reproduces the data within its noise; the closest are shown")
        held = summary["errors"]["held_out_years"]
        if held and held["mape"] is not None:
            print(f"held-out years {held['years']}: mean absolute error {held['mape']:.1%} of observed")
        print(f"calibration written to {args.out}/ (variant: {args.out}/calibrated.yaml)")
    return 0
