"""``tuopin calibrate``: fit parameters to observed annual counts (ABC-SMC with pyabc)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd

from tuopin.errors import UserError
from tuopin.experiments.calibration import (QUANTITIES, Simulator, errors, estimates, figure, fit_table,
                                            observations, parse_fit, parse_years, priors_from_scenario,
                                            read_observed, run_abc, variant_yaml)
from tuopin.experiments.outputs import check_output_dir, command_line, environment, write_results
from tuopin.scenario.schema import load_raw, load_scenario

HELP = """\
Fit scenario parameters to observed yearly counts, with their posterior uncertainty.

FILE.csv has a column 'year' and any of: poor_end, net_reduction, exits, relapses,
new_entrants, counties_exited, villages_exited (real people, counties, villages per year, as in
annual.csv; exits are declared exits, net_reduction is poor_start - poor_end). An empty cell is
'not observed'; lines starting with # are comments (sources).

Priors: each --fit PATH=LOW:HIGH is uniform on its range; without --fit, the scenario's own
uncertainty: entries are the priors.

Method: ABC-SMC (pyabc). One simulation per particle; the discrepancy is the mean squared error
relative to each observation, floored at 5% of the quantity's mean size (a zero observation
counts). A first generation from the prior, then generations with the tolerance at the last
one's median discrepancy, until --max-runs simulations are spent; the last complete
generation is the posterior (estimate: weighted median; interval: weighted 5-95%). The sampler
seeds every simulation from --seed: the same command gives the same numbers on any --workers.

Held out: years in --held-out FILE.csv (and years of --observed outside --fit-years) are never
fitted; the posterior's runs predict them, and their error is the honest test.

Writes to DIR:
  estimates.csv          per parameter: best particle, posterior median, 5-95% interval, prior
  posterior.csv          the last generation's particles, weights and discrepancies
  fit.csv                per year and quantity: observed, posterior median and 5-95% band
  fit_vs_observed.png    the same as a figure: fit years and the projection (shaded)
  calibrated.yaml        the scenario with the posterior medians, as a variant file
  summary.json           errors on the fit and held-out years, runs, generations; run.json

