"""发展教育脱贫: fee waivers, stipends and vocational training.

For households with children in school. While active, school costs (因学) no longer burden the
household; the schooling condition of 三保障 (no dropout) is met for good once enrolled
(控辍保学). Annual cost is per student.
"""

from __future__ import annotations

from tuopin.sim.interventions.base import Intervention


class Education(Intervention):
    name = "education"

    def eligible(self, m):
        return m.hh.students > 0

    def units(self, m, idx):
        return m.hh.students[idx]
