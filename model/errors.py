"""The one exception type for mistakes a user can fix (bad file, bad key, bad value)."""

from __future__ import annotations


class UserError(Exception):
    """A mistake in the user's input: the CLI prints it as one line and exits with code 2.

    The message names the file, the key or row, and what was expected.
    """

    def __init__(self, message: str, *, source: str | None = None, key: str | None = None) -> None:
        where = ": ".join(part for part in (source, key) if part)
        super().__init__(f"{where}: {message}" if where else message)
        self.source = source
        self.key = key
