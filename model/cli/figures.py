"""``tuopin figures``: the report figures of a finished run, in Chinese or English."""

from __future__ import annotations

import argparse
from pathlib import Path

from tuopin.errors import UserError
from tuopin.report import FORMATS

HELP = """\
Draw the report figures of a results folder written by 'tuopin run', with every label in
Chinese (--lang zh) or English (--lang en). Chinese text uses Noto Sans SC, which is installed
with tuopin (nothing is downloaded).

Writes to RESULTS_DIR/figures_<lang>/, one file per figure and format:
  exits_vs_plan           declared exits per year against the plan's bars, median and 5-95%
                          band, and the chance of meeting each year's target (95% interval)
  remaining_poor          people still poor at each year's end, against the plan, from the
                          register at the start
  relapses_new_entrants   people falling back (返贫) and newly registered, per year
  villages_counties       poor villages and counties exited so far, against the plan
  spending_cost           spending per year against the budget, and the cost per person lifted
                          and still out (defined on the figure)
  exits_by_batch          exits among the people each batch reached (五个一批 and others),
                          median and band; not additive (a person counts under each batch)
  county_remaining        per county: poverty incidence against the exit threshold, planned
                          exit year, P(hat off by then); one shared y scale
                          (only when the run has two or more counties)

Every figure has a source line (model version, scenario, scale, replicates, seed) and uses a
colour-blind-safe palette (Okabe-Ito); PNGs are 200 dpi. Multi-panel figures whose panels count
different things (villages and counties; yuan and yuan per person) keep one y scale per panel.
  run.json                which results the figures were drawn from (written last)

The plan's village and county targets and the title come from the scenario file named in the
run's run.json, if it is still there unchanged; otherwise those lines are left out.

Examples:  tuopin figures results/shangluo --lang zh
           tuopin figures results/shangluo --lang en --format png,svg
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``tuopin figures``."""
    p = sub.add_parser("figures", help="draw report figures of a run, in Chinese or English", description=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results", type=Path, metavar="RESULTS_DIR", help="folder written by 'tuopin run'")
    p.add_argument("--lang", choices=("zh", "en"), required=True, help="language of every label: zh or en")
    p.add_argument("--format", default="png,pdf", metavar="LIST",
                   help=f"comma-separated file formats from {', '.join(FORMATS)} (default: png,pdf)")
    p.set_defaults(func=main)


def parse_formats(value: str) -> tuple[str, ...]:
    """``"png,pdf"`` -> ``("png", "pdf")``; an unknown format is a UserError."""
    formats = tuple(dict.fromkeys(f.strip().lower() for f in value.split(",") if f.strip()))
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise UserError(f"unknown format {', '.join(bad) or '(none)'}; expected some of {', '.join(FORMATS)}",
                        key="--format")
    return formats


def main(args: argparse.Namespace) -> int:
    """Run ``tuopin figures``."""
    from tuopin.cli import headless
    from tuopin.report.figures import write_figures

    formats = parse_formats(args.format)
    headless()
    out = write_figures(args.results, args.lang, formats)
    print(f"figures written to {out}/")
    return 0
