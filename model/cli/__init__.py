"""The ``tuopin`` command line. Each subcommand lives in ``tuopin.cli.<name>``.

Mistakes in input (a bad file, key or value) print one line naming the file and key and exit
with code 2; nothing is written.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import sys
from collections.abc import Callable

from tuopin.errors import UserError

COMMANDS = ("run", "compare", "sweep", "sensitivity", "calibrate", "figures", "app")
"""Subcommand modules under ``tuopin.cli``; each has ``add_parser`` and ``main``."""

DESCRIPTION = """\
tuopin (脱贫) simulates registered poor households under a poverty-alleviation plan, year by
year: who leaves poverty, who falls back, which villages and counties take off the hat, and
what it costs, compared with the plan's targets.

Start with:  tuopin run scenarios/shangluo.yaml
What if:     tuopin compare scenarios/shangluo.yaml scenarios/variants/budget_cut_20.yaml
"""


def build_parser() -> argparse.ArgumentParser:
    """The parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="tuopin", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    from tuopin import __version__

    parser.add_argument("--version", action="version", version=f"tuopin {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"tuopin.cli.{name}").add_parser(sub)
    return parser


def keeps_results_whole(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """For a command writing ``args.out``: Ctrl-C stops it with one line saying what was kept
    (the previous results or the new ones whole, see ``experiments.outputs``), exit code 130."""

    @functools.wraps(command)
    def main(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except KeyboardInterrupt:
            from tuopin.experiments.outputs import interrupted

            return interrupted(args.out)

    return main


def headless() -> None:
    """Draw figures off screen (matplotlib's Agg backend): the commands that write figures call this
    before drawing, so no window system is needed (and importing tuopin chooses nothing)."""
    import matplotlib

    matplotlib.use("Agg")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``tuopin`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"tuopin: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tuopin: interrupted; results already in place were left as they were", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
