"""``PovertyModel``: the Mesa model. One ``step()`` is one year (see ``loop.py`` for its order)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mesa
import numpy as np
from mesa.experimental.scenarios import Scenario as MesaScenario

from tuopin.errors import UserError
from tuopin.scenario import BATCHES, Scenario, default_scenario, resolve, uncertainty
from tuopin.sim import flows, heap
from tuopin.sim.agents import Population, in_key_order
from tuopin.sim.funding import Funded, Ledger, priority_order
from tuopin.sim.income import Shocks
from tuopin.sim.interventions import FUNDED, Intervention
from tuopin.sim.keyed import Draws
from tuopin.sim.loop import simulate_year
from tuopin.sim.population import synthesize
from tuopin.sim.villages import Infrastructure

def seed_sequence(rng: Any) -> np.random.SeedSequence:
    """A SeedSequence from what Mesa users pass as ``rng``: None (fresh entropy), an int, a
    SeedSequence, or a Generator (a child of its seed sequence).

    A SeedSequence is copied, not used, so the same one gives the same model every time (spawning
    from the original would advance it).
    """
    if isinstance(rng, np.random.SeedSequence):
        return np.random.SeedSequence(rng.entropy, spawn_key=rng.spawn_key, pool_size=rng.pool_size)
    if isinstance(rng, np.random.Generator):
        return np.random.SeedSequence(int(rng.integers(2**63)))
    if rng is None or isinstance(rng, int | np.integer):
        return np.random.SeedSequence(None if rng is None else int(rng))
    raise TypeError(f"rng must be None, an int, a SeedSequence or a Generator, not {type(rng).__name__}")


@dataclass
class Start:
    """What a replicate starts from: its scenario with this replicate's uncertain parameters drawn,
    the draws, its keyed random numbers, Mesa's seed and its households, villages and counties."""

    p: Scenario
    drawn: dict[str, float | int]
    draws: Draws
    mesa_seed: np.random.SeedSequence
    population: Population


def start_replicate(plan: Scenario | str | Path | None, rng: Any, overrides: dict[str, Any] | None = None,
                    population: Population | None = None) -> Start:
    """Resolve the scenario, make the replicate's keyed draws from the seed (``keyed.py``), draw
    the uncertain parameters, the register (unless ``population`` is given) and which villages
    have their infrastructure. ``plan`` None is the Shangluo baseline shipped with tuopin
    (``scenario.default_scenario``). The households are held in the order of their keys
    (``in_key_order``).

    ``PovertyModel`` and the per-agent ``ReferenceModel`` both start here, so with the same seed
    they start from the same scenario values, the same register and the same keyed draws.
    """
    config = resolve(default_scenario() if plan is None else plan, overrides)
    seq = seed_sequence(rng)
    draws = Draws.from_seed_sequence(seq)
    mesa_seed = seq.spawn(1)[0]
    config, drawn = uncertainty.fix(config, draws.generator("parameters"))
    hh, villages, counties = population or synthesize(config, draws)
    share = config.exit_rules.infrastructure.initial_done_share
    villages.infra_done |= draws.uniform(villages.key, "infrastructure done") < share
    return Start(config, drawn, draws, mesa_seed, (in_key_order(hh), villages, counties))


def _reporter(field: flows.Field) -> Callable[[PovertyModel], Any]:
    """A DataCollector reporter for one output of the year (``flows.FIELDS``): the year computes
    them in real units already (weighted sums over the sampled villages' households)."""
    if field.origin == "model":
        return MODEL_REPORTERS[field.name]

    def report(model: PovertyModel) -> float | str:
        return model.flows[field.name]

    report.__name__ = field.name
    return report


def current_year(model: PovertyModel) -> int:
    """The year just simulated."""
    return model.year


def target_exits(model: PovertyModel) -> float:
    """The plan's exits for the year just simulated (people), 0 when the plan names none."""
    return model.target_exits()


def cost_per_sustained_exit(model: PovertyModel) -> float:
    """All spending so far (budget and social floor) per person exited and not fallen back."""
    sustained = float(model.flows["sustained_exits"])
    return model.cumulative_spending / sustained if sustained else float("nan")


MODEL_REPORTERS: dict[str, Callable[[PovertyModel], Any]] = {
    "year": current_year, "target_exits": target_exits, "cost_per_sustained_exit": cost_per_sustained_exit,
}
"""The outputs the model computes itself (``origin="model"`` in ``flows.FIELDS``)."""


class ReplicateModel(mesa.Model):
    """A Mesa model of one replicate of a plan (a tuopin scenario), one ``step()`` a year: what
    ``PovertyModel`` and the per-agent ``ReferenceModel`` share (see :func:`start_replicate`).

    ``p`` (also ``plan``) is the scenario with this replicate's uncertain parameters drawn
    (``drawn``), ``hh``, ``villages`` and ``counties`` the register, ``ledger`` the year's money,
    ``year`` the year last simulated (the registration year before the first step).
    """

    def __init__(self, plan: Scenario | str | Path | None = None, *, rng: Any = None,
                 overrides: dict[str, Any] | None = None, population: Population | None = None) -> None:
        begin = start_replicate(plan, rng, overrides, population)
        super().__init__(rng=np.random.default_rng(begin.mesa_seed))
        self.draws = begin.draws
        self.p = self.plan = begin.p
        self.drawn = begin.drawn
        self.hh, self.villages, self.counties = begin.population
        heap.keep_in_heap(self.hh.net.nbytes)  # a large register (synthesize asks for itself)
        self.ledger = Ledger(self.p.funding)  # real yuan: households cost their sampling weight
        self.year: int = self.p.years[0] - 1  # the registration year; step() simulates the next
        self.last_year: int = self.p.years[1]

    @property
    def line(self) -> float:
        """This year's poverty line, yuan per person (current prices)."""
        return self.p.poverty_line[self.year]

    def run(self) -> None:
        """Simulate every remaining year of the scenario."""
        while self.running:
            self.step()


