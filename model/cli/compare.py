"""``tuopin compare``: a base scenario against variants, with common random numbers
(``tuopin.experiments.comparison``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tuopin.cli import headless, keeps_results_whole
from tuopin.experiments.outputs import out_path
from tuopin.cli.run import add_register_arguments
from tuopin.errors import UserError

if TYPE_CHECKING:
    import pandas as pd

HELP = """\
Run a base scenario and one or more variants (e.g. files in scenarios/variants/) on the same
replicate seeds and report, per year, what each variant changes: variant minus base.

Common random numbers: replicate i of every scenario uses the same seed, so the same households
meet the same illnesses, disasters and market shocks. The differences are then the policy's, not
luck's, and their bands are much narrower than two independent runs would give. This holds when
the variant keeps the base's population (counties, population block and scale); if it changes
them, households are drawn anew and the command says so.

Writes to DIR (default results/compare_<base name>):
  differences.csv     per variant, year and quantity (exits, poor_end, relapses, spending,
                      cost_per_sustained_exit): base and variant medians, the difference's median
                      and 5-95% band, P(variant higher) = share of paired replicates where the
                      variant's value is above the base's, and P(variant better) where a direction
                      is better (more exits; fewer people still poor; lower cost per person lifted).
                      Fewer relapses or less spending are not called better: both also fall when
                      fewer people exit.
  totals.csv          the same over the whole period (flows summed, stocks at the last year)
  paired_annual.csv   every replicate and year: base value, variant value, difference
  differences_en.png  the differences with their bands, one panel per quantity (English)
  differences_zh.png  the same in Chinese
  run.json            files, hashes, seed, replicates, versions (written last)

Example:  tuopin compare scenarios/shangluo.yaml scenarios/variants/budget_cut_20.yaml \\
              scenarios/variants/relocation_late.yaml --replicates 50 --out results/compare
