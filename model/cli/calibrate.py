"""``tuopin calibrate``: fit parameters to observed annual counts (ABC on sweeps,
``tuopin.experiments.calibration``)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from tuopin.cli.sweep import backend, resume_hint
from tuopin.errors import UserError
from tuopin.experiments.outputs import out_path

HELP = """\
Fit scenario parameters to observed yearly counts, with their uncertainty.

FILE.csv has a column 'year' and any of: exits, relapses, poor_end, villages_exited,
counties_exited (real people, villages, counties per year, as in annual.csv; the outputs tagged
"observed" in tuopin.sim.flows). Each --fit gives a
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
    from tuopin.experiments.calibration import calibrate, write_calibration
    from tuopin.experiments.outputs import check_output_dir, os_error, output_lock
    from tuopin.experiments.resources import cap_workers
    from tuopin.experiments.sweep import Backend

    t0 = time.perf_counter()
    _check_numbers(args)
    how = backend(args)
    if not how.scheduler:
        how = Backend(workers=cap_workers(how.workers, args.points, "points"), dask=how.dask)
    target = check_output_dir(args.out, inputs=(args.scenario, args.observed))
    with output_lock(target):
        try:
            cal = calibrate(args.scenario, args.observed, args.fit, target, fit_years=args.fit_years,
                            points=args.points, replicates=args.replicates, rounds=args.rounds, level=args.level,
                            seed=args.seed, scale=args.scale, backend=how, progress=not args.quiet)
            write_calibration(cal, target, observed_file=args.observed, fit=args.fit, t0=t0)
        except KeyboardInterrupt:
            resume_hint(args, "finished runs are kept in {out}")
        except OSError as exc:
            raise os_error(exc, target) from None
    if not args.quiet:
        for r in cal.estimates.to_dict("records"):
            print(f"{r['parameter']}: {r['median']:.4g} (interval {r['interval_low']:.4g}-{r['interval_high']:.4g}, "
                  f"{len(cal.posterior)} accepted points; best point {r['best']:.4g})")
        if not cal.passed:
            print("warning: no parameter set reproduces the data within its noise; the closest are shown")
        held = cal.summary["errors"]["held_out_years"]
        if held and held["mape"] is not None:
            print(f"held-out years {held['years']}: mean absolute error {held['mape']:.1%} of observed")
        print(f"calibration written to {args.out}/ (variant: {args.out}/calibrated.yaml)")
    return 0
