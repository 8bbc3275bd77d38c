"""Parameter uncertainty: each replicate draws its own values of the scenario's uncertain
parameters (``uncertainty:`` in the scenario file), so the bands of a run show what is not known
about behaviour as well as chance.

Draws come from a generator keyed by the replicate's seed and ``parameters`` (``sim/keyed.py``): the same seed gives the same values
on any number of workers, and a variant run on the same seeds draws the same quantiles.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tuopin.scenario.files import validate
from tuopin.scenario.paths import apply_overrides, get_path
from tuopin.scenario.schema import Scenario, Uncertain


def draw_one(u: Uncertain, r: np.random.Generator) -> float:
    """One value: uniform on [low, high], or triangular peaking at ``mode``."""
    if u.mode is None:
        return float(r.uniform(u.low, u.high))
    return float(r.triangular(u.low, u.mode, u.high))


def draw(scenario: Scenario, rng: np.random.Generator) -> dict[str, float | int]:
    """This replicate's values of every uncertain parameter, ``{dotted.path: value}``.

    Paths are drawn in sorted order (one number each), so adding a parameter to the end of the
    file does not change how the others are drawn. Whole-number parameters are rounded.
    """
    return _draw(scenario, scenario.model_dump() if scenario.uncertainty else {}, rng)


def _draw(scenario: Scenario, raw: dict[str, Any], rng: np.random.Generator) -> dict[str, float | int]:
    """``draw``, given the scenario's values as a dict (``raw``: its ``model_dump()``)."""
    values: dict[str, float | int] = {}
    for path in sorted(scenario.uncertainty):
        value = draw_one(scenario.uncertainty[path], rng)
        values[path] = round(value) if isinstance(get_path(raw, path, "uncertainty"), int) else value
    return values


def fix(scenario: Scenario, rng: np.random.Generator) -> tuple[Scenario, dict[str, float | int]]:
    """The scenario with this replicate's draws applied (no uncertainty left), and the draws."""
    if not scenario.uncertainty:
        return scenario, {}
    raw = scenario.model_dump()
    drawn = _draw(scenario, raw, rng)
    return validate(apply_overrides(raw, drawn, "uncertainty"), "uncertainty"), drawn
