"""Dotted paths into a raw scenario mapping (as read from its file): lookup, setting, overrides.

``batches.relocation.start_year`` names a parameter; a path passes through a parameter's
``value`` when the next part is not one of its own keys (``poverty_line.2017`` is the 2017 entry of
the line's value), and a year written as digits is the int key YAML reads.
"""

from __future__ import annotations

import copy
from typing import Any

from tuopin.errors import UserError


def _is_parameter(node: Any) -> bool:
    """A ``{value, unit, source}`` mapping."""
    return isinstance(node, dict) and "value" in node and "unit" in node


def _child_key(node: Any, part: str) -> Any:
    """The key ``part`` names in ``node`` (a year written as digits is an int key), or None."""
    if not isinstance(node, dict):
        return None
    if part.isdigit() and int(part) in node:
        return int(part)
    return part if part in node else None


def _locate(raw: dict[str, Any], path: str, source: str) -> tuple[dict[Any, Any], Any]:
    """The mapping holding a dotted path's last key, and that key (which must exist).

    A path passes through a parameter's ``value`` when the next part is not one of the
    parameter's own keys: ``poverty_line.2017`` is the 2017 entry of the line's value.
    """
    parts = path.split(".")
    node: Any = raw
    for i, part in enumerate(parts):
        key = _child_key(node, part)
        if key is None and _is_parameter(node):
            node = node["value"]
            key = _child_key(node, part)
        if key is None:
            raise UserError("no such key in the base scenario" if i == len(parts) - 1 else
                            f"no key '{'.'.join(parts[: i + 1])}' in the base scenario", source=source, key=path)
        if i == len(parts) - 1:
            return (node[key], "value") if _is_parameter(node[key]) else (node, key)
        node = node[key]
    raise UserError("empty key", source=source, key=path)


def get_path(raw: dict[str, Any], path: str, source: str) -> Any:
    """The value at a dotted path of a raw scenario (a parameter's ``value``)."""
    node, key = _locate(raw, path, source)
    return node[key]


def set_path(raw: dict[str, Any], path: str, value: Any, source: str) -> None:
    """Set a dotted-path key in a raw scenario; a parameter's ``value`` is set through it.

    ``batches.relocation.start_year`` and ``batches.relocation.start_year.value`` both work, and
    so does one entry of a parameter's mapping: ``poverty_line.2017``.
    The path must already exist in the base scenario.
    """
    node, key = _locate(raw, path, source)
    node[key] = value


def apply_overrides(raw: dict[str, Any], overrides: dict[str, Any], source: str) -> dict[str, Any]:
    """Return a deep copy of ``raw`` with dotted-path overrides applied (nothing changed on error).

    A parameter given a value here is fixed: its ``uncertainty`` entry, if any, is dropped.
    """
    merged = copy.deepcopy(raw)
    uncertain = merged.get("uncertainty")
    for path, value in overrides.items():
        path = str(path)
        set_path(merged, path, value, source)
        if isinstance(uncertain, dict):
            uncertain.pop(path.removesuffix(".value"), None)
    return merged
