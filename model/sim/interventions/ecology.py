"""生态补偿脱贫: 退耕还林 payments and forest-ranger jobs in ecological zones.

A steady transfer: each funded year the household receives ``annual_cost_per_household`` yuan
(the cost is the payment). No market risk, and it continues after exit (``permanent``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tuopin.scenario import schema
from tuopin.sim.interventions.base import Intervention

if TYPE_CHECKING:
    from tuopin.sim.model import PovertyModel


class Ecology(Intervention[schema.Ecology]):
    name = "ecology"
    permanent = True

    def eligible(self, m: PovertyModel) -> np.ndarray:
        return m.hh.eco_zone

    def income(self, m: PovertyModel, active: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        paid = np.flatnonzero(active)
        amount = self.p.annual_cost_per_household / m.hh.size[paid]
        return paid, amount, amount
