"""Sweep specifications: which parameters vary, over what, by which design.

A sweep spec is a small YAML file::

    base: ../shangluo.yaml          # scenario or variant, relative to this file
    scale: 0.05                     # optional: simulated people per real person
    overrides: {relapse.support_continuation_years: 3}   # optional fixed changes
    design: latin                   # grid | latin | sobol | morris
    points: 200                     # latin: points; sobol/morris: base samples N (see below)
    replicates: 5
    seed: 2024
    common_random_numbers: false    # true: replicate r uses the same seed at every point
    parameters:
      economy.income_growth: {low: 0.02, high: 0.08}
      relapse.support_continuation_years: {low: 0, high: 5, integer: true}
      batches.industry.targeting: {values: [need, near_line, random]}

Every parameter path is checked against the base scenario, and the lowest and highest value of
each range is validated with the whole scenario, before anything runs.

Points are drawn in the unit cube (deterministically from ``seed``) and mapped onto each
parameter: a range linearly (rounded when ``integer``), a ``values`` list by equal slices.
``grid`` takes ``levels`` evenly spaced values of each range (both ends included) and every
listed value, all combinations. ``sobol`` gives ``points * (D + 2)`` points (Saltelli's scheme,
no second-order terms), ``morris`` ``points * (D + 1)`` (``points`` trajectories).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import ConfigDict, Field, ValidationError, model_validator

from tuopin.errors import UserError
from tuopin.scenario import Scenario, Strict, apply_overrides, load_raw, read_yaml, validate
from tuopin.scenario.strict import user_error
from tuopin.sim import flows

Design = Literal["grid", "latin", "sobol", "morris"]
DEFAULT_OUTPUTS = tuple(flows.names("sweep"))
"""Annual quantities kept per run unless the spec lists ``outputs`` (tagged ``sweep`` in ``flows``)."""
KNOWN_OUTPUTS = tuple(name for name in flows.names() if name != "year")
MORRIS_LEVELS = 4
DOCUMENTED = "docs/sweeps.md"
"""Where a sweep spec's keys are documented (named when a key is misspelt)."""


class Range(Strict):
    """A parameter's range, ``{low, high}`` (``integer: true`` rounds), or ``{values: [...]}``."""

    model_config = ConfigDict(strict=True)  # a number is not a boolean, nor yes a number

    low: float | None = None
    high: float | None = None
    integer: bool = False
    values: list[Any] | None = None
    levels: Annotated[int, Field(ge=2, le=100)] = 3
    """Grid design only: how many evenly spaced values of a range."""

    @model_validator(mode="after")
    def _check(self) -> Range:
        if self.values is not None:
            if self.low is not None or self.high is not None:
                raise ValueError("give either low/high or values, not both")
            if len(self.values) == 0:
                raise ValueError("empty values list; list at least one value")
            return self
        if self.low is None or self.high is None:
            raise ValueError("expected {low: ..., high: ...} or {values: [...]}")
        if not self.low < self.high:
            raise ValueError(f"empty range: low ({self.low}) must be below high ({self.high})")
        return self

    def at(self, u: np.ndarray) -> list[Any]:
        """Map unit-interval draws onto this range (or list)."""
        if self.values is not None:
            idx = np.minimum((u * len(self.values)).astype(int), len(self.values) - 1)
            return [self.values[i] for i in idx]
        assert self.low is not None and self.high is not None  # checked when validated
        x = self.low + u * (self.high - self.low)
        return [int(v) for v in np.rint(x)] if self.integer else [float(v) for v in x]

    def grid(self) -> list[Any]:
        """The grid design's values."""
        if self.values is not None:
            return list(self.values)
        return self.at(np.linspace(0.0, 1.0, self.levels))

    def extremes(self) -> list[Any]:
        """Values that are checked against the scenario before the sweep runs."""
        return list(self.values) if self.values is not None else self.at(np.array([0.0, 1.0]))


class Spec(Strict):
    """A validated sweep spec (see the module doc)."""

    model_config = ConfigDict(strict=True)  # a number is not a boolean, nor yes a number

    base: str = Field(min_length=1)
    description: str = ""
    scale: Annotated[float, Field(gt=0, le=1)] | None = None
    overrides: dict[str, Any] = Field(default_factory=dict)
    design: Design
    points: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    replicates: Annotated[int, Field(ge=1, le=10_000)] = 1
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0
    common_random_numbers: bool = False
    parameters: dict[str, Range] = Field(min_length=1)
    outputs: list[str] | None = None
    chunk_runs: Annotated[int, Field(ge=1, le=100_000)] = 20
    """Runs per chunk (one Parquet file each); rounded to whole points."""

    @model_validator(mode="after")
    def _check(self) -> Spec:
        if self.design == "grid":
            if self.points is not None:
                raise ValueError("points: not used by the grid design (set levels per range instead)")
        elif self.points is None:
            raise ValueError(f"points: required for the {self.design} design")
        if self.outputs is not None:
            if unknown := sorted(set(self.outputs) - set(KNOWN_OUTPUTS)):
                raise ValueError(f"outputs: unknown output {unknown}; known: {list(KNOWN_OUTPUTS)}")
        return self

    def fixed_overrides(self) -> dict[str, Any]:
        """The overrides every point shares: ``overrides``, and ``scale`` when given."""
        return {**self.overrides, **({"scale": self.scale} if self.scale is not None else {})}


