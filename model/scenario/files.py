"""Where the shipped scenario files are, wherever the caller runs from (a notebook copied to
another folder, the dashboard, a script)."""

from __future__ import annotations

import os
from pathlib import Path


def scenario_dir() -> Path:
    """The folder of scenario files: ``$TUOPIN_SCENARIOS``, else ``scenarios/`` of the checkout the
    package runs from, else ``./scenarios``."""
    if env := os.environ.get("TUOPIN_SCENARIOS"):
        return Path(env)
    beside = Path(__file__).resolve().parents[2] / "scenarios"
    return beside if beside.is_dir() else Path("scenarios")


def scenario_path(name: str) -> Path:
    """A shipped scenario file by name, e.g. ``scenario_path("shangluo.yaml")`` or
    ``scenario_path("variants/budget_cut_20.yaml")``."""
    return scenario_dir() / name
