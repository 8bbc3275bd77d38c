"""Scenario files: safe YAML loading, variants (a base and overrides), validation, resolving a
scenario from a file or an object, and the hash that identifies a run's inputs.

A *variant* is a small file naming a base scenario and a few dotted-path overrides; it is applied
all or nothing: the merged result is validated as a whole.
"""

from __future__ import annotations

import hashlib
import math
import os
import statistics
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from tuopin.errors import UserError, short, warn
from tuopin.scenario.paths import apply_overrides, get_path
from tuopin.scenario.schema import Scenario
from tuopin.scenario.strict import format_validation, user_error

MAX_FILE_BYTES = 2_000_000
DOCUMENTED = "scenarios/README.md"
"""Where a scenario's keys are documented (named when a key is misspelt)."""


class _NoAliasLoader(yaml.SafeLoader):
    """Safe YAML that also refuses anchors and aliases (no 'billion laughs'), tags that would
    build Python objects, and a key given twice in one mapping (the second would silently win)."""

    def compose_node(self, parent: Any, index: Any) -> Any:  # noqa: D401
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.constructor.ConstructorError(
                None, None, "YAML aliases (*name) are not allowed", event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, list | dict):
                raise yaml.constructor.ConstructorError(
                    None, None, "a list or mapping cannot be a key", key_node.start_mark)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {short(repr(key))}; give each key once", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_undefined(self, node: Any) -> Any:
        raise yaml.constructor.ConstructorError(
            None, None, f"tag {node.tag!r} is not allowed; scenario files are plain YAML", node.start_mark)


_NoAliasLoader.add_constructor(None, _NoAliasLoader.construct_undefined)


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping safely: no code, no aliases, UTF-8 only; errors name the file."""
    path = Path(path)
    src = str(path)
    if not path.exists():
        raise UserError("file not found", source=src)
    if not path.is_file():
        raise UserError("not a regular file", source=src)
    data = path.read_bytes()
    if len(data) > MAX_FILE_BYTES:
        raise UserError(f"file is {len(data)} bytes; a scenario is at most {MAX_FILE_BYTES}", source=src)
    if b"\x00" in data:
        raise UserError("binary file; expected UTF-8 YAML text", source=src)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"not UTF-8 text (byte {exc.start}); save the file as UTF-8", source=src) from None
    if not text.strip():
        raise UserError("empty file; expected a YAML mapping", source=src)
    try:
        raw = yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - SafeLoader subclass
    except RecursionError:
        raise UserError("YAML nested too deeply to be a scenario", source=src) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(f"{where}invalid YAML: {problem}", source=src) from None
    if raw is None:
        raise UserError("empty file (only comments); expected a YAML mapping", source=src)
    if not isinstance(raw, dict):
        raise UserError(f"expected a YAML mapping at top level, got {type(raw).__name__}", source=src)
    return raw


def validate(raw: dict[str, Any], source: str) -> Scenario:
    """Validate a raw mapping into a Scenario, or raise a one-line UserError."""
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        raise user_error(exc, source, DOCUMENTED) from None


def check_uncertainty(raw: dict[str, Any], scenario: Scenario, source: str) -> None:
    """Each ``uncertainty`` entry must name a number in the scenario, and both ends of its range
    must be valid values there (checked by validating the scenario at each end)."""
    for path, u in scenario.uncertainty.items():
        key = f"uncertainty.{path}"
        try:
            value = get_path(raw, path, source)
        except UserError:
            raise UserError("names no parameter of the scenario", source=source, key=key) from None
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise UserError("must name a single number in the scenario", source=source, key=key)
        for end in ("low", "high"):
            try:
                Scenario.model_validate(apply_overrides(raw, {path: getattr(u, end)}, source))
            except ValidationError as exc:
                _, msg = format_validation(exc, DOCUMENTED)
                raise UserError(f"{end} end of the range is not a valid value: {msg}", source=source,
                                key=key) from None


def load_raw(path: str | Path, _chain: tuple[Path, ...] = ()) -> tuple[dict[str, Any], list[Path]]:
    """Read a scenario or a variant file; returns the merged raw mapping and the files read.

    A variant file has ``base: other.yaml`` (relative to the variant), optional ``name`` and
    ``title``, and ``overrides: {dotted.path: value}``.
    """
    path = Path(path)
    raw = read_yaml(path)
    if "base" not in raw:
        return raw, [path]
    src = str(path)
    allowed = {"base", "name", "title", "overrides", "description"}
    if unknown := sorted(set(raw) - allowed):
        raise UserError(f"unknown key in a variant file; allowed: {sorted(allowed)}", source=src, key=unknown[0])
    base = raw["base"]
    if not isinstance(base, str) or not base.strip():
        raise UserError(f"expected the path of the base scenario file, relative to this variant (got "
                        f"{short(repr(base))})", source=src, key="base")
    if len(_chain) >= MAX_VARIANT_DEPTH:
        raise UserError(f"variants built on variants more than {MAX_VARIANT_DEPTH} deep; base this variant on "
                        "a scenario or a shorter chain", source=src, key="base")
    base_path = (path.parent / base).resolve()
    if not base_path.is_file():
        raise UserError(f"base scenario file not found: {short(base, 200)} (paths are relative to the variant)",
                        source=src, key="base")
    if base_path == path.resolve():
        raise UserError("a variant cannot be its own base", source=src, key="base")
    chain = (*_chain, path.resolve())
    if base_path in chain:
        raise UserError(f"variants form a cycle through {base_path.name}; a base must be a scenario or "
                        "a variant of one", source=src, key="base")
    base_raw, files = load_raw(base_path, chain)
    overrides = raw.get("overrides") or {}
    if not isinstance(overrides, dict):
        raise UserError("expected a mapping of dotted.path: value", source=src, key="overrides")
    merged = apply_overrides(base_raw, overrides, src)
    for key in ("name", "title"):
        if key in raw:
            merged[key] = raw[key]
    return merged, [*files, path]


def load_scenario(path: str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Load, merge and validate a scenario (or variant) file.

    Args:
        path: the YAML file.
        overrides: extra ``{"dotted.path": value}`` changes, validated with the rest.

    Raises:
        UserError: with the file, the key and what was expected.
    """
    raw, _ = load_raw(path)
    if overrides:
        raw = apply_overrides(raw, overrides, "override")
    scenario = validate(raw, str(path))
    check_uncertainty(raw, scenario, str(path))
    warn_implausible(scenario, str(path))
    return scenario


