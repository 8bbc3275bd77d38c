"""Relapse (返贫) and new entrants (新增/边缘户 falling into poverty).

* Relapse: a household that exited in an earlier year and no longer meets the exit standard
  (income below the line after an illness, a disaster, a failed crop or a lost job, or a house
  destroyed) is registered poor again. Risk is highest just above the line and once support
  stops (``support_continuation_years``).
* New entrants: a near-poor household whose income falls below the line is registered with
  probability ``registration_rate`` that year (the register is dynamic, 有进有出).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tuopin.sim.agents import EXITED, NEAR, POOR
from tuopin.sim.assessment import meets_standard

if TYPE_CHECKING:
    from tuopin.sim.model import PovertyModel


def relapse(m: PovertyModel) -> np.ndarray:
    """Exited households (before this year) that fall back; returns the mask."""
    hh = m.hh
    back = (hh.status == EXITED) & (hh.exit_year < m.year) & ~meets_standard(m)
    hh.status[back] = POOR
    return back


def new_entrants(m: PovertyModel) -> np.ndarray:
    """Near-poor households registered as poor this year; returns the mask."""
    hh = m.hh
    u = m.streams.relapse.random(len(hh))
    enter = (hh.status == NEAR) & (hh.net < m.line) & (u < m.p.relapse.registration_rate)
    hh.status[enter] = POOR
    hh.registered_year[enter] = m.year
    return enter
