"""``tuopin sensitivity``: which parameters move the plan's outcomes (Sobol or Morris,
``tuopin.experiments.sensitivity``)."""

from __future__ import annotations

import argparse

from tuopin.cli.sweep import add_backend_arguments, resumable

HELP = """\
Global sensitivity analysis: run (or resume) the sweep of SPEC.yaml (design sobol or morris),
then measure how much each parameter moves four outcomes:

  cumulative_exits         people exited over the horizon
  total_relapses           people who fell back over the horizon
  cost_per_sustained_exit  yuan per exited person still out of poverty, final year
  last_county_exit_year    year the last county takes its hat off; when some county is still
                           poor at the end, counted as final year + 1 ("not by the end")

Sobol: S1 (the parameter alone) and ST (with its interactions), with 95% confidence
intervals. Morris: mu* (mean absolute effect of moving the parameter over its range, in the
outcome's units) and sigma (non-linearity and interactions). Each point is averaged over its
replicates; set common_random_numbers: true in the spec so that luck does not look like an effect.

Writes to DIR (besides the sweep's own files, see tuopin sweep --help):
  sensitivity.csv      one row per outcome and parameter
  sensitivity.png      bars per outcome, most influential parameter on top
  point_outputs.csv    the four outcomes at every point (replicate means)
  run.json             versions, wall time (written last)

Example:  tuopin sensitivity scenarios/sweeps/shangluo_sobol.yaml --out results/sensitivity_shangluo --workers 2
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``tuopin sensitivity``."""
    p = sub.add_parser("sensitivity", help="Sobol or Morris sensitivity of exits, relapses, cost, county exit",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_backend_arguments(p)
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Run ``tuopin sensitivity``."""
    from tuopin.experiments.sensitivity import check_plan, run_sensitivity

    plan, table = resumable(args, lambda plan, how: run_sensitivity(plan, args.out, how, progress=not args.quiet),
                            check=check_plan)
    if not args.quiet:
        key = "ST" if plan.spec.design == "sobol" else "mu_star"
        for output, part in table.groupby("output", sort=False):
            top = part.sort_values(key, ascending=False).head(3)
            ranked = ", ".join(f"{r['parameter']} ({r[key]:.3g})" for r in top.to_dict("records"))
            print(f"{output}: {ranked}")
        print(f"sensitivity written to {args.out}/")
    return 0