LINE_JUMP = 2.0
"""A poverty line that changes by more than this factor from one year to the next is implausible."""
FUNDING_JUMP = 100.0
"""A year's funding per registered poor person this many times off the other years' median is implausible."""
MAX_VARIANT_DEPTH = 10
"""Longest chain of variants (a variant of a variant of ...) before the scenario itself."""


def warn_implausible(scenario: Scenario, source: str) -> None:
    """At most one one-line warning per kind (the run goes on) for values that can be but look
    like typos: a poverty line that halves or doubles from one year to the next (the first such
    year), a year's funding per registered poor person 100 times above or below the median of the
    other years (the year furthest off)."""
    line = scenario.poverty_line
    for year in scenario.horizon[1:]:
        before, now = line.get(year - 1), line.get(year)
        if before and now and not 1 / LINE_JUMP <= now / before <= LINE_JUMP:
            warn(f"the line goes from {before:,g} in {year - 1} to {now:,g} in {year} yuan; is that a typo?",
                 source=source, key=f"poverty_line.{year}")
            break
    poor = sum(r.poor_people for r in scenario.counties.rows) or 1
    per_poor = {y: sum(s.amount.get(y, 0.0) for s in scenario.funding.sources.values()) / poor
                for y in scenario.horizon}
    off = {}
    for year, value in per_poor.items():
        others = [v for y, v in per_poor.items() if y != year and v > 0]
        if others and value > 0:
            off[year] = (value / statistics.median(others), statistics.median(others))
    if off:
        year, (ratio, median) = max(off.items(), key=lambda kv: abs(math.log(kv[1][0])))
        if not 1 / FUNDING_JUMP <= ratio <= FUNDING_JUMP:
            warn(f"funding in {year} is {per_poor[year]:,.0f} yuan per registered poor person against a median of "
                 f"{median:,.0f} in the other years; is an amount off by a factor of 100 or more?",
                 source=source, key=f"funding.sources.*.amount.{year}")


def resolve(scenario: Scenario | str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """A validated scenario from a ``Scenario`` or a scenario / variant file, with overrides applied."""
    if not isinstance(scenario, Scenario):
        return load_scenario(scenario, overrides)
    if not overrides:
        return scenario
    return validate(apply_overrides(scenario.model_dump(), overrides, "override"), "override")


def scenario_dir() -> Path:
    """Where the shipped scenario files are: ``$TUOPIN_SCENARIOS``, else ``scenarios/`` of the
    checkout the package runs from, else ``./scenarios``."""
    if env := os.environ.get("TUOPIN_SCENARIOS"):
        return Path(env)
    beside = Path(__file__).resolve().parents[2] / "scenarios"
    return beside if beside.is_dir() else Path("scenarios")


def scenario_path(name: str) -> Path:
    """A shipped scenario file by name, e.g. ``scenario_path("shangluo.yaml")`` or
    ``scenario_path("variants/budget_cut_20.yaml")``, wherever the caller runs from (a notebook
    copied to another folder, the dashboard, a script)."""
    return scenario_dir() / name


def default_scenario() -> Path:
    """The scenario a model runs when given none: the Shangluo baseline of :func:`scenario_dir`."""
    return scenario_path("shangluo.yaml")


def file_hash(path: str | Path) -> str:
    """SHA-256 of a scenario and every file it is built on (variant chains)."""
    _, files = load_raw(path)
    digest = hashlib.sha256()
    for f in files:
        digest.update(Path(f).read_bytes())
    return digest.hexdigest()
