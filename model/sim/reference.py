"""The per-agent reference: the same household rules written the usual Mesa way.

One ``HouseholdAgent(mesa.Agent)`` object per household, each with its own ``draw_shocks`` and
``step``; the model runs a year as stages over its ``AgentSet`` (``shuffle_do``). Every rule is
the product model's (``loop.py`` and the modules it calls), rewritten per household; the random
numbers are the product model's keyed draws (``keyed.py``: a function of the seed, the household
and the year), each agent reading its own, so the order of ``shuffle_do`` does not matter. It is a yardstick for speed and a second reading of the rules
(``tests/test_reference.py`` checks that both give the same distributions), not a product: use
``PovertyModel`` for real runs.

The year, as in ``loop.py``:

1. ``shuffle_do("draw_shocks")``: the permanent part of market income grows, this year's
   transitory part and shocks are drawn; the pre-exit list is drawn at model level.
2. The funding queues, at model level: each batch's recurring costs for households it still
   supports, then, in priority order, new households (and village infrastructure), each batch's
   queue with listed households first, then sorted by its targeting key, funded whole until
   money or capacity runs out.
3. ``shuffle_do("step")``: each household applies its batches' effects and computes its net and
   stable income.
4. At model level: intensified help for the list, the social floor by means, the year-end check
   and declared exits, monitoring and its help; then ``shuffle_do("update")``: each household's
   register update (relapse or new registration); then village and county exit.

Totals are real people and yuan: each household counts, costs and takes capacity at its
sampling weight (``Households.weight``), as in the product model.

With the same seed it starts from the same register, draws the same uncertain parameters and
reads the same keyed draws as ``PovertyModel``, so a paired comparison differs only where the
two readings of the rules differ (and by the rounding of sums taken in another order).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import mesa
import numpy as np
from scipy.special import ndtri

from tuopin.scenario import INFRASTRUCTURE, Scenario
from tuopin.sim.agents import CAUSE_BIT, EXITED, NEAR, POOR, Households, Population
from tuopin.sim.assessment import check_error
from tuopin.sim.funding import priority_order, room
from tuopin.sim.income import NORMAL_SHOCKS, UNIFORM_SHOCKS, shock_draw
from tuopin.sim.interventions import FUNDED as FUNDED_CLASSES
from tuopin.sim.interventions.base import COMMITMENTS, NEW, enrolment_draws, lottery
from tuopin.sim.interventions.social_floor import floor_level
from tuopin.sim.model import ReplicateModel
from tuopin.sim.relapse import registration_draw

FUNDED = tuple(cls.name for cls in FUNDED_CLASSES)
"""The batches drawing on the budget, in the product model's order (its ``FUNDED``)."""
ILLNESS = CAUSE_BIT["illness"]
SCHOOL = CAUSE_BIT["school"]


