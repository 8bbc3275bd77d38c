"""The ``tuopin`` command line. Each subcommand lives in ``tuopin.cli.<name>``.

Mistakes in input (a bad file, key or value, or a command line argparse refuses) print one line
``tuopin: error: ...`` naming the file and key and exit with code 2; nothing is written. Ctrl-C
and SIGTERM stop a command with one line and exit code 130 or 143, also when they land inside
compiled code (an extension module being imported) that turns them into an error of its own.
An operating-system error while writing (disk full, read-only, ...) is one line naming the path
and the cause, exit code 2.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any, NoReturn

from tuopin.errors import Terminated, UserError, forget_signals, interruptions_kept, on_signal, short

COMMANDS = ("run", "compare", "sweep", "sensitivity", "calibrate", "figures", "app")
"""Subcommand modules under ``tuopin.cli``; each has ``add_parser`` and ``main``."""

DESCRIPTION = """\
tuopin (脱贫) simulates registered poor households under a poverty-alleviation plan, year by
year: who leaves poverty, who falls back, which villages and counties take off the hat, and
what it costs, compared with the plan's targets.

Start with:  tuopin run scenarios/shangluo.yaml
What if:     tuopin compare scenarios/shangluo.yaml scenarios/variants/budget_cut_20.yaml
"""


class Parser(argparse.ArgumentParser):
    """An argument parser whose mistakes are one line, ``tuopin: error: ...``, exit code 2, and
    that takes options only as spelled (``--replicate`` is not taken for ``--replicates``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        """Print the one line and exit with code 2 (argparse's usage block is left to --help)."""
        hint = f" (see {self.prog} --help)"
        self.exit(2, f"tuopin: error: {short(message, 200)}{hint}\n")


def build_parser() -> argparse.ArgumentParser:
    """The parser with every subcommand registered."""
    parser = Parser(
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
    (the previous results or the new ones whole, see ``experiments.outputs``), exit code 130 (143 after SIGTERM)."""

    @functools.wraps(command)
    def main(args: argparse.Namespace) -> int:
        try:
            with interruptions_kept():
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
    in_main = threading.current_thread() is threading.main_thread()
    forget_signals()
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)} if in_main else {}
    try:
        with interruptions_kept():
            args = build_parser().parse_args(argv)
            return int(args.func(args) or 0)
    except UserError as exc:
        print(f"tuopin: error: {exc}", file=sys.stderr)
        return 2
    except Terminated:
        print("tuopin: terminated (SIGTERM); results already in place were left as they were", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("tuopin: interrupted; results already in place were left as they were", file=sys.stderr)
        return 130
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        forget_signals()


if __name__ == "__main__":
    sys.exit(main())
