"""``tuopin run``: simulate a scenario's replicates and write tables and a figure
(``tuopin.experiments.replicates`` and ``tuopin.experiments.results``)."""

from __future__ import annotations

import argparse
import math
import sys
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING

from tuopin.cli import headless, keeps_results_whole
from tuopin.experiments.outputs import out_path

if TYPE_CHECKING:
    import pandas as pd

    from tuopin.scenario import Scenario
    from tuopin.sim.agents import Population

HELP = """\
Simulate a scenario (or a variant file) and compare it with the plan.

Writes to DIR (default results/<scenario name>):
  annual.csv           one row per replicate and year, in people and yuan
  county_annual.csv    the same per county, with its incidence (综合贫困发生率), the standard error
                       of that estimate at this scale, its threshold, the exit rule's indicators,
                       the year it first qualified and the year its exit was granted
  summary.csv          per year: median and 5-95% band of each quantity, P(exits >= target)
                       with its 95% interval; cumulative columns (*_cum) to the period's end
  headlines.csv        the whole period: declared exits, net reduction, still poor at the end,
                       relapses, distinct people ever exited, villages and counties exited,
                       each against the plan with P(meet) and its 95% interval
  county_summary.csv   per county and year, ranked by how far behind: incidence against its
                       threshold, P(hat off by the planned year), the year it first qualifies and
                       the year its exit is granted (median and band)
  exits_vs_target.png  simulated exits against the plan's bars
  run.json             scenario hash, seed, replicates, versions, wall time (written last)

With --households FILE the households come from a 建档立卡 register instead of being drawn
from the county totals: the national system's export as it is (.xlsx, .xls, or CSV in UTF-8 or
GBK; one row per person, official Chinese headers, title rows above the header allowed) or one
row per household (format in scenarios/data/README.md). Other column names and labels go in a
small YAML file given with --register-map. The register is simulated whole (scale 1); below
scale 1 a sample of each county's villages is simulated whole and weighted, so a county's
incidence is an estimate (see scenarios/README.md). Every row
is checked first; a bad row stops the run with one line naming the file, row and column. A
register whose people, counties or poor villages differ from the scenario's by more than 10% is
refused unless --allow-partial is given; smaller differences are printed as a warning.

--start-year Y starts in year Y from the register's state (its 脱贫属性 and 脱贫年度 at the end
of Y-1): "from where we are now, do we meet this year's target?" The plan's targets and money
apply from Y on.

Examples:  tuopin run scenarios/shangluo.yaml --replicates 50 --seed 7 --out results/try
           tuopin run scenarios/national.yaml --scale 0.005
           tuopin run scenarios/township.yaml --households scenarios/data/township_register.csv
           tuopin run scenarios/township.yaml --households scenarios/data/township_register_2017.xlsx \\
               --start-year 2018
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``tuopin run``."""
    p = sub.add_parser("run", help="simulate a scenario and compare it with the plan", description=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenario", type=Path, help="scenario or variant YAML file")
    p.add_argument("--replicates", type=int, metavar="N", help="number of replicates (default: the file's)")
    p.add_argument("--seed", type=int, metavar="S", help="root random seed (default: the file's)")
    p.add_argument("--scale", type=float, metavar="X",
                   help="share of each county's villages simulated (whole), e.g. 0.01 for a 1:100 sample "
                        "(default: the file's); results are still reported in real people and yuan")
    add_register_arguments(p)
    p.add_argument("--out", type=out_path, metavar="DIR", help="results directory (default results/<name>)")
    p.add_argument("--workers", type=int, default=1, metavar="W", help="processes to use (same numbers for any W)")
    p.add_argument("--quiet", action="store_true", help="no progress bar, do not print the table")
    p.set_defaults(func=main)


def add_register_arguments(p: argparse.ArgumentParser) -> None:
    """The options of a run from a household register: --households, --register-map,
    --start-year, --allow-partial."""
    p.add_argument("--households", type=Path, metavar="FILE",
                   help="household register (.xlsx, .xls or CSV, person or household rows; see "
                        "scenarios/data/README.md) to simulate instead of the synthetic population")
    p.add_argument("--register-map", type=Path, metavar="MAP.yaml",
                   help="YAML mapping of the register's own column names and labels to tuopin's")
    p.add_argument("--start-year", type=int, metavar="Y",
                   help="first year to simulate, from the register's state at the end of Y-1 (needs --households)")
    p.add_argument("--allow-partial", action="store_true",
                   help="simulate a register whose totals differ from the scenario's by more than 10%%")


def register_population(args: argparse.Namespace, scenario: Scenario, notes: list[str]) -> Population | None:
    """The register named on the command line, read for the start year (None without --households).

    Its warnings are added to ``notes``, for the caller to print once every check has passed (a
    bad input is one line on stderr, nothing more)."""
    from tuopin.errors import UserError
    from tuopin.sim.register import households_from_register

    if args.households is None:
        for option, given in (("--start-year", args.start_year is not None), ("--register-map", args.register_map),
                              ("--allow-partial", args.allow_partial)):
            if given:
                raise UserError(f"{option} needs --households (a register)", source=option)
        return None
    return households_from_register(args.households, scenario, mapping=args.register_map,
                                    start_year=args.start_year, allow_partial=args.allow_partial,
                                    warn=notes.append)


def print_notes(notes: list[str]) -> None:
    """The warnings of reading a register, on stderr."""
    for text in notes:
        print(f"tuopin: warning: {text}", file=sys.stderr)


COUNTY_ROWS = 15
"""Counties printed by ``tuopin run`` (the furthest behind first); all are in county_summary.csv."""


def _missing(x: object) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _year(x: float) -> str:
    return "-" if _missing(x) else f"{x:.0f}"


def _pad(text: str, width: int) -> str:
    """``text`` left-aligned in ``width`` terminal columns (a Chinese character takes two)."""
    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(width - used, 1)


def _meet(p: float, low: float, high: float) -> str:
    return "" if math.isnan(p) else f"{p:.0%} ({low:.0%}-{high:.0%})"


def print_table(summary: pd.DataFrame, counties: pd.DataFrame, table: pd.DataFrame) -> None:
    """The planner's table: declared exits against the plan per year and over the period, the
    headline quantities in words, counties qualifying and granted their exit per year; then the
    counties, furthest behind first: incidence each year against the threshold, P(hat off by
    the planned year), the year it first qualifies and the year its exit is granted."""
    from tuopin.report.headlines import headline_lines

    print(f"{'year':>9}  {'declared exits':>14}  {'90% band':>19}  {'plan target':>11}  {'P(meet) (95% interval)':>22}")
    for r in summary.to_dict("records"):
        band = f"{r['exits_q05']:,.0f}-{r['exits_q95']:,.0f}"
        meet = _meet(r["p_meet_target"], r["p_meet_target_low"], r["p_meet_target_high"])
        print(f"{r['year']:>9}  {r['exits_median']:>14,.0f}  {band:>19}  {r['target_exits']:>11,.0f}  {meet:>22}")
    last = summary.iloc[-1]
    years = f"{int(summary['year'].iloc[0])}-{int(last['year'])}"
    band = f"{last['exits_cum_q05']:,.0f}-{last['exits_cum_q95']:,.0f}"
    meet = _meet(last["p_meet_cum_target"], last["p_meet_cum_target_low"], last["p_meet_cum_target_high"])
    print(f"{years:>9}  {last['exits_cum_median']:>14,.0f}  {band:>19}  {last['target_exits_cum']:>11,.0f}  {meet:>22}")
    print()
    for line in headline_lines(table, "en"):
        print(line)
    print()
    print(f"{'year':>9}  {'counties qualifying (assessment year)':>37}  {'exits granted':>14}")
    band3 = lambda r, k: f"{r[k + '_median']:.0f} ({r[k + '_q05']:.0f}-{r[k + '_q95']:.0f})"  # noqa: E731
    for r in summary.to_dict("records"):
        print(f"{r['year']:>9}  {band3(r, 'counties_qualified'):>37}  {band3(r, 'counties_exited'):>14}")
    county_years = sorted(counties["year"].unique())
    ranked = counties.drop_duplicates("county")
    shown = ranked.head(COUNTY_ROWS)
    print("\ncounties, furthest behind first: median incidence (综合贫困发生率) each year, threshold, "
          "P(hat off by the planned year), year first qualified and year granted (median)")
    print(f"{'county':<14}" + "".join(f"{y:>7}" for y in county_years) + f"  {'thresh':>6}  {'plan':>4}  {'P(plan)':>7}"
          f"  {'qualif.':>7}  {'granted':>7}")
    for r in shown.to_dict("records"):
        inc = counties[counties["county"] == r["county"]].set_index("year")["incidence_median"]
        p = "-" if _missing(r["p_hat_off_by_plan"]) else f"{r['p_hat_off_by_plan']:.0%}"
        plan = "-" if _missing(r["planned_exit_year"]) else f"{r['planned_exit_year']:.0f}"
        print(_pad(str(r["county"]), 14) + "".join(f"{inc[y]:>7.1%}" for y in county_years) + f"  {r['threshold']:>6.1%}"
              f"  {plan:>4}  {p:>7}  {_year(r['first_qualified_year_median']):>7}  {_year(r['exit_year_median']):>7}")
    if len(ranked) > len(shown):
        print(f"... {len(ranked) - len(shown)} more counties in county_summary.csv")
    behind = ranked[ranked["p_hat_off_by_plan"] < 0.5]
    if len(behind):
        print(f"counties behind plan (P(hat off) < 50% by the planned year): {len(behind)} of "
              f"{int(ranked['planned_exit_year'].notna().sum())} with a planned year")


@keeps_results_whole
def main(args: argparse.Namespace) -> int:
    """Run ``tuopin run``: check everything, simulate, write the results whole, print the table."""
    import time
    from datetime import UTC, datetime

    from tuopin.cli.progress import progress_bar
    from tuopin.experiments.outputs import check_output_dir, output_lock
    from tuopin.experiments.replicates import run_replicates
    from tuopin.experiments.resources import cap_workers, check_run
    from tuopin.experiments.workers import prestart
    from tuopin.experiments.results import write_run
    from tuopin.scenario import load_scenario

    headless()
    scenario = load_scenario(args.scenario, overrides={"scale": args.scale} if args.scale is not None else None)
    notes: list[str] = []
    population = register_population(args, scenario, notes)
    out = args.out or Path("results") / scenario.name
    target = check_output_dir(out, inputs=(args.scenario, args.households))
    replicates = scenario.replicates if args.replicates is None else args.replicates
    check_run(scenario, replicates, scenario.seed if args.seed is None else args.seed, args.workers, str(args.scenario),
              population)
    workers = cap_workers(args.workers, replicates, "replicates")
    print_notes(notes)
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    with output_lock(target):
        prestart(workers, replicates)  # before the progress bar's thread: the workers can be forked
        with progress_bar(replicates, scenario.name, args.quiet) as bar:
            result = run_replicates(scenario, replicates=replicates, seed=args.seed, workers=workers,
                                    population=population, progress=bar.update, start_year=args.start_year)
        summary, counties, table = write_run(target, result, scenario_file=args.scenario, households=args.households,
                                             population=population, workers=workers, started=started, t0=t0)
    if not args.quiet:
        print_table(summary, counties, table)
        print(f"results written to {out}/")
    return 0
