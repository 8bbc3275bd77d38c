"""``tuopin sweep``: many runs over a design of parameter values, streamed to Parquet."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn, TypeVar

from tuopin.errors import UserError, interrupt_code, interruptions_kept, stop_word
from tuopin.experiments.outputs import out_path

if TYPE_CHECKING:
    from tuopin.experiments.sweep import Backend
    from tuopin.experiments.sweep_spec import SweepPlan

T = TypeVar("T")

HELP = """\
Run a scenario many times over a design of parameter values (a parameter sweep).

SPEC.yaml names the base scenario, the parameters to vary (dotted paths as in scenario files,
each with {low, high} or {values: [...]}), the design (grid, latin, sobol, morris), the number
of points, the replicates per point and a seed. See docs/sweeps.md and scenarios/sweeps/.

Writes to DIR:
  runs/part-NNNNN.parquet  one row per point, replicate and year: the point's parameter values and
                           the year's exits, relapses, new entrants, poor, spending, villages and
                           counties exited, cost per sustained exit (people and yuan, real scale)
  points.parquet           the points and their parameter values
  manifest.json            spec hash, points, replicates, chunks; "complete": true when done

Interrupted (Ctrl-C, a killed job)? Rerun the same command: finished chunks are kept and only
the rest is run. The numbers are the same for any --workers and on Dask.

Examples:  tuopin sweep scenarios/sweeps/shangluo_lhs.yaml --out results/sweep_lhs --workers 2
           tuopin sweep scenarios/sweeps/shangluo_lhs.yaml --out results/sweep_lhs --dask --workers 4
           tuopin sweep SPEC.yaml --out DIR --scheduler tcp://10.0.0.5:8786   (see docs/cluster.md)
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``tuopin sweep``."""
    p = sub.add_parser("sweep", help="run a parameter sweep (grid, Latin hypercube, Sobol, Morris)",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_backend_arguments(p)
    p.set_defaults(func=main)


def add_backend_arguments(p: argparse.ArgumentParser) -> None:
    """SPEC, --out and the choice of workers / Dask (shared with ``tuopin sensitivity``)."""
    p.add_argument("spec", type=Path, metavar="SPEC.yaml", help="sweep spec (YAML)")
    p.add_argument("--out", type=out_path, required=True, metavar="DIR", help="sweep directory (created, or resumed)")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--scheduler", metavar="ADDRESS", help="run on an existing Dask scheduler, e.g. tcp://host:8786")
    how.add_argument("--dask", action="store_true", help="run on a local Dask cluster of --workers processes")
    p.add_argument("--workers", type=int, default=1, metavar="N", help="processes to use (same numbers for any N)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def backend(args: argparse.Namespace) -> Backend:
    """The backend the arguments ask for."""
    from tuopin.experiments.sweep import Backend

    if args.workers < 1:
        raise UserError("must be at least 1", key="--workers")
    return Backend(workers=args.workers, dask=args.dask, scheduler=args.scheduler)


def checked(args: argparse.Namespace, plan: SweepPlan) -> Backend:
    """Refuse, before anything runs, a sweep that cannot fit or an output that cannot be written;
    returns the backend the arguments ask for."""
    from tuopin.experiments.outputs import check_output_dir
    from tuopin.experiments.resources import cap_workers, check_run
    from tuopin.experiments.sweep import Backend
    from tuopin.experiments.sweep_spec import base_scenario

    how = backend(args)
    check_run(base_scenario(plan), plan.spec.replicates, plan.spec.seed, how.workers, str(args.spec))
    check_output_dir(args.out, inputs=(args.spec,))
    if not how.scheduler:
        how = Backend(workers=cap_workers(how.workers, len(plan.chunks), "chunks"), dask=how.dask)
    return how


def resume_hint(args: argparse.Namespace, kept: str) -> NoReturn:
    """After Ctrl-C or SIGTERM: say what was kept and that the same command resumes; exit code 130
    (143 after SIGTERM)."""
    print(f"\ntuopin: {stop_word()}; {kept.format(out=args.out)}. To resume, rerun the same command: "
          f"{' '.join(sys.argv)}", file=sys.stderr)
    raise SystemExit(interrupt_code()) from None


def resumable(args: argparse.Namespace, work: Callable[[SweepPlan, Backend], T],
              check: Callable[[SweepPlan], None] | None = None) -> tuple[SweepPlan, T]:
    """Read the spec, ``check`` it, refuse what cannot run (:func:`checked`), then do ``work``
    (which runs or resumes the sweep into ``args.out``) under the output's lock; Ctrl-C or SIGTERM
    says how to resume, an OS error (disk full, ...) is one line."""
    from tuopin.experiments.outputs import os_error, output_lock
    from tuopin.experiments.sweep_spec import load_spec

    plan = load_spec(args.spec)
    if check:
        check(plan)
    how = checked(args, plan)
    with output_lock(args.out):
        try:
            with interruptions_kept():
                return plan, work(plan, how)
        except KeyboardInterrupt:
            resume_hint(args, "finished chunks are kept in {out}/runs")
        except OSError as exc:
            raise os_error(exc, args.out) from None


def main(args: argparse.Namespace) -> int:
    """Run ``tuopin sweep``."""
    from tuopin.experiments.sweep import run_sweep

    plan, _ = resumable(args, lambda plan, how: run_sweep(plan, args.out, how, progress=not args.quiet))
    if not args.quiet:
        print(f"{plan.runs} runs ({len(plan.points)} points x {plan.spec.replicates} replicates) in {args.out}/")
    return 0
