"""``PovertyModel``: the Mesa model. One ``step()`` is one year (see ``loop.py`` for its order)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import mesa
import numpy as np
from mesa.experimental.scenarios import Scenario as MesaScenario

from tuopin.sim.agents import Counties, Households, Villages
from tuopin.sim.funding import Ledger
from tuopin.sim.interventions import FUNDED, Intervention
from tuopin.sim.loop import INFRASTRUCTURE, simulate_year
from tuopin.sim.population import synthesize
from tuopin.scenario import uncertainty
from tuopin.scenario.schema import BATCHES, Scenario, plain, resolve

STREAMS = ("population", "shocks", "interventions", "relapse", "parameters")
"""Named random streams, each spawned from the replicate's SeedSequence (plus Mesa's own)."""

PEOPLE = {
    "poor_start", "exits", "exits_paper", "relapses", "new_entrants", "poor_end", "sustained_exits",
    "net_reduction", "lifted_total", *(f"exits_{b}" for b in BATCHES), *(f"enrolled_{b}" for b in BATCHES),
}
SIGNED = {"net_reduction"}
"""People quantities that can be negative: the register grows when relapses and new entrants
outnumber exits."""
MONEY = {
    "budget", "spending", "spending_floor", "spending_infrastructure", "unspent", "carried_over",
    *(f"spending_{b}" for b in BATCHES),
}


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


def _reporter(key: str):
    """A DataCollector reporter for one of the year's flows, in real-world units."""

    def report(model: PovertyModel) -> float | str:
        value = model.flows[key]
        return value * model.inflate if key in PEOPLE or key in MONEY else value

    report.__name__ = key
    return report


def current_year(model: PovertyModel) -> int:
    """The year just simulated."""
    return model.year


def target_exits(model: PovertyModel) -> float:
    """The plan's exits for the year just simulated (people), 0 when the plan names none."""
    return model.target_exits()


def cost_per_sustained_exit(model: PovertyModel) -> float:
    """All spending so far (budget and social floor) per person exited and not fallen back."""
    sustained = model.flows["sustained_exits"]
    return model.cumulative_spending / sustained if sustained else float("nan")