class HouseholdAgent(mesa.Agent):
    """One household: its members, conditions, incomes, support and status."""

    model: ReferenceModel

    def __init__(self, model: ReferenceModel, hh: Households, i: int) -> None:
        super().__init__(model)
        self.row = i  # its place in the model's household arrays, where its yearly draws are
        self.key = hh.key[i:i + 1]  # its key, as the one-element array the keyed draws take
        self.county = int(hh.county[i])
        self.village = int(hh.village[i])
        self.size = int(hh.size[i])
        self.weight = float(hh.weight[i])
        self.wrongly_exited = bool(hh.wrongly_exited[i])
        self.missed = bool(hh.missed[i])
        self.labour = int(hh.labour[i])
        self.students = int(hh.students[i])
        self.causes = int(hh.causes[i])
        self.harsh = bool(hh.harsh[i])
        self.eco_zone = bool(hh.eco_zone[i])
        self.house_ok = bool(hh.house_ok[i])
        self.insured = bool(hh.insured[i])
        self.status = int(hh.status[i])
        self.market = float(hh.market[i])
        self.net = float(hh.net[i])
        self.stable = float(hh.stable[i])
        self.industry_gain = 0.0
        self.job_wage = 0.0
        self.followup_gain = 0.0
        self.enrolled: dict[str, int] = {}
        self.registered_year = int(hh.registered_year[i])
        self.exit_year = int(hh.exit_year[i])
        self.paper_exit = False
        self.ill = self.disaster = self.market_shock = self.job_lost = False
        self.transitory, self.check = 1.0, 0.0
        self.active: set[str] = set()
        self.on_list = False
        self.outcome = ""  # this year's: "exit", "relapse", "entry" or ""

    # -- 1. income dynamics and shocks ---------------------------------------
    def draw_shocks(self) -> None:
        """Grow the permanent part of market income, draw this year's transitory part, the
        illness, disaster, market and job shocks, and the year-end check's error."""
        e = self.model.p.economy
        r = {name: float(values[self.row]) for name, values in self.model.draws_of_year.items()}
        sp, st = e.permanent_volatility, e.income_volatility
        self.market *= math.exp(e.income_growth + sp * r["permanent income"] - sp**2 / 2)
        self.transitory = math.exp(st * r["transitory income"] - st**2 / 2)
        self.check = r["check"]
        self.ill = r["illness"] < (e.illness_rate if self.causes & ILLNESS else e.illness_rate_other)
        self.disaster = r["disaster"] < e.disaster_rate
        if self.disaster and r["house damage"] < e.disaster_house_damage:
            self.house_ok = False
        self.market_shock = r["market shock"] < e.market_shock_rate
        self.job_lost = r["job loss"] < e.job_loss_rate

    # -- 2. who a batch is for, what it costs --------------------------------
    def eligible(self, batch: str) -> bool:
        """Whether this household is who the batch is meant for."""
        if batch in ("industry", "employment"):
            return self.labour > 0
        if batch == "relocation":
            return self.harsh
        if batch == "ecology":
            return self.eco_zone
        if batch == "education":
            return self.students > 0
        if batch == "medical":
            return bool(self.causes & ILLNESS) or not self.insured
        return not self.house_ok and not self.harsh  # housing

    def failed(self, batch: str) -> bool:
        """Whether this household's project or placement came to nothing."""
        if batch == "industry":
            return batch in self.enrolled and self.industry_gain == 0
        if batch == "employment":
            return batch in self.enrolled and self.job_wage == 0
        return False

    def is_candidate(self, batch: str, year: int, start_year: int) -> bool:
        """Registered poor, eligible, not yet enrolled (or failed long enough ago), once the batch has started."""
        wait = getattr(getattr(self.model.p.batches, batch), "retry_after_years", 0)
        retry = wait > 0 and self.failed(batch) and year - self.enrolled[batch] >= wait
        return (year >= start_year and self.status == POOR and (batch not in self.enrolled or retry)
                and self.eligible(batch))

    def is_supported(self, batch: str) -> bool:
        """Enrolled and still supported: poor, or exited within the continuation period (eco: always)."""
        if batch not in self.enrolled:
            return False
        if self.status == POOR or batch == "ecology":
            return True
        r, year = self.model.p.relapse, self.model.year
        kept = r.no_withdrawal_from is not None and year >= r.no_withdrawal_from  # 四个不摘
        return self.status == EXITED and (year - self.exit_year <= r.support_continuation_years or kept)

    def annual_cost(self, batch: str) -> float:
        """Yuan per supported year (education counts students, the others members)."""
        b = getattr(self.model.p.batches, batch)
        units = self.students if batch == "education" else self.size
        return b.annual_cost_per_person * units + b.annual_cost_per_household

    def one_off_cost(self, batch: str) -> float:
        """Yuan once, at enrolment."""
        b = getattr(self.model.p.batches, batch)
        return b.cost_per_person * self.size + b.cost_per_household

    def enrolment_cost(self, batch: str) -> float:
        """Yuan for a new household: once at enrolment plus its first supported year."""
        return self.one_off_cost(batch) + self.annual_cost(batch)

    def enrol(self, batch: str) -> None:
        """Receive a batch: its one-off draws (project success, placement, follow-up job)."""
        m = self.model
        b = getattr(m.p.batches, batch)
        self.enrolled[batch] = m.year
        self.active.add(batch)
        u = enrolment_draws(m, batch, self.key, 2)[:, 0]
        if batch == "industry":
            spread = math.exp(b.gain_sigma * float(ndtri(u[1])) - b.gain_sigma**2 / 2)
            self.industry_gain = b.gain_per_capita * spread if u[0] < b.success_prob else 0.0
        elif batch == "employment":
            self.job_wage = b.wage / self.size if u[0] < b.placement_prob else 0.0
        elif batch == "relocation":
            self.followup_gain = b.followup_gain_per_capita if u[0] < b.followup_job_prob else 0.0

    # -- 3. effects, income, floor, assessment -------------------------------
    def kept(self, batch: str) -> float:
        """Share of a batch's income paid this year: all while supported, else ``kept_after_support``."""
        b = getattr(self.model.p.batches, batch)
        return 1.0 if self.is_supported(batch) else b.kept_after_support

    def apply_batches(self) -> tuple[float, float]:
        """Each batch's effect on conditions, then its income; returns the support per capita
        this year and without this year's shocks (stable)."""
        p, year = self.model.p, self.model.year
        support = stable = 0.0
        for batch in FUNDED:
            start = self.enrolled.get(batch, -1)
            b = getattr(p.batches, batch)
            if batch == "industry" and start >= 0:
                ramp = min(max((year - start + 1) / b.ramp_years, 0.0), 1.0)
                loss = p.economy.market_loss if self.market_shock else 0.0
                if self.is_supported(batch):
                    loss *= 1 - p.relapse.insurance_cover
                gain = self.industry_gain * ramp * self.kept(batch)
                support += gain * (1 - loss)
                stable += gain
            elif batch == "employment" and start >= 0:
                gain = self.job_wage * self.kept(batch)
                support += 0.0 if self.job_lost else gain
                stable += gain
            elif batch == "relocation" and start >= 0:
                if start + b.build_years == year:  # moves in
                    self.house_ok, self.harsh = True, False
                    self.market *= 1 - b.farm_income_loss
                if year >= start + b.build_years:
                    gain = self.followup_gain * self.kept(batch)
                    support += 0.0 if self.job_lost else gain
                    stable += gain
            elif batch == "ecology" and batch in self.active:
                support += b.annual_cost_per_household / self.size
                stable += b.annual_cost_per_household / self.size
            elif batch == "medical" and batch in self.active:
                self.insured = True
            elif batch == "housing" and start >= 0 and start + b.build_years == year:
                self.house_ok = True
        return support, stable

    def incomes(self, support: float, stable_support: float) -> tuple[float, float]:
        """Net income (farm after its transitory part and a disaster, plus support, less illness
        and school costs) and stable income (the permanent part plus stable support, less school)."""
        p = self.model.p
        e = p.economy
        farm = self.market * self.transitory * ((1 - e.disaster_loss) if self.disaster else 1.0)
        if "medical" in self.active:
            reimbursed = p.batches.medical.reimbursement
        else:
            reimbursed = e.insured_reimbursement if self.insured else 0.0
        illness = e.illness_cost * (1 - reimbursed) / self.size if self.ill else 0.0
        school = 0.0 if "education" in self.active else self.students * e.school_cost / self.size
        return farm + support - illness - school, self.market + stable_support - school

    @property
    def people(self) -> float:
        """Real people this household stands for (members times its weight)."""
        return self.size * self.weight

    def conditions(self) -> bool:
        """A safe house, insurance, and no child out of school for cost."""
        schooling = not self.causes & SCHOOL or self.students == 0 or "education" in self.enrolled
        return self.house_ok and self.insured and schooling

    def meets_standard(self) -> bool:
        """Stable income at the line and every condition."""
        return self.stable >= self.model.line and self.conditions()

    def below(self) -> bool:
        """What the register update finds: a condition lost, or stable and this year's income under the line."""
        line = self.model.line
        return not self.conditions() or (self.stable < line and self.net < line)

    def watched(self) -> bool:
        """Exited before this year, or near-poor: who monitoring watches."""
        return (self.status == EXITED and self.exit_year < self.model.year) or self.status == NEAR

    def step(self) -> None:
        """This household's year after funding: the batches' effects, net and stable income."""
        self.net, self.stable = self.incomes(*self.apply_batches())
        self.outcome = ""

    def update(self) -> None:
        """The register update after help: relapse or new registration."""
        m = self.model
        if self.status == EXITED and self.exit_year < m.year and self.below():
            self.status, self.outcome = POOR, "relapse"
        elif (self.status == NEAR and self.stable < m.line and self.net < m.line
              and registration_draw(m, self.key)[0] < m.p.relapse.registration_rate):
            self.status, self.registered_year, self.outcome = POOR, m.year, "entry"


