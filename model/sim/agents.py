"""The agents: households as columns of numpy arrays, villages and counties as small tables.

Households are hundreds of thousands, so each attribute is one array with a row per household
(the Starsim way), and every rule is written over whole arrays. Villages and counties are
hundreds, held the same way so that incidence is one ``bincount``.

Weights (cluster sampling, see ``population.py``): at a scale below 1 only a sample of each
county's villages is simulated, each whole; a simulated village stands for ``Villages.weight``
real ones and each of its households for ``Households.weight`` real households (its village's
weight, calibrated to the county's known poor and near-poor people). Every total in real people
or yuan is a weighted sum; a register is simulated whole (weight 1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields

import numpy as np

from tuopin.scenario.schema import BATCHES, CAUSES
from tuopin.sim.keyed import key_order

NEAR, POOR, EXITED = 0, 1, 2
"""Household status: near-poor (边缘户, not registered), registered poor, exited."""

CAUSE_BIT: dict[str, int] = {name: 1 << i for i, name in enumerate(CAUSES)}
"""Bit of each poverty cause in ``Households.causes``."""

BATCH_INDEX: dict[str, int] = {name: i for i, name in enumerate(BATCHES)}
NOT_YET = np.int16(-1)


@dataclass
class Households:
    """One row per household. Incomes are per capita, yuan per year, current prices."""

    county: np.ndarray  # int16, index into the county table
    village: np.ndarray  # int32, index into the village table
    size: np.ndarray  # int16, members
    labour: np.ndarray  # int16, able-bodied members
    students: np.ndarray  # int16, children in school
    causes: np.ndarray  # uint16 bitmask of CAUSE_BIT
    harsh: np.ndarray  # bool, lives in a harsh/remote place (relocation candidate)
    eco_zone: np.ndarray  # bool, in an ecological protection zone
    house_ok: np.ndarray  # bool, safe house
    insured: np.ndarray  # bool, basic medical insurance
    status: np.ndarray  # int8: NEAR, POOR or EXITED
    market: np.ndarray  # float64, market income per capita before shocks
    industry_gain: np.ndarray  # float64, full-ramp industry income per capita (0 if none)
    job_wage: np.ndarray  # float64, employment income per capita when the job holds
    followup_gain: np.ndarray  # float64, post-relocation job income per capita
    enrolled: np.ndarray  # int16 [batch, household]: year enrolled, -1 if never
    registered_year: np.ndarray  # int16, year registered as poor (-1 never)
    exit_year: np.ndarray  # int16, year of the latest exit (-1 never)
    paper_exit: np.ndarray  # bool, latest exit declared under target pressure
    net: np.ndarray  # float64, net income per capita this year (market income before the first)
    weight: np.ndarray  # float64, real households this simulated household stands for (calibrated village weight)
    wrongly_exited: np.ndarray  # bool, 错退: declared exited without meeting the standard (set by the assessment)
    missed: np.ndarray  # bool, 漏评: below the standard but not registered (set by the assessment)
    key: np.ndarray  # uint64, the household's stable key: its random numbers are keyed by it (``keyed.py``)
    stable: np.ndarray = field(default_factory=lambda: np.zeros(0))  # float64, stable income (see income.py)

    def __post_init__(self) -> None:
        self._derived: dict[str, tuple[tuple[np.ndarray, ...], np.ndarray]] = {}  # what ``_kept`` made, by name
        if len(self.stable) != len(self.net):  # not given: the first year's net income
            self.stable = self.net.copy()

    @classmethod
    def register(cls, *, county: np.ndarray, village: np.ndarray, size: np.ndarray, labour: np.ndarray,
                 students: np.ndarray, causes: np.ndarray, harsh: np.ndarray, eco_zone: np.ndarray,
                 house_ok: np.ndarray, insured: np.ndarray, status: np.ndarray, market: np.ndarray,
                 first_year: int, key: np.ndarray, weight: np.ndarray | None = None) -> Households:
        """A register before the first simulated year: the households as drawn or read (``market``
        is per-capita income of the registration year), nothing received, nobody exited yet; the
        registered poor registered in the year before ``first_year``. ``weight``: the real
        households each stands for (default 1: a register simulated whole); ``key`` each one's
        stable key (``keyed.py``); no one flagged wrongly exited or missed."""
        n = len(size)
        return cls(
            county=county, village=village, size=size, labour=labour, students=students, causes=causes,
            harsh=harsh, eco_zone=eco_zone, house_ok=house_ok, insured=insured, status=status,
            market=np.array(market, dtype=np.float64), industry_gain=np.zeros(n), job_wage=np.zeros(n),
            followup_gain=np.zeros(n), enrolled=np.full((len(BATCHES), n), NOT_YET, dtype=np.int16),
            registered_year=np.where(status == NEAR, NOT_YET, first_year - 1).astype(np.int16),
            exit_year=np.full(n, NOT_YET, dtype=np.int16), paper_exit=np.zeros(n, dtype=bool),
            net=np.array(market, dtype=np.float64),
            weight=np.ones(n) if weight is None else np.asarray(weight, dtype=np.float64),
            wrongly_exited=np.zeros(n, dtype=bool), missed=np.zeros(n, dtype=bool),
            key=np.asarray(key, dtype=np.uint64),
        )

    def __len__(self) -> int:
        return len(self.size)

    @property
    def nbytes(self) -> int:
        """Bytes of household state."""
        return sum(getattr(self, f.name).nbytes for f in fields(self))

    def select(self, rows: np.ndarray) -> Households:
        """The households at ``rows`` (indices, in that order, or a mask) as a new register: every
        column taken (the enrolment table by its columns)."""
        return Households(**{f.name: getattr(self, f.name)[..., rows] for f in fields(self)})

    def has_cause(self, name: str) -> np.ndarray:
        """Mask of households with this poverty cause."""
        return (self.causes & CAUSE_BIT[name]) != 0

    def is_enrolled(self, batch: str) -> np.ndarray:
        """Mask of households that ever received this batch."""
        return self.enrolled[BATCH_INDEX[batch]] >= 0

    def people(self, mask: np.ndarray) -> float:
        """Real people (weighted) in the households selected by a mask (gathered by ``np.compress``,
        a few times faster than boolean indexing, which branches on every element: same sum)."""
        return float(np.compress(mask, self.real_people()).sum())

    def village_people(self, n: int) -> np.ndarray:
        """Members of the simulated households in each of ``n`` villages (unweighted), kept while
        ``village`` and ``size`` are the same arrays (the year never changes them)."""
        return self._kept(f"village people {n}", (self.village, self.size),
                          lambda: np.bincount(self.village, weights=self.size, minlength=n))

    def real_people(self) -> np.ndarray:
        """Real people each simulated household stands for (members x weight), kept while ``size``
        and ``weight`` are the same arrays (the year never changes them)."""
        return self._kept("real people", (self.size, self.weight), lambda: self.size * self.weight)

    def _kept(self, name: str, sources: tuple[np.ndarray, ...], make: Callable[[], np.ndarray]) -> np.ndarray:
        """``make()``, computed once and kept under ``name`` while ``sources`` are the same array
        objects (held, so that a new array can never pass for an old one)."""
        kept = self._derived.get(name)
        if kept is None or any(a is not b for a, b in zip(kept[0], sources, strict=True)):
            kept = self._derived[name] = (sources, make())
        return kept[1]


@dataclass
class Villages:
    """One row per village; poor villages (贫困村) are the ones that can exit (摘帽)."""

    county: np.ndarray  # int16
    population: np.ndarray  # float64, all residents (poor or not) of this one village
    poor_village: np.ndarray  # bool
    infra_done: np.ndarray  # bool, basic infrastructure in place
    exit_year: np.ndarray  # int16, -1 not exited
    weight: np.ndarray  # float64, real villages this simulated one stands for (its stratum's N / n)
    threshold: np.ndarray  # float64, its incidence threshold (by its county's region)
    key: np.ndarray  # uint64, the village's stable key (county, stratum, place in it): see ``keyed.py``

    def __len__(self) -> int:
        return len(self.county)


@dataclass
class Counties:
    """One row per county; names in Chinese and English."""

    name: list[str]
    name_en: list[str]
    rural_population: np.ndarray  # float64, real people
    exit_year: np.ndarray  # int16, year the hat came off (exit granted), -1 not exited
    first_qualified_year: np.ndarray  # int16, first year-end the county met the exit rule, -1 never
    threshold: np.ndarray  # float64, the county's incidence threshold (2% east and central, 3% west)
    poor_county: np.ndarray  # bool, a poor county (贫困县) that can take off the hat

    def __len__(self) -> int:
        return len(self.name)


Population = tuple[Households, Villages, Counties]
"""A register: its households, villages and counties."""


def in_key_order(hh: Households) -> Households:
    """The households in the order of their keys (``Households.key``): ``hh`` itself when they
    already are, else a reordered copy. Queues break ties by this order, so a household's fate
    does not depend on the order of a register's rows, and removing households from a register
    keeps the others' order."""
    if len(hh) < 2 or bool(np.all(hh.key[1:] > hh.key[:-1])):
        return hh
    return hh.select(key_order(hh.key))