Example:  tuopin calibrate scenarios/national.yaml \\
              --observed scenarios/observed/national_2016_2017.csv --fit-years 2016-2017 \\
              --held-out scenarios/observed/national_2018_2020_heldout.csv \\
              --scale 0.002 --workers 2 --max-runs 600 --out results/calibration
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``tuopin calibrate``."""
    p = sub.add_parser("calibrate", help="fit parameters to observed yearly counts (ABC-SMC posterior)",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenario", type=Path, help="scenario or variant YAML file")
    p.add_argument("--observed", type=Path, required=True, metavar="FILE.csv", help="observed yearly counts")
    p.add_argument("--fit", action="append", metavar="PARAM=LOW:HIGH",
                   help="a parameter to fit and its uniform prior (repeat for several; default: the "
                        "scenario's uncertainty: entries)")
    p.add_argument("--fit-years", metavar="YEARS", help="years to fit, e.g. 2016-2017 (default: all observed)")
    p.add_argument("--held-out", type=Path, metavar="FILE.csv",
                   help="observed counts used only to test the projection, never in fitting")
    p.add_argument("--quantities", metavar="Q1,Q2",
                   help="observed columns to fit (default: every column of --observed)")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="results directory")
    p.add_argument("--max-runs", type=int, default=600, metavar="N", help="simulations in all (default 600)")
    p.add_argument("--population", type=int, metavar="N",
                   help="particles per generation (default: max-runs / 10, within 20-200)")
    p.add_argument("--seed", type=int, metavar="S", help="random seed (default: the scenario's)")
    p.add_argument("--scale", type=float, metavar="X", help="simulated people per real person (default: the file's)")
    p.add_argument("--workers", type=int, default=1, metavar="N", help="processes to use (same numbers for any N)")
    p.add_argument("--quiet", action="store_true", help="no progress or table")
    p.set_defaults(func=main)


def _check_numbers(args: argparse.Namespace) -> int:
    """Validate the numeric options; returns the population size."""
    population = args.population or min(200, max(20, args.max_runs // 10))
    if not 10 <= args.max_runs <= 10_000_000:
        raise UserError(f"{args.max_runs} is out of range (10 to 10,000,000)", key="--max-runs")
    if not 5 <= population <= 100_000:
        raise UserError(f"{population} is out of range (5 to 100,000)", key="--population")
    if args.max_runs < 4 * population:
        raise UserError(f"{args.max_runs} runs are too few for {population} particles a generation (at least 4x); raise "
                        "--max-runs or lower --population", key="--max-runs")
    if not 1 <= args.workers <= 256:
        raise UserError(f"{args.workers} is out of range (1 to 256)", key="--workers")
    return population


def _quantities(text: str | None, observed: pd.DataFrame) -> list[str]:
    """The observed columns to fit."""
    present = [q for q in QUANTITIES if q in observed.columns]
    if not text:
        return present
    chosen = [q.strip() for q in text.split(",") if q.strip()]
    if bad := [q for q in chosen if q not in present]:
        raise UserError(f"{bad[0]!r} is not a column of the observed file ({', '.join(present)})", key="--quantities")
    return chosen


def main(args: argparse.Namespace) -> int:
    """Run ``tuopin calibrate``."""
    t0 = time.perf_counter()
    population = _check_numbers(args)
    overrides = {"scale": args.scale} if args.scale is not None else None
    scenario = load_scenario(args.scenario, overrides)
    raw, _ = load_raw(args.scenario)
    if args.fit:
        priors = [parse_fit(text, scenario, raw) for text in args.fit]
    else:
        priors = priors_from_scenario(scenario, raw, str(args.scenario))
    if len({p.path for p in priors}) != len(priors):
        raise UserError("the same parameter is fitted twice", key="--fit")
    observed = read_observed(args.observed, scenario)
    fit_years = parse_years(args.fit_years, observed)
    quantities = _quantities(args.quantities, observed)
    obs = observations(observed, fit_years, quantities)
    if not obs:
        raise UserError("no observation in the fitted years and columns", source=str(args.observed))
    shown = observed
    if args.held_out is not None:
        held = read_observed(args.held_out, scenario)
        if overlap := sorted(set(held["year"]) & set(fit_years)):
            raise UserError(f"year(s) {overlap} are also fitted; held-out years must not be", source=str(args.held_out))
        shown = pd.concat([observed[~observed["year"].isin(held["year"])], held], ignore_index=True)
    check_output_dir(args.out)
    seed = scenario.seed if args.seed is None else args.seed
    if len(priors) > len(obs):
        print(f"tuopin: warning: {len(priors)} parameters outnumber the {len(obs)} observations; the data cannot "
              "pin them all down and the posterior stays near the prior for some", file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    simulator = Simulator(scenario, priors, [f"p{i}" for i in range(len(priors))])
    done = [0]

    def progress(n: int) -> None:
        done[0] += n
        if not args.quiet and sys.stderr.isatty():  # no progress line in logs and pipes
            print(f"\rcalibrate: {done[0]}/{args.max_runs} runs", end="", file=sys.stderr, flush=True)

    try:
        post = run_abc(simulator, priors, obs, population, args.max_runs, seed, args.workers,
                       args.out / "abc.db", progress)
    except KeyboardInterrupt:
        print(f"\ntuopin: interrupted; nothing written to {args.out}. Rerun the same command: {' '.join(sys.argv)}",
              file=sys.stderr)
        raise SystemExit(130) from None
    if not args.quiet and sys.stderr.isatty():
        print(file=sys.stderr)
    shown_q = list(dict.fromkeys([*quantities, *[q for q in QUANTITIES if q in shown.columns]]))
    est = estimates(priors, post)
    fit = fit_table(post, scenario, shown, fit_years, shown_q)
    posterior = pd.concat([post.values, pd.DataFrame({"weight": post.weights, "distance": post.distances})], axis=1)
    summary = {"method": "ABC-SMC (pyabc), quantile epsilon 0.5, one simulation per particle, seeded batch sampler",
               "discrepancy": "mean squared relative error, floor 5% of the quantity's mean observed size",
               "priors": {p.path: {"low": p.low, "high": p.high, "mode": p.mode} for p in priors},
               "population": population, "max_runs": args.max_runs, "runs": post.runs,
               "generations": post.generations, "epsilons": post.epsilons, "observations": len(obs),
               "parameters": len(priors), "fit_years": fit_years, "quantities": quantities,
               "best_distance": float(post.distances.min()), "errors": errors(fit)}
    title = f"{scenario.name}: posterior fit and projection (scale {scenario.scale.value:g})"
    writers = {
        "estimates.csv": lambda p: est.to_csv(p, index=False, float_format="%.6g"),
        "posterior.csv": lambda p: posterior.to_csv(p, index=False, float_format="%.6g"),
        "fit.csv": lambda p: fit.to_csv(p, index=False, float_format="%.6g"),
        "fit_vs_observed.png": lambda p: figure(fit, p, title),
        "calibrated.yaml": lambda p: p.write_text(variant_yaml(args.scenario, args.out, scenario.name, est, priors),
                                                  encoding="utf-8"),
        "summary.json": lambda p: p.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8"),
    }
    meta = {"scenario": str(args.scenario), "observed": str(args.observed), "held_out": str(args.held_out),
            "fit": args.fit, "seed": seed, "scale": scenario.scale.value,
            "wall_time_s": round(time.perf_counter() - t0, 2), "command": command_line(), "versions": environment()}
    write_results(args.out, writers, meta)
    if not args.quiet:
        for r in est.itertuples():
            print(f"{r.parameter}: {r.median:.4g} (5-95% {r.interval_low:.4g}-{r.interval_high:.4g}; "
                  f"prior {r.prior_low:.4g}-{r.prior_high:.4g})")
        print(f"{post.runs} runs, {post.generations} generations of {population}")
        held = summary["errors"]["held_out_years"]
        if held and held["mape"] is not None:
            print(f"held-out years {held['years']}: mean absolute error {held['mape']:.1%} of observed")
        print(f"calibration written to {args.out}/ (variant: {args.out}/calibrated.yaml)")
    return 0
