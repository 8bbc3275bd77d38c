"""What a simulated year reports: the one definition of a year's output.

Every row of ``annual.csv`` (after its ``replicate`` column) has exactly the fields of
:data:`FIELDS`, in this order; the model's DataCollector reporters, the scaling to real units, the
summaries, the sweep outputs, the quantities calibration can fit, the compared quantities and the
figures' inputs all come from this table. To add an output, add one line here and have the year
(``loop.simulate_year``) or the model compute it.

A field's ``unit`` says what it counts: ``people``, ``yuan``, ``villages`` (all real: weighted
sums over the sampled villages and their households, see ``agents``), ``counties``, ``text``,
``year``, ``share`` or ``yuan per person``. ``origin`` says who computes it: ``year`` (the year's own flows, from
``simulate_year``) or ``model`` (the model, across years or from the plan: the year, the plan's
target, the cost per sustained exit). Tags say where else a field goes:

* ``summary``: median and 5-95% band per year in ``summary.csv`` (``experiments.summary``);
* ``sweep``: kept per run by a sweep unless its spec lists ``outputs``;
* ``observed``: may be fitted to observed counts (``tuopin calibrate``);
* ``signed``: may be negative (every other count and amount is never below zero).

``COUNTY_FIELDS`` is the same for ``county_annual.csv``, one row per county and year.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from tuopin.scenario.schema import BATCHES, FUNDED_BATCHES

Unit = Literal["people", "yuan", "villages", "counties", "text", "year", "yuan per person", "share"]


@dataclass(frozen=True)
class Field:
    """One output of a simulated year (see the module doc)."""

    name: str
    unit: Unit
    label: str
    origin: Literal["year", "model"] = "year"
    tags: frozenset[str] = frozenset()


def _f(name: str, unit: Unit, label: str, tags: str = "", *, origin: Literal["year", "model"] = "year") -> Field:
    return Field(name, unit, label, origin, frozenset(tags.split()))


FIELDS: tuple[Field, ...] = (
    _f("year", "year", "the year simulated", origin="model"),
    _f("target_exits", "people", "the plan's exits for the year (0 when it names none)", "sweep", origin="model"),
    _f("poor_start", "people", "registered poor at the start of the year", "sweep"),
    _f("exits", "people", "people exited this year (honest and declared)", "summary sweep observed"),
    _f("exits_paper", "people", "of which declared under target pressure", "summary"),
    _f("exits_wrong", "people", "of which wrongly exited (错退: true stable income or conditions short)", "summary"),
    _f("relapses", "people", "exited people who fell back into poverty", "summary sweep observed"),
    _f("new_entrants", "people", "near-poor people newly registered poor", "summary sweep observed"),
    _f("poor_end", "people", "registered poor at the end of the year", "summary sweep observed"),
    _f("sustained_exits", "people", "people exited and not fallen back, at the end of the year", "summary sweep"),
    _f("net_reduction", "people", "poor at the start less poor at the end (negative: the register grew)",
       "summary sweep observed signed"),
    _f("lifted_total", "people", "distinct people exited at least once in the simulated years, up to the end of the "
       "year (not the stock exited before the first year)", "summary sweep"),
    _f("pre_exit_listed", "people", "people on the year's pre-exit list, with the poor the floor took on this year"),
    _f("pre_exit_helped", "people", "listed people given intensified help"),
    _f("monitored_flagged", "people", "exited and near-poor people flagged by monitoring"),
    _f("monitored_helped", "people", "flagged people helped by monitoring"),
    _f("villages_exited", "villages", "poor villages taking off the hat this year", "sweep observed"),
    _f("villages_exited_total", "villages", "poor villages exited so far", "summary sweep"),
    _f("villages_built", "villages", "villages whose infrastructure was completed this year"),
    _f("counties_qualified", "counties", "poor counties first meeting the exit rule this year (its assessment year: "
       "the record's counties exiting 'in' a year, announced early the next)", "summary sweep observed"),
    _f("counties_qualified_total", "counties", "poor counties that have met the exit rule so far", "summary sweep"),
    _f("counties_exited", "counties", "counties taking off the hat this year", "summary sweep observed"),
    _f("counties_exited_total", "counties", "counties exited so far", "summary sweep"),
    _f("counties_exited_names", "text", "names of the counties exiting this year, ';'-separated"),
    _f("budget", "yuan", "the year's pools: appropriations and carry-over", "sweep"),
    _f("spending", "yuan", "spent from the pools", "summary sweep"),
    _f("spending_floor", "yuan", "social floor (低保) paid outside the pools", "summary"),
    _f("spending_infrastructure", "yuan", "spent on village infrastructure"),
    _f("spending_pre_exit_help", "yuan", "spent on intensified help for the pre-exit list"),
    _f("spending_monitoring", "yuan", "spent on monitoring help (relief, posts, medical aid, repairs)"),
    _f("unspent", "yuan", "left in the pools at year end"),
    _f("carried_over", "yuan", "of which carried into next year"),
    *(_f(f"spending_{b}", "yuan", f"spent on the {b} batch") for b in FUNDED_BATCHES),
    *(_f(f"enrolled_{b}", "people", f"people newly enrolled in the {b} batch") for b in BATCHES),
    *(_f(f"exits_{b}", "people", f"exits among people the {b} batch ever reached") for b in BATCHES),
    _f("cost_per_sustained_exit", "yuan per person", "all spending so far per person exited and still out",
       "summary sweep", origin="model"),
)
"""Every output of a year, in ``annual.csv`` order."""

BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}

COUNTY_FIELDS: tuple[Field, ...] = (
    _f("year", "year", "the year simulated", origin="model"),
    _f("county", "text", "county name", origin="model"),
    _f("county_en", "text", "county name in English", origin="model"),
    _f("exits", "people", "people exited this year"),
    _f("relapses", "people", "exited people who fell back into poverty"),
    _f("new_entrants", "people", "near-poor people newly registered poor"),
    _f("poor_end", "people", "registered poor at the end of the year"),
    _f("incidence", "share", "综合贫困发生率: (poor + missed + wrongly exited) / rural population, estimated "
       "from the sampled villages, end of the year"),
    _f("villages_exited_total", "villages", "poor villages exited so far"),
    _f("poor_villages", "villages", "poor villages of the county"),
    _f("county_exit_year", "year", "year the county's exit was granted (empty: not yet)", origin="model"),
    _f("incidence_se", "share", "standard error of the incidence estimate over the village sample (0 at scale 1)"),
    _f("threshold", "share", "the county's incidence threshold", origin="model"),
    _f("wrongly_exited_share", "share", "wrongly exited (错退) people / exited people"),
    _f("missed_share", "share", "missed poor (漏评) / people not registered"),
    _f("first_qualified_year", "year", "first year the county met the exit rule (its assessment year)",
       origin="model"),
    _f("poor_county", "text", "a poor county (贫困县) with a hat to take off", origin="model"),
    _f("villages_sampled", "villages", "villages of the county simulated (whole)"),
)
"""Every output of a county's year, in ``county_annual.csv`` order (after ``replicate``)."""


def names(tag: str | None = None, fields: Iterable[Field] = FIELDS) -> list[str]:
    """The fields' names in order, or only those with ``tag``."""
    return [f.name for f in fields if tag is None or tag in f.tags]


def known(*wanted: str) -> tuple[str, ...]:
    """``wanted``, checked: each must be a field of the year (a KeyError names the one that is not)."""
    for name in wanted:
        if name not in BY_NAME:
            raise KeyError(f"{name!r} is not an output of the year (see tuopin.sim.flows.FIELDS)")
    return wanted


def of_unit(*units: Unit) -> set[str]:
    """Names of the fields counted in one of ``units``."""
    return {f.name for f in FIELDS if f.unit in units}
