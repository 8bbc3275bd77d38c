"""``tuopin compare``: a base scenario against variants, with common random numbers."""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from tuopin.errors import UserError
from tuopin.experiments.outputs import check_output_dir, interrupted, out_path, output_lock, provenance, write_results
from tuopin.report.plots import differences
from tuopin.sim.register import Population, households_from_register
from tuopin.experiments.resources import cap_workers, check_run
from tuopin.experiments.replicates import run_replicates
from tuopin.scenario.schema import Scenario, file_hash, load_scenario
from tuopin.experiments.summary import paired_differences, summarize_differences

HELP = """\
Run a base scenario and one or more variants (e.g. files in scenarios/variants/) on the same
replicate seeds and report, per year, what each variant changes: variant minus base.

Common random numbers: replicate i of every scenario uses the same seed, so the same households
meet the same illnesses, disasters and market shocks. The differences are then the policy's, not
luck's, and their bands are much narrower than two independent runs would give. This holds when
the variant keeps the base's population (counties, population block and scale); if it changes
them, households are drawn anew and the command says so.

Writes to DIR (default results/compare_<base name>):
  differences.csv     per variant, year and quantity (exits, relapses, poor_end, spending,
                      cost_per_sustained_exit): base and variant medians, the difference's median
                      and 5-95% band, and P(variant better) = share of paired replicates where the
                      variant does better (more exits; fewer relapses, poor, yuan)
  paired_annual.csv   every replicate and year: base value, variant value, difference
  differences.png     the differences with their bands, one panel per quantity
  run.json            files, hashes, seed, replicates, versions (written last)

Example:  tuopin compare scenarios/shangluo.yaml scenarios/variants/budget_cut_20.yaml \\
              scenarios/variants/relocation_late.yaml --replicates 50 --out results/compare
"""