class SweepPlan:
    """A spec bound to its base scenario: the points, their seeds and the chunks."""

    def __init__(self, spec: Spec, spec_path: Path, base_raw: dict[str, Any], base_files: list[Path]) -> None:
        self.spec = spec
        self.spec_path = spec_path
        self.base_raw = base_raw
        self.base_files = base_files
        self.names = list(spec.parameters)
        self.unit = unit_sample(spec)
        self.points = points_table(spec, self.unit)
        n = len(self.points)
        per_chunk = max(1, spec.chunk_runs // spec.replicates)
        self.chunks = [(start, min(start + per_chunk, n)) for start in range(0, n, per_chunk)]
        self.outputs = list(spec.outputs or DEFAULT_OUTPUTS)

    @property
    def runs(self) -> int:
        """Total runs: points times replicates."""
        return len(self.points) * self.spec.replicates

    def spec_hash(self) -> str:
        """SHA-256 of the validated spec and every scenario file it builds on."""
        digest = hashlib.sha256(json.dumps(self.spec.model_dump(), sort_keys=True, default=str).encode())
        for f in self.base_files:
            digest.update(Path(f).read_bytes())
        return digest.hexdigest()

    def overrides(self, point: int) -> dict[str, Any]:
        """Every override of one point: the spec's fixed ones, then the point's values."""
        # column by column: a row of mixed columns would turn whole numbers into floats
        return {**self.spec.fixed_overrides(), **{name: _python(self.points[name].iat[point]) for name in self.names}}

    def seed_key(self, point: int, replicate: int) -> tuple[int, ...]:
        """The spawn key of a run: (point, replicate), or (replicate,) with common random numbers."""
        return (replicate,) if self.spec.common_random_numbers else (point, replicate)


def _python(value: Any) -> Any:
    """numpy scalars to plain Python values (for YAML, JSON and pydantic)."""
    return value.item() if isinstance(value, np.generic) else value


def unit_sample(spec: Spec) -> np.ndarray | None:
    """The design's points in the unit cube, one row per point (None for the grid design)."""
    d = len(spec.parameters)
    problem = {"num_vars": d, "names": list(spec.parameters), "bounds": [[0.0, 1.0]] * d}
    if spec.design == "grid":
        return None
    if spec.design == "latin":
        from SALib.sample import latin

        return latin.sample(problem, spec.points, seed=spec.seed)
    if spec.design == "sobol":
        import warnings

        from SALib.sample import sobol

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SALib prefers N a power of 2; any N is valid
            return sobol.sample(problem, spec.points, calc_second_order=False, scramble=True, seed=spec.seed)
    from SALib.sample import morris

    return morris.sample(problem, spec.points, num_levels=MORRIS_LEVELS, seed=spec.seed)


def points_table(spec: Spec, unit: np.ndarray | None) -> pd.DataFrame:
    """One row per point: ``point`` and each parameter's value (column named by its path)."""
    names = list(spec.parameters)
    if unit is None:
        combos = list(itertools.product(*(spec.parameters[n].grid() for n in names)))
        table = pd.DataFrame(combos, columns=names)
    else:
        table = pd.DataFrame({n: spec.parameters[n].at(unit[:, j]) for j, n in enumerate(names)})
    table.insert(0, "point", np.arange(len(table), dtype=np.int64))
    return table


def load_spec(path: str | Path) -> SweepPlan:
    """Read, validate and bind a sweep spec to its base scenario; UserError on any mistake.

    Each parameter path must exist in the base scenario, and each range's ends (or listed
    values) must give a valid scenario.
    """
    path = Path(path)
    src = str(path)
    raw = read_yaml(path)
    try:
        spec = Spec.model_validate(raw)
    except ValidationError as exc:
        raise user_error(exc, src, DOCUMENTED) from None
    base_path = (path.parent / spec.base).resolve()
    if not base_path.is_file():
        raise UserError(f"base scenario {spec.base} not found (paths are relative to the spec)", source=src,
                        key="base")
    base_raw, files = load_raw(base_path)
    checked = _check(base_raw, spec.fixed_overrides(), src, "overrides")
    for name, rng in spec.parameters.items():
        for value in rng.extremes():
            _check(checked, {name: _python(value)}, src, f"parameters.{name}")
    return SweepPlan(spec, path, base_raw, files)


def _check(raw: dict[str, Any], overrides: dict[str, Any], src: str, key: str) -> dict[str, Any]:
    """Apply overrides to a raw scenario and validate the result; errors name the spec's key."""
    try:
        merged = apply_overrides(raw, overrides, src)
        validate(merged, src)
    except UserError as exc:
        prefix = ": ".join(p for p in (exc.source, exc.key) if p) + ": "
        detail = str(exc).removeprefix(prefix)
        if exc.key and not key.endswith(exc.key):
            detail = f"{exc.key}: {detail}"
        raise UserError(detail, source=src, key=key) from None
    return merged


def base_scenario(plan: SweepPlan) -> Scenario:
    """The base scenario with the spec's fixed overrides (no parameter changed)."""
    return validate(apply_overrides(plan.base_raw, plan.spec.fixed_overrides(), str(plan.spec_path)),
                    str(plan.spec_path))

