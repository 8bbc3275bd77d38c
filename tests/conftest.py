"""Shared fixtures: small populations so the suite stays fast."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuopin import load_scenario
from tuopin.scenario import Scenario

ROOT = Path(__file__).resolve().parents[1]
SHANGLUO = ROOT / "scenarios" / "shangluo.yaml"
SMALL_SCALE = 0.02  # about 9,800 registered people, 3,500 households


@pytest.fixture(scope="session")
def small() -> Scenario:
    """Shangluo at 1:50, a few thousand households."""
    return load_scenario(SHANGLUO, overrides={"scale": SMALL_SCALE})
