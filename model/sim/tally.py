"""The year's people counts in one pass: real people by county and year-end state (count-weighted tallies).

A year reports some twenty counts of real people (exits, relapses, the poor at the end, the
county indicators of the exit rule, ...), each the weighted sum over the households some mask
selects. Rather than gathering the selected households once per count, each household's state
is coded in a few bits and its real people (``Households.real_people``) are added into one
table, ``people[county, code]``, in one weighted ``bincount``; every count is then a sum of a
few of the table's columns. A code (``CODES`` of them) holds:

* ``STATUS``: near-poor, registered poor or exited (``agents``), at the time of the count;
* ``MISSED`` and ``WRONG``: the 漏评 and 错退 flags of the village and county assessment;
* ``EVENT``: what happened to the household this year: nothing, exited on the check
  (``CHECKED``), declared exited under target pressure (``DECLARED``), relapsed, entered. A
  household has at most one (a household exited this year cannot relapse in it, see ``relapse``).

Four more marks are counted for the whole population only, in a table of 16 (``MARKS``): lifted
at least once, on the year's list, flagged and helped by monitoring.

A county's total is added in household order (``bincount``'s, and the numba kernel's for a
national population, ``compiled.tally``: the same sums), then over the codes; a national total over
the counties. At scale 1 every weight is 1 and every count a whole number, exact in any order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from tuopin.sim.kernels import kernels

if TYPE_CHECKING:
    from tuopin.sim.model import PovertyModel

NONE, CHECKED, DECLARED, RELAPSED, ENTERED = range(5)
"""The year's events (``EVENT``)."""
CODES = 3 * 2 * 2 * 5
"""Codes per county: status x missed x wrongly exited x event."""
_code = np.arange(CODES)
STATUS, MISSED, WRONG, EVENT = _code // 20, (_code // 10) % 2 == 1, (_code // 5) % 2 == 1, _code % 5
"""What each code stands for (index arrays over the codes, to select codes with)."""
EXITED_NOW = (EVENT == CHECKED) | (EVENT == DECLARED)

LIFTED, LISTED, FLAGGED, HELPED = 1, 2, 4, 8
"""The marks counted for the whole population (bits of a ``MARKS`` code)."""
MARKS = 16


@dataclass
class Tally:
    """Real people (weighted) by county and code, ``people`` (counties x ``CODES``), and by
    marks, ``marked`` (``MARKS``)."""

    people: np.ndarray
    marked: np.ndarray

    def county(self, codes: np.ndarray) -> np.ndarray:
        """Real people per county in the households whose code ``codes`` (a mask over the codes) selects."""
        return self.people[:, codes].sum(axis=1)

    def total(self, codes: np.ndarray) -> float:
        """Real people in the households whose code ``codes`` selects."""
        return float(self.county(codes).sum())

    def with_mark(self, mark: int) -> float:
        """Real people in the households with ``mark`` (``LIFTED``, ``LISTED``, ...)."""
        return float(self.marked[(np.arange(MARKS) & mark) != 0].sum())


def count(m: PovertyModel, exited: np.ndarray | None = None, paper: np.ndarray | None = None,
          relapsed: np.ndarray | None = None, entered: np.ndarray | None = None,
          listed: np.ndarray | None = None, flagged: np.ndarray | None = None,
          helped: np.ndarray | None = None) -> Tally:
    """The households' tally now: their status and flags, with this year's events (masks:
    ``exited`` including the declared ``paper`` ones, ``relapsed``, ``entered``) and marks
    (``m.lifted``, and masks ``listed``, ``flagged``, ``helped``) where given (none: nobody)."""
    hh, n = m.hh, len(m.counties)
    events = (exited, paper, relapsed, entered)
    marks = (listed, flagged, helped)
    real = hh.real_people()
    fast = kernels(len(hh))
    if fast is not None:
        none = np.zeros(len(hh), dtype=bool)
        given = lambda masks: (none if x is None else x for x in masks)  # noqa: E731
        people, marked = fast.tally(hh.county, hh.status, hh.missed, hh.wrongly_exited, *given(events), m.lifted,
                                    *given(marks), real, n)
        return Tally(people.reshape(n, CODES), marked)
    code = hh.status.astype(np.uint8)
    code *= np.uint8(2)
    code += hh.missed
    code *= np.uint8(2)
    code += hh.wrongly_exited
    code *= np.uint8(5)
    for mask, step in zip(events, (1, 1, 3, 4), strict=True):  # exited 1, declared 2, relapsed 3, entered 4
        if mask is not None:
            code += np.multiply(mask.view(np.uint8), np.uint8(step))
    at = hh.county.astype(np.intp)
    at *= CODES
    at += code
    del code
    people = np.bincount(at, weights=real, minlength=n * CODES).reshape(n, CODES)
    del at
    mark = m.lifted.view(np.uint8).copy()  # LIFTED is 1
    for mask, bit in zip(marks, (LISTED, FLAGGED, HELPED), strict=True):
        if mask is not None:
            mark |= np.multiply(mask.view(np.uint8), np.uint8(bit))
    return Tally(people, np.bincount(mark, weights=real, minlength=MARKS))
