"""生态补偿脱贫: 退耕还林 payments and forest-ranger jobs in ecological zones.

A steady transfer: each funded year the household receives ``annual_cost_per_household`` yuan
(the cost is the payment). No market risk, and it continues after exit (``permanent``).
"""

from __future__ import annotations

from tuopin.sim.interventions.base import Intervention


class Ecology(Intervention):
    name = "ecology"
    permanent = True

    def eligible(self, m):
        return m.hh.eco_zone

    def income(self, m, active, stable=False):
        return active * (self.p.annual_cost_per_household / m.hh.size)