"""

def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``tuopin compare``."""
    p = sub.add_parser("compare", help="compare variants with a base scenario (paired replicates)", description=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("base", type=Path, help="base scenario or variant YAML file")
    p.add_argument("variants", type=Path, nargs="+", metavar="variant", help="variant or scenario YAML file(s)")
    p.add_argument("--replicates", type=int, metavar="N", help="replicates per scenario (default: the base file's)")
    p.add_argument("--seed", type=int, metavar="S", help="root random seed shared by all (default: the base file's)")
    p.add_argument("--scale", type=float, metavar="X", help="share of each county's villages simulated, for every scenario")
    add_register_arguments(p)
    p.add_argument("--out", type=out_path, metavar="DIR", help="results directory (default results/compare_<base name>)")
    p.add_argument("--workers", type=int, default=1, metavar="W", help="processes to use (same numbers for any W)")
    p.add_argument("--quiet", action="store_true", help="no progress bar, do not print the table")
    p.set_defaults(func=main)


QUANTITY_WORDS = {
    "exits": ("Declared exits", "people", 1.0, "more is better"),
    "poor_end": ("People still poor at year end", "people", 1.0, "fewer is better"),
    "relapses": ("Relapses", "people", 1.0, "neither is better in itself: fewer exits also mean fewer relapses"),
    "spending": ("Spending", "million yuan", 1e6, "neither is better in itself: less money may buy fewer exits"),
    "cost_per_sustained_exit": ("Cost per person lifted and still out (spending so far / people exited and not "
                                "fallen back)", "yuan per person", 1.0, "lower is better"),
}
"""How the printed table names each compared quantity: words, unit, divisor, which direction is better."""


def print_table(summary: pd.DataFrame, totals: pd.DataFrame, base: str, titles: dict[str, str]) -> None:
    """Per variant and compared quantity: base and variant medians, their paired difference with
    its 90% band, and P(variant better) (or P(variant higher) where no direction is better);
    per year and for the whole period."""
    for key, rows in summary.groupby("variant", sort=False):
        variant = str(key)
        n = int(rows["replicates"].iloc[0])
        print(f"{titles.get(variant, variant)} [{variant}] against {titles.get(base, base)} [{base}], "
              f"{n} paired replicates (medians; difference = variant - base, per pair)")
        total = totals[totals["variant"] == variant].set_index("quantity")
        for name, group in rows.groupby("quantity", sort=False):
            quantity = str(name)
            words, unit, divisor, better = QUANTITY_WORDS[quantity]
            p_head = "P(variant better)" if group["better_if"].iloc[0] != "neither" else "P(variant higher)"
            p_col = "p_variant_better" if group["better_if"].iloc[0] != "neither" else "p_variant_higher"
            print(f"  {words} ({unit}; {better})")
            print(f"  {'year':>9}  {'base':>15}  {'variant':>15}  {'difference':>13}  {'90% band of difference':>27}  {p_head:>17}")
            period: dict[str, Any] = {str(k): v for k, v in total.loc[quantity].items()}
            lines: list[tuple[str, dict[str, Any]]] = [
                *((str(y), {str(k): v for k, v in r.items()}) for y, r in zip(group["year"], group.to_dict("records"))),
                (f"{period['years']}*", period)]
            for label, r in lines:
                v = {k: r[k] / divisor for k in ("base_median", "variant_median", "difference_median",
                                                 "difference_q05", "difference_q95")}
                band = f"{v['difference_q05']:+,.0f} to {v['difference_q95']:+,.0f}"
                print(f"  {label:>9}  {v['base_median']:>15,.0f}  {v['variant_median']:>15,.0f}  "
                      f"{v['difference_median']:>+13,.0f}  {band:>27}  {r[p_col]:>17.0%}")
        print("  * whole period: exits, relapses and spending summed over the years; people still poor and "
              "cost per person at the last year")
        print()


@keeps_results_whole
def main(args: argparse.Namespace) -> int:
    """Run ``tuopin compare``: check everything, run base and variants, write the results whole, print the table."""
    import time
    from datetime import UTC, datetime

    from tuopin.cli.progress import progress_bar
    from tuopin.experiments.comparison import compare, same_population, write_comparison
    from tuopin.experiments.outputs import check_output_dir, output_lock
    from tuopin.experiments.resources import cap_workers, check_run
    from tuopin.experiments.workers import prestart
    from tuopin.scenario import load_scenario
    from tuopin.cli.run import print_notes, register_population

    headless()
    overrides = {"scale": args.scale} if args.scale is not None else None
    base = load_scenario(args.base, overrides)
    variants = [load_scenario(path, overrides) for path in args.variants]  # all valid before any run
    names = [base.name, *(v.name for v in variants)]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise UserError(f"two scenarios are both named '{dup}'; give each variant its own name:", source="compare")
    if args.households:
        if changed := [v.name for v in variants if v.counties != base.counties]:
            raise UserError(f"variant {changed[0]} changes the county table, so the register's villages would not "
                            "match; compare variants that keep the base's counties", source=str(args.households))
    notes: list[str] = []
    population = register_population(args, base, notes)
    out = args.out or Path("results") / f"compare_{base.name}"
    target = check_output_dir(out, inputs=(args.base, *args.variants, args.households))
    seed = base.seed if args.seed is None else args.seed
    replicates = base.replicates if args.replicates is None else args.replicates
    for scenario, path in zip([base, *variants], [args.base, *args.variants]):
        check_run(scenario, replicates, seed, args.workers, str(path), population)
    workers = cap_workers(args.workers, replicates, "replicates")
    print_notes(notes)
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    with output_lock(target):
        prestart(workers, replicates * (1 + len(variants)))  # before the progress bar's thread: the workers can be forked
        with progress_bar(replicates * (1 + len(variants)), f"{base.name} and {len(variants)} variant(s)",
                          args.quiet) as bar:
            paired, summary, totals = compare(base, variants, replicates, seed, workers=workers,
                                              population=population, progress=bar.update, start_year=args.start_year)
        write_comparison(target, base, variants, paired, summary, totals, replicates=replicates, seed=seed,
                         base_file=args.base, variant_files=args.variants, households=args.households,
                         workers=workers, started=started, t0=t0)
    if not args.quiet:
        print_table(summary, totals, base.name, {s.name: s.title.get("en", s.name) for s in [base, *variants]})
        for v in variants:
            if not same_population(base, v):
                print(f"note: {v.name} changes the population (scale, counties, population, years or line), "
                      "so its households are drawn anew and the replicates are not matched household by household")
        print(f"results written to {out}/")
    return 0