class PovertyModel(ReplicateModel):
    """Registered poor households under a poverty-alleviation plan, one step per year.

    Args:
        plan: tuopin's scenario: a validated ``Scenario`` or the path of a scenario / variant
            YAML file; None (the default) is the Shangluo baseline shipped with tuopin, from any
            directory. It is called ``plan`` because Mesa's ``Model`` has a ``scenario`` of its
            own (``mesa.experimental.scenarios.Scenario``, its parameter set).
        rng: Mesa-style seed: an int, a ``numpy.random.SeedSequence`` or Generator; ``None``
            draws fresh entropy (pass ``plan.seed`` for the scenario's fixed result).
        overrides: ``{"dotted.path": value}`` changes, validated with the whole scenario.
        population: households, villages and counties to use instead of the synthetic register.
        start_year: the first year to simulate (default: the scenario's first). The population
            is the state at the end of the year before, so a later start needs one (a register
            read with the same ``start_year``); the plan's targets and money apply from then on.
        scenario: Mesa's scenario object, as Mesa's ``SolaraViz`` passes it when it resets a
            model. It may hold no parameters of its own (give them as keywords); tuopin's random
            numbers always come from ``rng``.
        **parameters: more dotted-path overrides as keywords, so that ``mesa.batch_run`` can vary
            them: ``batch_run(PovertyModel, parameters={"plan": "scenarios/shangluo.yaml",
            "relapse.support_continuation_years": [0, 3]}, rng=[1, 2, 3])``. Pass ``rng`` seeds
            (not ``iterations``, which Mesa runs unseeded) for reproducible results.

    After ``run()`` (or one ``step()`` per year), ``datacollector.get_model_vars_dataframe()``
    has one row per year with the fields of ``flows.FIELDS``, ``county_years`` the county outputs
    of each year (the fields of ``flows.COUNTY_FIELDS``, a value per county; one table:
    ``experiments.replicates.county_table``); ``plan`` (also ``p``, what the
    rules read) is the validated scenario the run used (uncertain parameters fixed), ``hh``,
    ``villages`` and ``counties`` hold the final state, and ``drawn`` this replicate's values of
    the scenario's uncertain parameters.
    """

    shocks: Shocks
    """This year's shocks (drawn at the start of each ``step()``)."""

    def __init__(
        self,
        plan: Scenario | str | Path | None = None,
        *,
        rng: Any = None,
        overrides: dict[str, Any] | None = None,
        population: Population | None = None,
        start_year: int | None = None,
        scenario: MesaScenario | None = None,
        **parameters: Any,
    ) -> None:
        if scenario is not None and (extra := sorted(k for k in vars(scenario) if k not in ("rng", "model"))):
            raise TypeError(f"Mesa's scenario holds parameters {extra}; give tuopin's as keywords (dotted paths)")
        super().__init__(plan, rng=rng, overrides={**(overrides or {}), **parameters}, population=population)
        self.batches: list[Intervention[Any]] = [cls(getattr(self.p.batches, cls.name)) for cls in FUNDED]
        self.lifted = np.zeros(len(self.hh), dtype=bool)  # exited at least once in the simulated years
        self.on_list = np.zeros(len(self.hh), dtype=bool)  # on this year's pre-exit list
        self.batch_names = BATCHES
        self.infrastructure = Infrastructure(self.p.exit_rules.infrastructure)
        items: list[Funded] = [*self.batches, self.infrastructure]
        self.funding_order = priority_order(items, [item.priority for item in items])
        first = self.p.years[0]
        start = first if start_year is None else int(start_year)
        if not first <= start <= self.last_year:
            raise UserError(f"start year {start} is outside the scenario's years {first}-{self.last_year}",
                            key="start year")
        if start > first and population is None:
            raise UserError(f"a run starting in {start} needs the state at the end of {start - 1}: a household "
                            "register (--households) read for that start year", key="start year")
        self.year = start - 1  # the registration year; step() simulates the next
        self.flows: dict[str, float | str] = {}
        self.county_flows: dict[str, np.ndarray] = {}
        self.county_years: list[dict[str, Any]] = []
        self.cumulative_spending = 0.0
        self.datacollector = mesa.DataCollector(model_reporters={f.name: _reporter(f) for f in flows.FIELDS})

    def target_exits(self) -> float:
        """The plan's exits for the current year (real people), 0 when the plan names none."""
        return float(self.p.targets.exits.get(self.year, 0.0))

    def step(self) -> None:
        """Simulate one year and record it."""
        self.year += 1
        self.flows = simulate_year(self)
        self.datacollector.collect(self)
        self.county_years.append(self._county_rows())
        self.running = self.year < self.last_year

    def _county_rows(self) -> dict[str, Any]:
        """This year's county outputs (``flows.COUNTY_FIELDS``, in order), a value per county:
        people (real, weighted), incidence (the official formula, estimated from the sampled
        villages) with its standard error and threshold, the exit rule's other indicators,
        villages, the two years. Columns, not a table: a run's tables are made once, at its end."""
        c, f = self.counties, self.county_flows
        year = lambda y: np.where(y >= 0, y, np.nan)  # noqa: E731
        own = {"year": np.full(len(c), self.year, dtype=np.int64), "county": list(c.name), "county_en": list(c.name_en),
               "county_exit_year": year(c.exit_year), "threshold": c.threshold.copy(),
               "first_qualified_year": year(c.first_qualified_year), "poor_county": c.poor_county.copy()}
        return {field.name: own[field.name] if field.name in own else f[field.name] for field in flows.COUNTY_FIELDS}
