"""The one exception type for mistakes a user can fix (bad file, bad key, bad value), and the
one-line warning for values that can be but look wrong."""

from __future__ import annotations

import sys

MAX_SHOWN = 60
"""Longest key or value shown in a message; longer ones are cut (a message stays one readable line)."""


MAX_MESSAGE = 400
"""Longest message after the file and key: one line a person reads."""


def short(text: object, limit: int = MAX_SHOWN) -> str:
    """``text`` as one line of at most ``limit`` characters (cut with an ellipsis, newlines shown as \\n)."""
    s = str(text).replace("\r", "\\r").replace("\n", "\\n")
    return s if len(s) <= limit else s[: limit - 1] + "…"


class UserError(Exception):
    """A mistake in the user's input: the CLI prints it as one line and exits with code 2.

    The message names the file, the key or row, and what was expected. A key longer than
    ``MAX_SHOWN`` characters is cut, and so is a message longer than ``MAX_MESSAGE`` (a value
    quoted in it can be anything).
    """

    def __init__(self, message: str, *, source: str | None = None, key: str | None = None) -> None:
        key = short(key) if key is not None else None
        where = ": ".join(part for part in (source, key) if part)
        message = short(message, MAX_MESSAGE)
        super().__init__(f"{where}: {message}" if where else message)
        self.source = source
        self.key = key


_warned: set[str] = set()


def warn(message: str, *, source: str | None = None, key: str | None = None) -> None:
    """Print ``tuopin: warning: SOURCE: KEY: message`` on stderr once per process; the command goes on."""
    where = ": ".join(part for part in (source, short(key) if key else None) if part)
    line = f"tuopin: warning: {where}: {message}" if where else f"tuopin: warning: {message}"
    if line not in _warned:
        _warned.add(line)
        print(line, file=sys.stderr)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that the command unwinds as after Ctrl-C (staging
    removed, previous results kept) and exits with code 143 instead of 130."""


def interrupt_code() -> int:
    """Exit code for the interruption being handled: 143 after SIGTERM, 130 after Ctrl-C."""
    return 143 if isinstance(sys.exc_info()[1], Terminated) else 130


def stop_word() -> str:
    """How the interruption being handled is named in the one-line message."""
    return "terminated (SIGTERM)" if isinstance(sys.exc_info()[1], Terminated) else "interrupted"
