"""The interface every funded batch (五个一批, medical aid, housing) implements.

A batch says, each over whole household arrays:

* ``eligible(m)``: who may receive it (by causes, labour, location, conditions);
* ``units(m, idx)``: what its per-person costs count (people, or students for education);
* ``enrol(m, idx, u)``: what happens once, when households are enrolled (draw success, set gains);
* ``apply(m, active)`` and ``income(m, active)``: each year, its effect on the 两不愁三保障
  conditions and on per-capita income: the households it pays, with their income without this
  year's shocks (stable, see ``income.py``) and with them.

A batch whose help can fail (``failed``) may enrol a household again ``retry_after_years`` after
the failure; a batch with ``kept_after_support`` pays only that share of its income once support
has ended (脱贫不脱政策 lasts ``support_continuation_years`` after exit, and from
``no_withdrawal_from`` on, 四个不摘, no exited household's support ends).

What is the same for every batch is here: who is a candidate and who is still supported, its
costs and capacity, and ``fund_new`` (new households in targeting order, within capacity and
money), the interface it shares with village infrastructure (``funding.Funded``). The pools and
their rules are in ``funding.py``; a batch's parameters are its block of the scenario
(``p``, e.g. ``schema.Industry``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar

import numpy as np

from tuopin.scenario.schema import BatchBase
from tuopin.sim.agents import BATCH_INDEX, EXITED, NEAR, POOR
from tuopin.sim.funding import RANDOM, listed_first, queue_keys

if TYPE_CHECKING:
    from tuopin.sim.model import PovertyModel, ReplicateModel

B = TypeVar("B", bound=BatchBase)

COMMITMENTS, NEW = "commitments", "new"
"""The two lottery queues of a batch (``lottery``): its recurring commitments and its new households."""


def lottery(m: ReplicateModel, batch: str, queue: str, keys: np.ndarray) -> np.ndarray:
    """This year's lottery numbers of a batch's ``queue`` (``COMMITMENTS`` or ``NEW``), one uniform
    number per household key (keyed draws, ``keyed.py``)."""
    return m.draws.uniform(keys, batch, "lottery", queue, m.year)


def enrolment_draws(m: ReplicateModel, batch: str, keys: np.ndarray, rows: int) -> np.ndarray:
    """The uniform numbers a batch's ``enrol`` reads for the households of ``keys`` enrolled this
    year: shape (rows, households), each a function of the household, the batch, the row and the year."""
    out = np.empty((rows, len(keys)))
    for row in range(rows):
        out[row] = m.draws.uniform(keys, batch, "enrolment", row, m.year)
    return out


class Intervention(Generic[B]):
    """One batch: eligibility, costs, capacity and effects (see module doc); ``p`` its parameters."""

    name: ClassVar[str]
    permanent: ClassVar[bool] = False
    """Support goes on after the post-exit continuation period (eco payments)."""
    draws: ClassVar[int] = 0
    """Rows of uniform draws ``enrol`` reads (at most 2)."""
    scheduled: ClassVar[bool] = False
    """Capacity is a construction schedule, kept when capacity follows need."""

    def __init__(self, params: B) -> None:
        self.p = params
        self.row = BATCH_INDEX[self.name]

    @property
    def priority(self) -> int:
        """Funding order: lowest first."""
        return self.p.priority

    # -- who -----------------------------------------------------------------
    def eligible(self, m: PovertyModel) -> np.ndarray:
        """Households this batch is meant for (before status and enrolment are checked)."""
        raise NotImplementedError

    def candidates(self, m: PovertyModel) -> np.ndarray:
        """Registered poor households, eligible and not yet enrolled (or whose help failed long
        enough ago to be retried), once the batch has started."""
        if m.year < self.p.start_year:
            return np.zeros(len(m.hh), dtype=bool)
        return (m.hh.status == POOR) & ((m.hh.enrolled[self.row] < 0) | self.retried(m)) & self.eligible(m)

    def failed(self, m: PovertyModel) -> np.ndarray:
        """Enrolled households whose help came to nothing (a failed project or placement)."""
        return np.zeros(len(m.hh), dtype=bool)

    def retried(self, m: PovertyModel) -> np.ndarray:
        """Failed households that may be enrolled again this year."""
        wait = getattr(self.p, "retry_after_years", 0)
        if wait <= 0:
            return np.zeros(len(m.hh), dtype=bool)
        return self.failed(m) & (m.year - m.hh.enrolled[self.row] >= wait)

    def continuing(self, m: PovertyModel, at: np.ndarray | None = None,
                   supported: np.ndarray | None = None) -> np.ndarray | float:
        """Share of the batch's income paid this year: all while supported, else ``kept_after_support``.
        For every household, or for the households ``at`` (indices); ``supported``: their
        ``supported`` flags, when the caller has them. Nothing is read when all of it is kept."""
        kept = getattr(self.p, "kept_after_support", 1.0)
        if kept >= 1.0:
            return 1.0
        if supported is None:
            supported = self.supported(m) if at is None else self.supported(m)[at]
        share = np.array([kept, 1.0])  # by the mask, a lookup: np.where takes twice as long
        return share[supported.view(np.uint8)]

    def enrolled(self, m: PovertyModel) -> np.ndarray:
        """Households that have received this batch."""
        return m.hh.enrolled[self.row] >= 0

    def supported(self, m: PovertyModel) -> np.ndarray:
        """Enrolled households still under support: poor, or exited within the continuation period
        (any exited household from ``no_withdrawal_from`` on, 四个不摘)."""
        hh = m.hh
        r = m.p.relapse
        if self.permanent:
            return self.enrolled(m)
        if r.no_withdrawal_from is not None and m.year >= r.no_withdrawal_from:  # 四个不摘: poor or exited
            return self.enrolled(m) & (hh.status != NEAR)
        within = (hh.status == EXITED) & (m.year - hh.exit_year <= r.support_continuation_years)
        return self.enrolled(m) & ((hh.status == POOR) | within)

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

    def capacity(self, m: PovertyModel, waiting: np.ndarray) -> float:
        """Real people that can newly receive the batch this year (households count at their
        weight): the plan's schedule, or, when ``funding.capacity_rule`` is ``need``, the people
        still waiting for it (candidates, failed and relapsed ones included) spread over the plan's
        remaining years; money limits either. ``waiting``: the real people of each of this year's
        candidates (``candidates(m)``), in household order."""
        if m.p.funding.capacity_rule == "need" and not self.scheduled:
            return float(waiting.sum()) / (m.last_year - m.year + 1)
        return self.p.capacity.get(m.year, 0.0)

    def fund_new(self, m: PovertyModel) -> np.ndarray:
        """Enrol new households, those on the pre-exit list first, then in targeting order, within
        capacity and money; returns their indices."""
        hh, key = m.hh, self.p.targeting
        candidates = self.candidates(m)
        idx = np.flatnonzero(candidates)
        u = lottery(m, self.name, NEW, hh.key[idx]) if key == RANDOM else None
        keys = listed_first(queue_keys(key, hh.net[idx], m.line, u), m.on_list[idx])
        costs = (self.one_off_cost(m, idx) + self.annual_cost(m, idx)) * hh.weight[idx]  # real yuan
        people = hh.real_people()[idx]
        funded = m.ledger.fund_in_order(self.name, keys, costs, people=people, capacity=self.capacity(m, people))
        chosen = idx[funded]
        hh.enrolled[self.row, chosen] = m.year
        self.enrol(m, chosen, enrolment_draws(m, self.name, hh.key[chosen], self.draws))
        return chosen

    # -- what it does --------------------------------------------------------
    def enrol(self, m: PovertyModel, idx: np.ndarray, u: np.ndarray) -> None:
        """One-off effects at enrolment; ``u`` has ``draws`` rows of uniform draws, a column per household."""

    def apply(self, m: PovertyModel, active: np.ndarray) -> None:
        """Yearly effect on conditions (safe house, insurance, schooling)."""

    def income(self, m: PovertyModel, active: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-capita income this batch adds this year (yuan): ``(paid, stable, net)``, the
        households it pays (indices, ascending) and what each gets without this year's shocks
        and with them. Only those households are computed (a batch pays a few of them)."""
        return np.zeros(0, dtype=np.intp), np.zeros(0), np.zeros(0)

    def completes_this_year(self, m: PovertyModel, build_years: int) -> np.ndarray:
        """Enrolled households whose construction finishes this year."""
        start = m.hh.enrolled[self.row]
        return (start >= 0) & (start + build_years == m.year)
