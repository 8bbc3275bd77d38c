"""``tuopin sensitivity``: which parameters move the plan's outcomes (Sobol or Morris)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from tuopin.experiments.outputs import check_output_dir, command_line, environment, output_lock, write_results
from tuopin.experiments.sensitivity import NEEDS, analyze, check_plan, point_outputs, tornado
from tuopin.experiments.sweep import read_runs
from tuopin.experiments.sweep_spec import SweepPlan, load_spec
from tuopin.cli.sweep import add_backend_arguments, run_or_resume

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
    t0 = time.perf_counter()
    plan = load_spec(args.spec)
    check_plan(plan)
    with output_lock(check_output_dir(args.out, inputs=(args.spec,))):
        _sweep_and_write(args, plan, t0)
    return 0


def _sweep_and_write(args: argparse.Namespace, plan: SweepPlan, t0: float) -> None:
    """Run or resume the sweep, analyse it and write the results beside it (under the lock)."""
    run_or_resume(args, plan)
    outputs = point_outputs(plan, read_runs(args.out, columns=["point", "replicate", "year", *NEEDS]))
    table = analyze(plan, outputs)
    title = f"{Path(plan.spec.base).stem}: {plan.spec.design} sensitivity ({len(plan.points)} points x " \
            f"{plan.spec.replicates} replicates, scale {plan.spec.scale or 'as in scenario'})"
    writers = {
        "sensitivity.csv": lambda p: table.to_csv(p, index=False, float_format="%.6g"),
        "sensitivity.png": lambda p: tornado(table, p, title),
        "point_outputs.csv": lambda p: plan.points.merge(outputs, on="point").to_csv(p, index=False),
    }
    meta = {"spec": str(args.spec), "design": plan.spec.design, "points": len(plan.points),
            "replicates": plan.spec.replicates, "scale": plan.spec.scale, "seed": plan.spec.seed,
            "wall_time_s": round(time.perf_counter() - t0, 2), "command": command_line(),
            "versions": environment()}
    write_results(args.out, writers, meta)
    if not args.quiet:
        key = "ST" if plan.spec.design == "sobol" else "mu_star"
        for output, part in table.groupby("output", sort=False):
            top = part.sort_values(key, ascending=False).head(3)
            ranked = ", ".join(f"{r.parameter} ({getattr(r, key):.3g})" for r in top.itertuples())
            print(f"{output}: {ranked}")
        print(f"sensitivity written to {args.out}/")