POPULATION_KEYS = ("scale", "counties", "population", "years", "poverty_line")
"""What must match for households to be the same in base and variant (common random numbers)."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``tuopin compare``."""
    p = sub.add_parser("compare", help="compare variants with a base scenario (paired replicates)", description=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("base", type=Path, help="base scenario or variant YAML file")
    p.add_argument("variants", type=Path, nargs="+", metavar="variant", help="variant or scenario YAML file(s)")
    p.add_argument("--replicates", type=int, metavar="N", help="replicates per scenario (default: the base file's)")
    p.add_argument("--seed", type=int, metavar="S", help="root random seed shared by all (default: the base file's)")
    p.add_argument("--scale", type=float, metavar="X", help="simulated people per real person, for every scenario")
    p.add_argument("--households", type=Path, metavar="FILE.csv",
                   help="household register (CSV, see scenarios/data/README.md) shared by every scenario")
    p.add_argument("--out", type=out_path, metavar="DIR", help="results directory (default results/compare_<base name>)")
    p.add_argument("--workers", type=int, default=1, metavar="W", help="processes to use (same numbers for any W)")
    p.add_argument("--quiet", action="store_true", help="do not print the table")
    p.set_defaults(func=main)


def same_population(base: Scenario, variant: Scenario) -> bool:
    """True when the variant draws the same households as the base (so replicates are paired)."""
    return all(getattr(base, key) == getattr(variant, key) for key in POPULATION_KEYS)


def compare(base: Scenario, variants: list[Scenario], replicates: int, seed: int,
            workers: int = 1, population: Population | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run the base and every variant on the same replicate seeds (and ``population``, if given).

    Returns ``(paired, summary)``: per replicate and year the base value, variant value and
    difference of each compared quantity, and per year the medians, bands and P(variant better);
    both with a ``variant`` column naming the variant.
    """
    base_run = run_replicates(base, replicates=replicates, seed=seed, workers=workers, population=population)
    paired, summary = [], []
    for variant in variants:
        run = run_replicates(variant, replicates=replicates, seed=seed, workers=workers, population=population)
        pairs = paired_differences(base_run.annual, run.annual)
        pairs.insert(0, "variant", variant.name)
        table = summarize_differences(pairs)
        table.insert(0, "variant", variant.name)
        paired.append(pairs)
        summary.append(table)
    return pd.concat(paired, ignore_index=True), pd.concat(summary, ignore_index=True)


def print_table(summary: pd.DataFrame) -> None:
    """Per variant and year: change in exits (band, P(more exits)), in people still poor, in spending."""
    for variant, rows in summary.groupby("variant", sort=False):
        print(f"{variant} - base")
        print(f"{'year':>4}  {'exits':>10}  {'90% band':>21}  {'P(more)':>7}  {'poor_end':>10}  {'P(fewer)':>8}  {'spending, m yuan':>16}")
        by = {q: g.set_index("year") for q, g in rows.groupby("quantity")}
        for year in by["exits"].index:
            e, p, s = by["exits"].loc[year], by["poor_end"].loc[year], by["spending"].loc[year]
            band = f"{e.difference_q05:+,.0f} to {e.difference_q95:+,.0f}"
            print(f"{year:>4}  {e.difference_median:>+10,.0f}  {band:>21}  {e.p_variant_better:>7.0%}  "
                  f"{p.difference_median:>+10,.0f}  {p.p_variant_better:>8.0%}  {s.difference_median / 1e6:>+16,.1f}")


def main(args: argparse.Namespace) -> int:
    """Run ``tuopin compare``; Ctrl-C or SIGTERM stops it with one line saying what was kept (exit code 130 or 143)."""
    try:
        return _main(args)
    except KeyboardInterrupt:
        return interrupted(args.out)


def _main(args: argparse.Namespace) -> int:
    """Check everything, run base and variants, write the results whole, print the table."""
    overrides = {"scale": args.scale} if args.scale is not None else None
    base = load_scenario(args.base, overrides)
    variants = [load_scenario(path, overrides) for path in args.variants]  # all valid before any run
    names = [base.name, *(v.name for v in variants)]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise UserError(f"two scenarios are both named '{dup}'; give each variant its own name:", source="compare")
    population = None
    if args.households:
        if changed := [v.name for v in variants if v.counties != base.counties]:
            raise UserError(f"variant {changed[0]} changes the county table, so the register's villages would not "
                            "match; compare variants that keep the base's counties", source=str(args.households))
        population = households_from_register(args.households, base)
    out = args.out or Path("results") / f"compare_{base.name}"
    target = check_output_dir(out, inputs=(args.base, *args.variants, args.households))
    seed = base.seed if args.seed is None else args.seed
    replicates = base.replicates if args.replicates is None else args.replicates
    for scenario, path in zip([base, *variants], [args.base, *args.variants]):
        check_run(scenario, replicates, seed, args.workers, str(path), population)
    workers = cap_workers(args.workers, replicates, "replicates")
    paired_ok = {v.name: same_population(base, v) for v in variants}
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    with output_lock(target):
        paired, summary = compare(base, variants, replicates, seed, workers=workers, population=population)
        title = f"{base.title.get('en', base.name)}: variants minus base ({replicates} paired replicates)"
        writers = {
            "differences.csv": lambda path: summary.to_csv(path, index=False),
            "paired_annual.csv": lambda path: paired.to_csv(path, index=False),
            "differences.png": lambda path: differences(summary, path, title),
        }
        meta = {
            "base": base.name,
            "base_file": str(args.base),
            "base_sha256": file_hash(args.base),
            "variants": [{"name": v.name, "file": str(path), "sha256": file_hash(path),
                          "common_random_numbers": paired_ok[v.name]} for v, path in zip(variants, args.variants)],
            "seed": seed,
            "replicates": replicates,
            "scale": base.scale.value,
            "households": str(args.households) if args.households else None,
            "workers": workers,
            **provenance(started, t0),
        }
        write_results(target, writers, meta)
    if not args.quiet:
        print_table(summary)
        for name, ok in paired_ok.items():
            if not ok:
                print(f"note: {name} changes the population (scale, counties, population, years or line), "
                      "so its households are drawn anew and the replicates are not matched household by household")
        print(f"results written to {out}/")
    return 0
