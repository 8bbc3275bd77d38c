"""危房改造: renovation of dilapidated houses where households stay.

For registered households without a safe house outside harsh locations (those are relocated).
The house is safe ``build_years`` after enrolment.
"""

from __future__ import annotations

from tuopin.sim.interventions.base import Intervention


class Housing(Intervention):
    name = "housing"

    def eligible(self, m):
        return ~m.hh.house_ok & ~m.hh.harsh

    def apply(self, m, active):
        m.hh.house_ok[self.completes_this_year(m, self.p.build_years)] = True
