"""``tuopin calibrate``: fit parameters to observed annual counts (ABC-SMC with pyabc,
``tuopin.experiments.calibration``)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tuopin.experiments.outputs import out_path

HELP = """\
Fit scenario parameters to observed yearly counts, with their posterior uncertainty.

FILE.csv has a column 'year' and any of: poor_end, net_reduction, exits, relapses,
new_entrants, counties_qualified, counties_exited, villages_exited (real people, counties, villages
per year, as in annual.csv; exits are declared exits, net_reduction is poor_start - poor_end;
counties_qualified counts a county in its assessment year, as the record does, counties_exited
in the year its exit is granted). An empty cell is
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
    p.add_argument("--out", type=out_path, required=True, metavar="DIR", help="results directory")
    p.add_argument("--max-runs", type=int, default=600, metavar="N", help="simulations in all (default 600)")
    p.add_argument("--population", type=int, metavar="N",
                   help="particles per generation (default: max-runs / 10, within 20-200)")
    p.add_argument("--seed", type=int, metavar="S", help="random seed (default: the scenario's)")
    p.add_argument("--scale", type=float, metavar="X", help="share of each county's villages simulated (default: the file's)")
    p.add_argument("--workers", type=int, default=1, metavar="N", help="processes to use (same numbers for any N)")
    p.add_argument("--quiet", action="store_true", help="no progress or table")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Run ``tuopin calibrate``."""
    from tuopin.experiments.calibration import calibrate, write_calibration
    from tuopin.errors import interrupt_code, interruptions_kept, stop_word
    from tuopin.experiments.outputs import check_output_dir, os_error, output_lock

    t0 = time.perf_counter()
    target = check_output_dir(args.out, inputs=(args.scenario, args.observed, args.held_out))
    with output_lock(target):
        try:
            with interruptions_kept():
                return _calibrate(args, target, t0)
        except OSError as exc:
            raise os_error(exc, target) from None
        except KeyboardInterrupt:
            print(f"\ntuopin: {stop_word()}; no results written to {args.out}. Rerun the same command: "
                  f"{' '.join(sys.argv)}", file=sys.stderr)
            raise SystemExit(interrupt_code()) from None


def _calibrate(args: argparse.Namespace, out: Path, t0: float) -> int:
    """Fit, write and print, under the output's lock."""
    from tuopin.experiments.calibration import calibrate, write_calibration

    done = [0]

    def progress(n: int) -> None:
        done[0] += n
        if not args.quiet and sys.stderr.isatty():  # no progress line in logs and pipes
            print(f"\rcalibrate: {done[0]}/{args.max_runs} runs", end="", file=sys.stderr, flush=True)

    def warn(text: str) -> None:
        print(f"tuopin: warning: {text}", file=sys.stderr)

    cal = calibrate(args.scenario, args.observed, args.fit, out, fit_years=args.fit_years,
                    held_out=args.held_out, quantities=args.quantities, max_runs=args.max_runs,
                    population=args.population, seed=args.seed, scale=args.scale, workers=args.workers,
                    progress=progress, warn=warn)
    if not args.quiet and sys.stderr.isatty():
        print(file=sys.stderr)
    write_calibration(cal, out, observed_file=args.observed, fit=args.fit, t0=t0)
    if not args.quiet:
        for r in cal.estimates.to_dict("records"):
            print(f"{r['parameter']}: {r['median']:.4g} (5-95% {r['interval_low']:.4g}-{r['interval_high']:.4g}; "
                  f"prior {r['prior_low']:.4g}-{r['prior_high']:.4g})")
        print(f"{cal.summary['runs']} runs, {cal.summary['generations']} generations of {cal.summary['population']}")
        held = cal.summary["errors"]["held_out_years"]
        if held and held["mape"] is not None:
            print(f"held-out years {held['years']}: mean absolute error {held['mape']:.1%} of observed")
        print(f"calibration written to {args.out}/ (variant: {args.out}/calibrated.yaml)")
    return 0
