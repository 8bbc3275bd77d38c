"""The one exception type for mistakes a user can fix (bad file, bad key, bad value), and the
one-line warning for values that can be but look wrong."""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator
from types import FrameType

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


_signalled: list[int] = []
"""The signals (SIGINT, SIGTERM) that reached the running command through :func:`on_signal`."""


def on_signal(signum: int, frame: FrameType | None) -> None:
    """The command's handler of Ctrl-C (SIGINT) and SIGTERM: note the signal and unwind, as
    ``KeyboardInterrupt`` (``Terminated`` for SIGTERM; a second SIGTERM while cleaning up is ignored)."""
    _signalled.append(signum)
    if signum == signal.SIGTERM:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Terminated()
    raise KeyboardInterrupt


def forget_signals() -> None:
    """A command starts or has ended: no signal has reached it (so code run outside a command never
    takes an error for an interruption)."""
    _signalled.clear()


def _interruption(exc: BaseException) -> KeyboardInterrupt | None:
    """The Ctrl-C or SIGTERM behind ``exc``: one in its chain of causes, else one that reached the
    command (compiled code may drop the one it wrapped), else None."""
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        if isinstance(link, KeyboardInterrupt):
            return link
        seen.add(id(link))
        link = link.__cause__ or link.__context__
    if _signalled:
        return Terminated() if _signalled[-1] == signal.SIGTERM else KeyboardInterrupt()
    return None


@contextlib.contextmanager
def interruptions_kept() -> Iterator[None]:
    """Re-raise as the interruption it is an error that a Ctrl-C or SIGTERM caused inside compiled
    code: an extension module being imported turns it into an ``ImportError``, pydantic's
    serializer into a serialization error. The command then stops as interrupted, not with a traceback."""
    try:
        yield
    except Exception as exc:
        stop = _interruption(exc)
        if stop is None:
            raise
        raise stop from None


def interrupt_code() -> int:
    """Exit code for the interruption being handled: 143 after SIGTERM, 130 after Ctrl-C."""
    return 143 if isinstance(sys.exc_info()[1], Terminated) else 130


def stop_word() -> str:
    """How the interruption being handled is named in the one-line message."""
    return "terminated (SIGTERM)" if isinstance(sys.exc_info()[1], Terminated) else "interrupted"
