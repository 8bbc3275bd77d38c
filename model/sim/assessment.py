"""The annual exit assessment (贫困退出机制, 2016) as a process, and declared exits under pressure.

1. **Pre-exit list** (``pre_exit_list``, at the start of the year): registered poor households
   whose stable income last year was at least ``list_income_ratio`` times this year's line,
   highest first. The plan's quota steers the list, not the count: when fewer
   qualify than the year's target, the next-closest households are added until the listed
   people reach it (they get the help, and the checks, first).
2. **Intensified help** (``intensified_help``, after the batches): listed households whose
   stable income is still under the bar get ``help_per_capita`` more of it (consumption aid, a
   public-welfare post, an industry award), in list order while money lasts.
3. **兜底脱贫** (``with_floor_entrants``): the year's plan lifts the households it brings onto the
   social floor (低保 兜底一批) in that year, so the village lists them too: poor households the
   floor covered for the first time this year join the end of the list, after the help. Their
   stable income is the floor's; they exit this year if the check finds it at the bar and their
   conditions met, not a year later (the list itself is drawn before the floor's intake is known).
4. **Year-end check** (``assess``): listed households are checked, in list order, up to
   ``verification_capacity`` people. A household exits when the check finds its *stable*
   income at or above the line times ``1 + exit_margin`` and 两不愁三保障 holds (a safe house,
   medical insurance, no child out of school for cost). The check measures stable income with a
   log-normal error (``measurement_error``), so some exits are wrong (错退: true stable income
   under the line) and some who qualify are missed. A place with more qualifying households
   exits more, one with fewer falls short: nothing caps or fixes the count.
5. **Target pressure** (数字脱贫): when checked exits fall short of the year's target, a share
   ``target_pressure`` of the shortfall is filled by declaring listed households exited that
   failed the check: those within ``pressure_band`` below the line, closest first. They are
   flagged ``paper_exit`` (and counted among the wrongly exited when under the line).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tuopin.sim.agents import BATCH_INDEX, EXITED, POOR
from tuopin.sim.funding import ordered_front, room, stable_order

FLOOR = BATCH_INDEX["social_floor"]

if TYPE_CHECKING:
    from tuopin.sim.funding import Ledger
    from tuopin.sim.model import PovertyModel, ReplicateModel

HELP = "pre_exit_help"
"""The ledger item intensified help is paid from (the general pool)."""


def check_error(m: ReplicateModel, keys: np.ndarray) -> np.ndarray:
    """This year's check error (standard normal) of the households of ``keys``: keyed by household
    and year (``keyed.py``)."""
    return m.draws.normal(keys, "check", m.year)


def conditions(m: PovertyModel) -> np.ndarray:
    """两不愁三保障 beyond income: a safe house, insurance, no child out of school for cost."""
    hh = m.hh
    schooling = ~hh.has_cause("school") | (hh.students == 0) | (hh.enrolled[BATCH_INDEX["education"]] >= 0)
    return hh.house_ok & hh.insured & schooling


def meets_standard(m: PovertyModel) -> np.ndarray:
    """Households meeting the exit standard this year: stable income at the line, every condition."""
    return (m.hh.stable >= m.line) & conditions(m)


def bar(m: PovertyModel) -> float:
    """The stable income a household must show to exit this year."""
    return m.line * (1 + m.p.assessment.exit_margin)


def helped_mask(n: int, idx: np.ndarray) -> np.ndarray:
    """A mask of ``n`` households selecting ``idx``."""
    mask = np.zeros(n, dtype=bool)
    mask[idx] = True
    return mask


def pre_exit_list(m: PovertyModel) -> np.ndarray:
    """The year's pre-exit list: indices of registered poor households, in list order (see module doc)."""
    hh, a = m.hh, m.p.assessment
    idx = np.flatnonzero(hh.status == POOR)
    qualifying = int((hh.stable[idx] >= a.list_income_ratio * m.line).sum())  # all ahead of the rest
    quota = m.target_exits()  # real people
    people = hh.real_people()[idx]
    front = ordered_front(-hh.stable[idx], people, quota - 1e-9, at_least=qualifying)
    idx, people = idx[front], people[front]
    by_quota = int(np.searchsorted(np.cumsum(people), quota - 1e-9, side="left")) + 1 if quota > 0 else 0
    return idx[: max(qualifying, min(by_quota, len(idx)))]


def with_floor_entrants(m: PovertyModel, listed: np.ndarray) -> np.ndarray:
    """The list the year-end check works through: the pre-exit list, then the registered poor
    households the social floor covered for the first time this year and not already listed,
    highest stable income first (see module doc, 兜底脱贫)."""
    hh = m.hh
    new = (hh.enrolled[FLOOR] == m.year) & (hh.status == POOR)
    new[listed] = False
    idx = np.flatnonzero(new)
    return np.concatenate([listed, idx[stable_order(-hh.stable[idx])]])


def intensified_help(m: PovertyModel, listed: np.ndarray, ledger: Ledger) -> float:
    """Help listed households still under the bar, in list order within money; returns people helped."""
    hh, a = m.hh, m.p.assessment
    if a.help_per_capita <= 0 or len(listed) == 0:
        return 0
    below = listed[(hh.stable[listed] < bar(m)) & (hh.status[listed] == POOR)]
    n = ledger.fund_queue(HELP, a.help_per_capita * hh.real_people()[below])  # real yuan
    helped = below[:n]
    hh.stable[helped] += a.help_per_capita
    hh.net[helped] += a.help_per_capita
    return hh.people(helped_mask(len(hh), helped))


def assess(m: PovertyModel, listed: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check the listed households and declare exits; returns (exited, declared under pressure,
    wrongly exited) masks."""
    hh, a = m.hh, m.p.assessment
    n = len(hh)
    capacity = a.verification_capacity.get(m.year, np.inf)  # real people
    checked = listed[: int(np.searchsorted(np.cumsum(hh.real_people()[listed]), room(capacity), side="right"))]
    measured = hh.stable[checked] * np.exp(a.measurement_error * check_error(m, hh.key[checked]))
    passed = checked[(measured >= bar(m)) & conditions(m)[checked]]
    honest = np.zeros(n, dtype=bool)
    honest[passed] = True
    paper = np.zeros(n, dtype=bool)
    shortfall = (m.target_exits() - hh.people(honest)) * a.target_pressure  # real people
    if shortfall > 0:
        rest = checked[~honest[checked] & (hh.stable[checked] >= (1 - a.pressure_band) * m.line)]
        k = int(np.searchsorted(np.cumsum(hh.real_people()[rest]), shortfall, side="right"))
        paper[rest[:k]] = True
    exited = honest | paper
    out = np.flatnonzero(exited)  # index arrays: boolean indexing is several times slower
    hh.status[out] = EXITED
    hh.exit_year[out] = m.year
    hh.paper_exit[out] = paper[out]
    wrong = exited & ~meets_standard(m)
    hh.wrongly_exited[out] = wrong[out]  # 错退, read by the village and county assessment
    return exited, paper, wrong
