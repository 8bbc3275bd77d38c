"""医疗救助 / 健康扶贫: insurance subsidies, serious-illness insurance, medical assistance.

For households poor through illness or without insurance. While active, the household is insured
and a share ``reimbursement`` of an illness's cost is covered (instead of the basic insurance
share); after support ends it falls back to basic insurance: the main route to 因病返贫.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tuopin.scenario import schema
from tuopin.sim.interventions.base import Intervention

if TYPE_CHECKING:
    from tuopin.sim.model import PovertyModel


class Medical(Intervention[schema.Medical]):
    name = "medical"

    def eligible(self, m: PovertyModel) -> np.ndarray:
        return m.hh.has_cause("illness") | ~m.hh.insured

    def apply(self, m: PovertyModel, active: np.ndarray) -> None:
        m.hh.insured |= active
