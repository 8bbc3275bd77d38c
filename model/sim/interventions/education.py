"""发展教育脱贫: fee waivers, stipends and vocational training.

For households with children in school. While active, school costs (因学) no longer burden the
household; the schooling condition of 三保障 (no dropout) is met for good once enrolled
(控辍保学). Annual cost is per student.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tuopin.scenario import schema
from tuopin.sim.interventions.base import Intervention

if TYPE_CHECKING:
    from tuopin.sim.model import PovertyModel


class Education(Intervention[schema.Education]):
    name = "education"

    def eligible(self, m: PovertyModel) -> np.ndarray:
        return m.hh.students > 0

    def units(self, m: PovertyModel, idx: np.ndarray) -> np.ndarray:
        return m.hh.students[idx]
