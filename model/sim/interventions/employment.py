"""就业脱贫: labour transfer, training and public-welfare jobs.

For households with labour. A placement succeeds with ``placement_prob``; one member then earns
``wage`` a year at once (no ramp-up), shared over the household. In a year with a job-loss shock
that income is lost; the job is found again the next year. Once support ends the household keeps
``kept_after_support`` of it (public-welfare posts end). A failed placement can be tried again
``retry_after_years`` later.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tuopin.scenario import schema
from tuopin.sim.income import shocked
from tuopin.sim.interventions.base import Intervention

if TYPE_CHECKING:
    from tuopin.sim.model import PovertyModel


class Employment(Intervention[schema.Employment]):
    name = "employment"
    draws = 1

    def eligible(self, m: PovertyModel) -> np.ndarray:
        return m.hh.labour > 0

    def enrol(self, m: PovertyModel, idx: np.ndarray, u: np.ndarray) -> None:
        placed = u[0] < self.p.placement_prob
        m.hh.job_wage[idx] = np.where(placed, self.p.wage / m.hh.size[idx], 0.0)

    def failed(self, m: PovertyModel) -> np.ndarray:
        return self.enrolled(m) & (m.hh.job_wage == 0)

    def income(self, m: PovertyModel, active: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        paid = np.flatnonzero(self.enrolled(m))
        wage = m.hh.job_wage[paid] * self.continuing(m, at=paid)
        return paid, wage, wage * ~shocked(m, "job loss", wage > 0, m.p.economy.job_loss_rate, at=paid)