def _real_annual_cost(a: HouseholdAgent, batch: str) -> float:
    """A household's recurring cost in real yuan: its own times its sampling weight."""
    return a.annual_cost(batch) * a.weight


def _real_enrolment_cost(a: HouseholdAgent, batch: str) -> float:
    """A new household's cost in real yuan: its own times its sampling weight."""
    return a.enrolment_cost(batch) * a.weight


class ReferenceModel(ReplicateModel):
    """The per-agent Mesa model of the same rules as ``PovertyModel`` (same arguments).

    ``step()`` is one year; ``flows`` holds the year's flows in real units (people, yuan) and
    ``records`` one such dict per year simulated.
    """

    def __init__(self, scenario: Scenario | str | Path | None = None, *, rng: Any = None,
                 overrides: dict[str, Any] | None = None, population: Population | None = None) -> None:
        # The replicate's uncertain parameters and register, drawn as PovertyModel draws them.
        super().__init__(scenario, rng=rng, overrides=overrides, population=population)
        for i in range(len(self.hh)):
            HouseholdAgent(self, self.hh, i)
        self.households: list[HouseholdAgent] = list(self.agents)  # register order, for stable queues
        infra = self.p.exit_rules.infrastructure
        self.funding_order = priority_order([*FUNDED, INFRASTRUCTURE],
                                            [*(getattr(self.p.batches, b).priority for b in FUNDED), infra.priority])
        self.flows: dict[str, float | str] = {}
        self.records: list[dict[str, float | str]] = []
        self.spending_floor = 0.0
        self.floor_new_people = 0.0
        self.listed: list[HouseholdAgent] = []
        self.draws_of_year: dict[str, np.ndarray] = {}

    # -- funding -------------------------------------------------------------
    def queue(self, agents: list[HouseholdAgent], batch: str, listed_first: bool = False) -> list[HouseholdAgent]:
        """Agents in the batch's targeting order (need, near_line or a lottery: the product
        model's lottery numbers); with ``listed_first`` (the queue of new households), households
        on the pre-exit list ahead of the rest."""
        key = getattr(self.p.batches, batch).targeting
        if key == "need":
            agents = sorted(agents, key=lambda a: a.net)
        elif key == "near_line":
            agents = sorted(agents, key=lambda a: abs(self.line - a.net))
        else:
            keys = np.concatenate([a.key for a in agents]) if agents else np.zeros(0, dtype=np.uint64)
            u = lottery(self, batch, NEW if listed_first else COMMITMENTS, keys)
            agents = [agents[i] for i in np.argsort(u, kind="stable")]
        return sorted(agents, key=lambda a: not a.on_list) if listed_first else agents

    def fund(self, item: str, queue: list[Any], cost: Callable[[Any], float],
             people: Callable[[Any], int] | None = None, capacity: float = math.inf) -> list[Any]:
        """Fund the queue from the front, whole units, until money or capacity runs out."""
        money = self.ledger.affordable(item)
        total = taken = 0.0
        funded = []
        for unit in queue:
            c = cost(unit)
            n = people(unit) if people else 0
            if total + c > money or (people and taken + n > room(capacity)):
                break
            total += c
            taken += n
            funded.append(unit)
        if funded:
            self.ledger.spend(item, total)
        return funded

    def fund_year(self) -> dict[str, int]:
        """Commitments of every batch, then new households and infrastructure in priority order."""
        p, year = self.p, self.year
        for a in self.households:
            a.active = set()
        for batch in FUNDED:
            supported = [a for a in self.households if a.is_supported(batch)]
            for a in self.fund(batch, self.queue(supported, batch), partial(_real_annual_cost, batch=batch)):
                a.active.add(batch)
        new_people = {}
        for item in self.funding_order:
            if item == INFRASTRUCTURE:
                self.villages_built = self.build_infrastructure()
                continue
            b = getattr(p.batches, item)
            cands = [a for a in self.households if a.is_candidate(item, year, b.start_year)]
            if p.funding.capacity_rule == "need" and item != "relocation":  # remaining need over the years left
                capacity = sum(a.people for a in cands) / (self.last_year - year + 1)
            else:
                capacity = b.capacity.get(year, 0.0)
            chosen = self.fund(item, self.queue(cands, item, listed_first=True),
                               partial(_real_enrolment_cost, batch=item),
                               people=lambda a: a.people, capacity=capacity)
            for a in chosen:
                a.enrol(item)
            new_people[item] = sum(a.size * a.weight for a in chosen)
        return new_people

    # -- villages and counties -----------------------------------------------
    def people_by(self, attr: str, n: int, counted: Callable[[HouseholdAgent], bool], weighted: bool) -> list[float]:
        """People of the households ``counted`` selects, by village or county (real people when weighted)."""
        out = [0.0] * n
        for a in self.households:
            if counted(a):
                out[getattr(a, attr)] += a.size * (a.weight if weighted else 1.0)
        return out

    @staticmethod
    def counted_poor(a: HouseholdAgent) -> bool:
        """Counted by the official incidence: registered poor, missed or wrongly exited."""
        return a.status == POOR or a.missed or a.wrongly_exited

    def village_incidence(self) -> list[float]:
        """Counted poor / residents, per (whole) village."""
        poor = self.people_by("village", len(self.villages), self.counted_poor, weighted=False)
        return [x / pop for x, pop in zip(poor, self.villages.population)]

    def build_infrastructure(self) -> int:
        """Lowest-incidence poor villages first, within capacity (villages) and money."""
        v, infra = self.villages, self.p.exit_rules.infrastructure
        incidence = self.village_incidence()
        todo = sorted((i for i in range(len(v)) if v.poor_village[i] and not v.infra_done[i]),
                      key=lambda i: incidence[i])
        done = self.fund(INFRASTRUCTURE, todo, lambda i: infra.cost_per_village * v.weight[i],
                         people=lambda i: v.weight[i], capacity=infra.capacity.get(self.year, 0.0))
        for i in done:
            v.infra_done[i] = True
        return sum(v.weight[i] for i in done)

    def village_qualifies(self) -> list[bool]:
        """The scenario's village exit rule (incidence or residents' mean income)."""
        rules, v = self.p.exit_rules, self.villages
        if rules.village_rule == "mean_income":
            people, income = [0.0] * len(v), [0.0] * len(v)
            for a in self.households:
                people[a.village] += a.size
                income[a.village] += a.net * a.size
            out = []
            for i in range(len(v)):
                others = max(v.population[i] - people[i], 0.0)
                residents = people[i] + others
                total = income[i] + others * rules.resident_income_ratio * self.line
                out.append((total / residents if residents > 0 else 0.0) >= (rules.village_income_threshold or {})[self.year])
            return out
        return [x < v.threshold[i] for i, x in enumerate(self.village_incidence())]

    def exit_villages_and_counties(self) -> tuple[float, int]:
        """Take off the hats that now qualify; returns (real villages, counties) exiting this year.

        A county qualifies on its weighted incidence, wrongly exited and missed shares,
        satisfaction and poor-village share, and is granted ``county_grant_lag`` years later."""
        v, c, rules = self.villages, self.counties, self.p.exit_rules
        qualifies = self.village_qualifies()
        n_villages = 0.0
        for i in range(len(v)):
            if v.poor_village[i] and v.exit_year[i] < 0 and v.infra_done[i] and qualifies[i]:
                v.exit_year[i] = self.year
                n_villages += v.weight[i]
        n = len(c)
        poor = self.people_by("county", n, self.counted_poor, weighted=True)
        exited = self.people_by("county", n, lambda a: a.status == EXITED, weighted=True)
        wrong = self.people_by("county", n, lambda a: a.status == EXITED and a.wrongly_exited, weighted=True)
        registered = self.people_by("county", n, lambda a: a.status != NEAR, weighted=True)
        missed = self.people_by("county", n, lambda a: a.status == NEAR and a.missed, weighted=True)
        n_counties = 0
        for k in range(n):
            mine = [i for i in range(len(v)) if v.county[i] == k and v.poor_village[i]]
            total = sum(v.weight[i] for i in mine)
            share = sum(v.weight[i] for i in mine if v.exit_year[i] >= 0) / total if mine else 1.0
            outside = c.rural_population[k] - registered[k]
            if (c.first_qualified_year[k] < 0 and c.poor_county[k] and poor[k] / c.rural_population[k] < c.threshold[k]
                    and (wrong[k] / exited[k] if exited[k] > 0 else 0.0) < rules.wrongly_exited_max
                    and (missed[k] / outside if outside > 0 else 0.0) < rules.missed_max
                    and rules.satisfaction > rules.satisfaction_min
                    and share >= rules.county_min_village_exit_share):
                c.first_qualified_year[k] = self.year
            if c.exit_year[k] < 0 <= c.first_qualified_year[k] and \
                    c.first_qualified_year[k] + rules.county_grant_lag == self.year:
                c.exit_year[k] = self.year
                n_counties += 1
        return n_villages, n_counties

    # -- the year ------------------------------------------------------------
    @staticmethod
    def front(queue: list[HouseholdAgent], people: float) -> list[HouseholdAgent]:
        """The households from the front of a queue whose members add up to at most ``people``."""
        out, total = [], 0.0
        for h in queue:
            if total + h.people > room(people):
                break
            total += h.people
            out.append(h)
        return out

    def pre_exit_list(self) -> list[HouseholdAgent]:
        """Poor households by last year's stable income, highest first: those above
        ``list_income_ratio`` times the line, or more until the listed people reach the quota."""
        a = self.p.assessment
        poor = sorted((h for h in self.households if h.status == POOR), key=lambda h: -h.stable)
        qualifying = sum(h.stable >= a.list_income_ratio * self.line for h in poor)
        quota = self.p.targets.exits.get(self.year, 0.0)  # real people
        by_quota, total = 0, 0.0
        if quota > 0:
            for h in poor:
                by_quota += 1
                total += h.people
                if total >= quota - 1e-9:
                    break
        return poor[: max(qualifying, by_quota)]

    def bar(self) -> float:
        """The stable income a household must show to exit this year."""
        return self.line * (1 + self.p.assessment.exit_margin)

    def intensified_help(self) -> float:
        """Listed poor households under the bar get help, in list order within money; returns people helped."""
        a = self.p.assessment
        if a.help_per_capita <= 0:
            return 0
        below = [h for h in self.listed if h.status == POOR and h.stable < self.bar()]
        helped = self.fund("pre_exit_help", below, lambda h: a.help_per_capita * h.people)
        for h in helped:
            h.stable += a.help_per_capita
            h.net += a.help_per_capita
        return sum(h.people for h in helped)

    def social_floor(self) -> None:
        """The floor by means: eligible registered households whose stable income cannot reach
        it, those already covered and then the lowest incomes up to the year's coverage."""
        f, year = self.p.batches.social_floor, self.year
        if year < f.start_year:
            return
        floor = floor_level(f.top_up_to, year) * self.line
        eligible = [h for h in self.households if h.status != NEAR and h.stable < floor and (
            h.labour == 0 or "social_floor" in h.enrolled
            or (h.status == POOR and year - h.registered_year >= f.labour_after_years))]
        have = [h for h in eligible if "social_floor" in h.enrolled]
        left = floor_level(f.coverage, year) * sum(h.people for h in eligible) - sum(h.people for h in have)
        rest = sorted((h for h in eligible if "social_floor" not in h.enrolled), key=lambda h: h.stable)
        for h in have + (self.front(rest, left) if left > 0 else []):
            gap = floor - h.stable
            h.stable += gap
            h.net += gap
            if "social_floor" not in h.enrolled:
                h.enrolled["social_floor"] = year
                self.floor_new_people += h.people
            self.spending_floor += (gap * h.size + f.annual_cost_per_household) * h.weight

    def assess(self) -> tuple[list[HouseholdAgent], list[HouseholdAgent]]:
        """Check listed households within capacity; exits, then declared exits under pressure."""
        a = self.p.assessment
        checked = self.front(self.listed, a.verification_capacity.get(self.year, math.inf))
        honest = [h for h in checked if h.stable * math.exp(a.measurement_error * h.check) >= self.bar()
                  and h.conditions()]
        shortfall = (self.p.targets.exits.get(self.year, 0.0) - sum(h.people for h in honest)) * a.target_pressure
        passed = set(honest)
        floor = (1 - a.pressure_band) * self.line
        paper = self.front([h for h in checked if h not in passed and h.stable >= floor], shortfall) \
            if shortfall > 0 else []
        for h in honest + paper:
            h.status, h.exit_year, h.paper_exit, h.outcome = EXITED, self.year, h in paper, "exit"
            h.wrongly_exited = not h.meets_standard()
        return honest + paper, paper

    def monitor(self) -> float:
        """Help flagged watched households the check would find below, lowest income first,
        within capacity and money (exited ones under the line also enter 低保); returns people helped."""
        r, line = self.p.relapse, self.line
        watch = [h for h in self.households if h.watched()]
        capacity = r.monitoring_capacity.get(self.year, 0.0) * sum(h.people for h in watch)
        flagged = [h for h in watch if min(h.stable, h.net) < r.watch_ratio * line or h.ill or h.disaster]
        queue = sorted((h for h in flagged if h.below()), key=lambda h: h.net)
        if capacity <= 0:
            return 0

        def gap(h: HouseholdAgent) -> float:
            return min(max(line - h.net, 0.0), r.help_max_per_capita) if h.stable < line else 0.0

        house = self.p.batches.housing.cost_per_household
        helped = self.fund("monitoring", queue, lambda h: (gap(h) * h.size + (0.0 if h.house_ok else house)) * h.weight,
                           people=lambda h: h.people, capacity=capacity)
        for h in helped:
            h.net += gap(h)
            h.house_ok = True
            if h.status == EXITED and h.stable < line and "social_floor" not in h.enrolled:
                h.enrolled["social_floor"] = self.year  # 低保 from next year while means stay short
        return sum(h.people for h in helped)

    def step(self) -> None:
        """One year: shocks, funding, each household's year, declared exits, villages and counties."""
        self.year += 1
        poor_start = sum(a.size * a.weight for a in self.households if a.status == POOR)
        keys = self.hh.key  # the households' keys, in the order of the agents' rows
        self.draws_of_year = {name: shock_draw(self, name, keys) for name in (*NORMAL_SHOCKS, *UNIFORM_SHOCKS)}
        self.draws_of_year["check"] = check_error(self, keys)
        self.agents.shuffle_do("draw_shocks")
        self.listed = self.pre_exit_list()
        for a in self.households:
            a.on_list = False
        for a in self.listed:
            a.on_list = True
        self.ledger.open_year(self.year)
        self.villages_built = 0
        self.spending_floor, self.floor_new_people = 0.0, 0.0
        new_people = self.fund_year()
        self.agents.shuffle_do("step")
        self.intensified_help()
        self.social_floor()
        self.listed += sorted((h for h in self.households if h.status == POOR and not h.on_list
                               and h.enrolled.get("social_floor") == self.year), key=lambda h: -h.stable)  # 兜底脱贫
        exited, paper = self.assess()
        self.monitor()
        self.agents.shuffle_do("update")
        villages_exited, counties_exited = self.exit_villages_and_counties()
        unspent, carried = self.ledger.close_year()
        people = {k: 0.0 for k in ("exit", "relapse", "entry")}
        for a in self.households:
            if a.outcome:
                people[a.outcome] += a.size * a.weight
        self.flows = {
            "year": self.year,
            "poor_start": poor_start,
            "exits": people["exit"],
            "exits_paper": sum(a.size * a.weight for a in paper),
            "relapses": people["relapse"],
            "new_entrants": people["entry"],
            "poor_end": sum(a.people for a in self.households if a.status == POOR),
            "exits_wrong": sum(h.people for h in exited if not h.meets_standard()),
            "villages_exited": villages_exited,
            "villages_built": self.villages_built,
            "counties_exited": counties_exited,
            "spending": self.ledger.total_spent,
            "spending_floor": self.spending_floor,
            "unspent": unspent,
            "carried_over": carried,
            **{f"spending_{b}": self.ledger.spent.get(b, 0.0) for b in FUNDED},
            **{f"enrolled_{b}": n for b, n in new_people.items()},
            "enrolled_social_floor": self.floor_new_people,
        }
        self.records.append(self.flows)
        self.running = self.year < self.last_year