class PovertyModel(mesa.Model):
    """Registered poor households under a poverty-alleviation plan, one step per year.

    Args:
        plan: tuopin's scenario: a validated ``Scenario`` or the path of a scenario / variant
            YAML file. It is called ``plan`` because Mesa's ``Model`` has a ``scenario`` of its
            own (``mesa.experimental.scenarios.Scenario``, its parameter set).
        rng: Mesa-style seed: an int, a ``numpy.random.SeedSequence`` or Generator; ``None``
            draws fresh entropy (pass ``plan.seed`` for the scenario's fixed result).
        overrides: ``{"dotted.path": value}`` changes, validated with the whole scenario.
        population: households, villages and counties to use instead of the synthetic register.
        scenario: Mesa's scenario object, as Mesa's ``SolaraViz`` passes it when it resets a
            model. It may hold no parameters of its own (give them as keywords); tuopin's random
            streams always come from ``rng``.
        **parameters: more dotted-path overrides as keywords, so that ``mesa.batch_run`` can vary
            them: ``batch_run(PovertyModel, parameters={"plan": "scenarios/shangluo.yaml",
            "relapse.support_continuation_years": [0, 3]}, rng=[1, 2, 3])``. Pass ``rng`` seeds
            (not ``iterations``, which Mesa runs unseeded) for reproducible results.

    After ``run()`` (or one ``step()`` per year), ``datacollector.get_model_vars_dataframe()``
    has one row per year; ``plan`` is the validated scenario the run used (uncertain parameters
    fixed), ``hh``, ``villages`` and ``counties`` hold the final state, and ``drawn`` this
    replicate's values of the scenario's uncertain parameters.
    """

    def __init__(
        self,
        plan: Scenario | str | Path = "scenarios/shangluo.yaml",
        *,
        rng: Any = None,
        overrides: dict[str, Any] | None = None,
        population: tuple[Households, Villages, Counties] | None = None,
        scenario: MesaScenario | None = None,
        **parameters: Any,
    ) -> None:
        if scenario is not None and (extra := sorted(k for k in vars(scenario) if k not in ("rng", "model"))):
            raise TypeError(f"Mesa's scenario holds parameters {extra}; give tuopin's as keywords (dotted paths)")
        overrides = {**(overrides or {}), **parameters}
        config = resolve(plan, overrides)
        seq = seed_sequence(rng)
        mesa_seq, *named = seq.spawn(1 + len(STREAMS))
        super().__init__(rng=np.random.default_rng(mesa_seq))
        self.streams = SimpleNamespace(**{n: np.random.default_rng(s) for n, s in zip(STREAMS, named)})
        config, self.drawn = uncertainty.fix(config, self.streams.parameters)
        self.plan: Scenario = config
        self.p: SimpleNamespace = plain(config)
        self.seed_seq = seq
        self.hh, self.villages, self.counties = population or synthesize(self.p, self.streams.population)
        infra = self.p.exit_rules.infrastructure
        self.villages.infra_done |= self.streams.population.random(len(self.villages)) < infra.initial_done_share
        self.inflate = 1.0 / self.p.scale
        self.batches: list[Intervention] = [cls(getattr(self.p.batches, cls.name)) for cls in FUNDED]
        self.batch_names = BATCHES
        ranked = [(b.p.priority, i, b) for i, b in enumerate(self.batches)]
        ranked.append((infra.priority, len(ranked), INFRASTRUCTURE))
        self.funding_order = [item for _, _, item in sorted(ranked, key=lambda r: (r[0], r[1]))]
        self.ledger = Ledger(self.p.funding, self.p.scale)
        self.year: int = self.p.years[0] - 1  # the registration year; step() simulates the next
        self.last_year: int = self.p.years[1]
        self.flows: dict[str, float | str] = {}
        self.county_flows: dict[str, np.ndarray] = {}
        self.county_records: list[dict[str, Any]] = []
        self.cumulative_spending = 0.0
        self.shocks = None
        reporters = {k: _reporter(k) for k in _flow_keys()}
        reporters["year"] = current_year
        reporters["target_exits"] = target_exits
        reporters["cost_per_sustained_exit"] = cost_per_sustained_exit
        self.datacollector = mesa.DataCollector(model_reporters=reporters)

    @property
    def line(self) -> float:
        """This year's poverty line, yuan per person (current prices)."""
        return self.p.poverty_line[self.year]

    def target_exits(self) -> float:
        """The plan's exits for the current year (real people), 0 when the plan names none."""
        return float(self.p.targets.exits.get(self.year, 0.0))

    def step(self) -> None:
        """Simulate one year and record it."""
        self.year += 1
        self.flows = simulate_year(self)
        self.datacollector.collect(self)
        self.county_records += self._county_rows()
        self.running = self.year < self.last_year

    def _county_rows(self) -> list[dict[str, Any]]:
        """This year's county flows in real units, one dict per county."""
        c, f = self.counties, self.county_flows
        rows = []
        for i, name in enumerate(c.name):
            people = {k: f[k][i] * self.inflate for k in ("exits", "relapses", "new_entrants", "poor_end")}
            rows.append({
                "year": self.year, "county": name, "county_en": c.name_en[i], **people,
                "incidence": f["poor_end"][i] / c.rural_population[i],
                "villages_exited_total": int(f["villages_exited_total"][i]),
                "poor_villages": int(f["poor_villages"][i]),
                "county_exit_year": int(c.exit_year[i]) if c.exit_year[i] >= 0 else None,
            })
        return rows

    def run(self) -> None:
        """Simulate every remaining year of the scenario."""
        while self.running:
            self.step()


def _flow_keys() -> list[str]:
    """Every flow ``simulate_year`` reports, in a stable order."""
    keys = ["poor_start", "exits", "exits_paper", "relapses", "new_entrants", "poor_end",
            "sustained_exits", "net_reduction", "lifted_total", "villages_exited", "villages_exited_total", "villages_built",
            "counties_exited", "counties_exited_total", "counties_exited_names", "budget", "spending", "spending_floor",
            "spending_infrastructure", "unspent", "carried_over"]
    keys += [f"spending_{b}" for b in BATCHES if b != "social_floor"]
    keys += [f"enrolled_{b}" for b in BATCHES]
    keys += [f"exits_{b}" for b in BATCHES]
    return keys
