"""易地搬迁脱贫: moving households out of harsh, remote or disaster-prone places.

For registered households in harsh locations. The move completes ``build_years`` after
enrolment (construction): the house is then safe and the location no longer harsh, but a share
``farm_income_loss`` of farm income is lost with the land; a follow-up job (搬得出、稳得住、能致富)
is found with ``followup_job_prob`` and pays ``followup_gain_per_capita`` (``kept_after_support``
of it once support ends).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tuopin.scenario import schema
from tuopin.sim.income import shocked
from tuopin.sim.interventions.base import Intervention

if TYPE_CHECKING:
    from tuopin.sim.model import PovertyModel


class Relocation(Intervention[schema.Relocation]):
    name = "relocation"
    draws = 1
    scheduled = True

    def eligible(self, m: PovertyModel) -> np.ndarray:
        return m.hh.harsh

    def enrol(self, m: PovertyModel, idx: np.ndarray, u: np.ndarray) -> None:
        m.hh.followup_gain[idx] = np.where(u[0] < self.p.followup_job_prob, self.p.followup_gain_per_capita, 0.0)

    def apply(self, m: PovertyModel, active: np.ndarray) -> None:
        moved = np.flatnonzero(self.completes_this_year(m, self.p.build_years))
        hh = m.hh
        hh.house_ok[moved] = True
        hh.harsh[moved] = False
        hh.market[moved] *= 1 - self.p.farm_income_loss

    def income(self, m: PovertyModel, active: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        hh = m.hh
        paid = np.flatnonzero(self.enrolled(m) & (m.year >= hh.enrolled[self.row] + self.p.build_years))  # moved
        gain = hh.followup_gain[paid] * self.continuing(m, at=paid)
        return paid, gain, gain * ~shocked(m, "job loss", gain > 0, m.p.economy.job_loss_rate, at=paid)
