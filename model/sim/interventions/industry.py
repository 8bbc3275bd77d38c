"""发展生产脱贫: specialty farming, cooperatives, asset-income shares, microcredit.

For households with labour. Income starts small and ramps up over ``ramp_years`` (orchards take
years); a share ``1 - success_prob`` of projects fail. Each year a market shock can take
``market_loss`` of it; while the household is supported, agricultural insurance pays back
``insurance_cover`` of that loss. Once support ends the household keeps ``kept_after_support``
of the income (its own orchard or herd; dividends and contracts stop). A failed project can be
tried again ``retry_after_years`` later.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.special import ndtri

from tuopin.scenario import schema
from tuopin.sim.income import shocked
from tuopin.sim.interventions.base import Intervention

if TYPE_CHECKING:
    from tuopin.sim.model import PovertyModel


class Industry(Intervention[schema.Industry]):
    name = "industry"
    draws = 2

    def eligible(self, m: PovertyModel) -> np.ndarray:
        return m.hh.labour > 0

    def enrol(self, m: PovertyModel, idx: np.ndarray, u: np.ndarray) -> None:
        success = u[0] < self.p.success_prob
        sigma = self.p.gain_sigma
        spread = np.exp(sigma * ndtri(u[1]) - sigma**2 / 2)
        m.hh.industry_gain[idx] = np.where(success, self.p.gain_per_capita * spread, 0.0)

    def failed(self, m: PovertyModel) -> np.ndarray:
        return self.enrolled(m) & (m.hh.industry_gain == 0)

    def income(self, m: PovertyModel, active: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        hh, e = m.hh, m.p.economy
        supported = self.supported(m)
        at = np.flatnonzero(self.enrolled(m))  # the others earn nothing from it
        years_in = m.year - hh.enrolled[self.row, at] + 1
        ramp = np.clip(years_in / self.p.ramp_years, 0.0, 1.0)
        gain = hh.industry_gain[at] * ramp * self.continuing(m, supported=supported[at])
        loss = e.market_loss * shocked(m, "market shock", gain > 0, e.market_shock_rate, at=at)
        insured_loss = np.where(supported[at], loss * (1 - m.p.relapse.insurance_cover), loss)
        return at, gain, gain * (1 - insured_loss)
