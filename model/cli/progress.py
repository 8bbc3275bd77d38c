"""Progress bars for the commands that run for more than a moment: tqdm on stderr, shown only
when stderr is a terminal and ``--quiet`` is not given (so logs and pipes stay clean)."""

from __future__ import annotations

import sys

from tqdm import tqdm


def progress_bar(total: int, what: str, quiet: bool = False) -> tqdm:
    """A bar counting ``total`` model runs, labelled ``what``; silent under ``--quiet`` or when
    stderr is not a terminal. Use it as a context manager and pass its ``update`` as progress."""
    return tqdm(total=total, desc=what, unit="run", file=sys.stderr, leave=False, dynamic_ncols=True,
                disable=quiet or not sys.stderr.isatty())
