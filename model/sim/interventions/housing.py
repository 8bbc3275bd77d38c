"""危房改造: renovation of dilapidated houses where households stay.

For registered households without a safe house outside harsh locations (those are relocated).
The house is safe ``build_years`` after enrolment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tuopin.scenario import schema
from tuopin.sim.interventions.base import Intervention

if TYPE_CHECKING:
    from tuopin.sim.model import PovertyModel


class Housing(Intervention[schema.Housing]):
    name = "housing"

    def eligible(self, m: PovertyModel) -> np.ndarray:
        return ~m.hh.house_ok & ~m.hh.harsh

    def apply(self, m: PovertyModel, active: np.ndarray) -> None:
        m.hh.house_ok[self.completes_this_year(m, self.p.build_years)] = True
