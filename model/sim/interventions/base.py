"""The interface every batch (五个一批, medical aid, housing) implements.

A batch answers four questions, each over whole household arrays:

* ``eligible(m)``: who may receive it (by causes, labour, location, conditions);
* ``units(m)``: what its per-person costs count (people, or students for education);
* ``enrol(m, idx, u)``: what happens once, when households are enrolled (draw success, set gains);
* ``apply(m, active)`` and ``income(m, active)``: each year, its effect on the 两不愁三保障
  conditions and on per-capita income, for the households it is active for.

Funding, capacity and targeting are the same for every batch and live in ``funding.py``.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from tuopin.sim.agents import BATCH_INDEX, EXITED, POOR

if TYPE_CHECKING:
    from tuopin.sim.model import PovertyModel


class Intervention:
    """One batch: eligibility, costs, capacity and effects (see module doc)."""

    name: ClassVar[str]
    permanent: ClassVar[bool] = False
    """Support goes on after the post-exit continuation period (eco payments)."""
    draws: ClassVar[int] = 0
    """Rows of uniform draws ``enrol`` reads (at most 2)."""

    def __init__(self, params: SimpleNamespace) -> None:
        self.p = params
        self.row = BATCH_INDEX[self.name]

    # -- who -----------------------------------------------------------------
    def eligible(self, m: PovertyModel) -> np.ndarray:
        """Households this batch is meant for (before status and enrolment are checked)."""
        raise NotImplementedError

    def candidates(self, m: PovertyModel) -> np.ndarray:
        """Registered poor households, eligible and not yet enrolled, once the batch has started."""
        if m.year < self.p.start_year:
            return np.zeros(len(m.hh), dtype=bool)
        return (m.hh.status == POOR) & (m.hh.enrolled[self.row] < 0) & self.eligible(m)

    def enrolled(self, m: PovertyModel) -> np.ndarray:
        """Households that have received this batch."""
        return m.hh.enrolled[self.row] >= 0

    def supported(self, m: PovertyModel) -> np.ndarray:
        """Enrolled households still under support: poor, or exited within the continuation period."""
        hh = m.hh
        keep = m.p.relapse.support_continuation_years
        within = (hh.status == EXITED) & (m.year - hh.exit_year <= keep)
        return self.enrolled(m) & ((hh.status == POOR) | within | self.permanent)

    # -- what it costs -------------------------------------------------------
    def units(self, m: PovertyModel, idx: np.ndarray) -> np.ndarray:
        """What ``annual_cost_per_person`` counts: household members by default."""
        return m.hh.size[idx]

    def one_off_cost(self, m: PovertyModel, idx: np.ndarray) -> np.ndarray:
        """Yuan spent once at enrolment, per household."""
        return self.p.cost_per_person * m.hh.size[idx] + self.p.cost_per_household

    def annual_cost(self, m: PovertyModel, idx: np.ndarray) -> np.ndarray:
        """Yuan spent each supported year, per household."""
        return self.p.annual_cost_per_person * self.units(m, idx) + self.p.annual_cost_per_household

    def capacity(self, m: PovertyModel) -> float:
        """Real people that can newly receive the batch this year (households count at their weight)."""
        return self.p.capacity.get(m.year, 0.0)

    # -- what it does --------------------------------------------------------
    def enrol(self, m: PovertyModel, idx: np.ndarray, u: np.ndarray) -> None:
        """One-off effects at enrolment; ``u`` has ``draws`` rows of uniform draws, a column per household."""

    def apply(self, m: PovertyModel, active: np.ndarray) -> None:
        """Yearly effect on conditions (safe house, insurance, schooling)."""

    def income(self, m: PovertyModel, active: np.ndarray) -> np.ndarray | float:
        """Per-capita income this batch adds this year (yuan)."""
        return 0.0

    def completes_this_year(self, m: PovertyModel, build_years: int) -> np.ndarray:
        """Enrolled households whose construction finishes this year."""
        start = m.hh.enrolled[self.row]
        return (start >= 0) & (start + build_years == m.year)
