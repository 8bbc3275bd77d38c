"""Writing a run's results: the tables, the figure and ``run.json`` of ``tuopin run``.

:func:`write_run` puts them into a results directory whole (see ``outputs``): ``annual.csv``,
``county_annual.csv``, ``summary.csv``, ``headlines.csv``, ``county_summary.csv``,
``exits_vs_target.png`` and, last, ``run.json`` with the scenario's hash, seed, replicates,
versions and wall time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from tuopin.experiments.headlines import headlines
from tuopin.experiments.outputs import provenance, sha256, write_results
from tuopin.experiments.replicates import RunResult
from tuopin.experiments.summary import summarize, summarize_counties
from tuopin.scenario import file_hash
from tuopin.sim.agents import Population
from tuopin.sim.register import describe


def result_writers(result: RunResult, source: str) -> tuple[
        dict[str, Callable[[Path], object]], pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The files of a run, each with the function that writes it; and the summary, county and
    headline tables. ``source`` is the line printed under the figure (see ``report.plots.source_line``)."""
    from tuopin.report.plots import exits_vs_target

    summary = summarize(result.annual)
    counties = summarize_counties(result.counties, result.scenario.planned_county_years())
    table = headlines(result.annual, result.scenario)
    title = f"{result.scenario.title.get('en', result.scenario.name)}: declared exits against the plan"
    writers: dict[str, Callable[[Path], object]] = {
        "annual.csv": lambda path: result.annual.to_csv(path, index=False),
        "county_annual.csv": lambda path: result.counties.to_csv(path, index=False),
        "summary.csv": lambda path: summary.to_csv(path, index=False),
        "headlines.csv": lambda path: table.to_csv(path, index=False),
        "county_summary.csv": lambda path: counties.to_csv(path, index=False),
        "exits_vs_target.png": lambda path: exits_vs_target(summary, path, title, source=source),
    }
    return writers, summary, counties, table


def write_run(out: Path, result: RunResult, *, scenario_file: Path | None = None, households: Path | None = None,
              population: Population | None = None, workers: int = 1, started: datetime | None = None,
              t0: float | None = None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Write a run's results into ``out`` whole; returns its summary tables (per year, per county)
    and its headline table.

    ``scenario_file`` (for its hash), ``households`` (the register file) with its ``population``,
    ``workers`` and the start (``started`` UTC and ``t0`` from ``time.perf_counter()``) go into
    ``run.json``.
    """
    from tuopin.report.plots import source_line

    scenario = result.scenario
    source = source_line(scenario.name, scenario.scale, result.replicates, result.seed, lang="en")
    writers, summary, counties, table = result_writers(result, source)
    meta: dict[str, Any] = {
        "scenario": scenario.name,
        "scenario_file": str(scenario_file) if scenario_file else None,
        "scenario_sha256": file_hash(scenario_file) if scenario_file else None,
        "scale": scenario.scale,
        "households": None if households is None or population is None else
        {"file": str(households), "sha256": sha256(households), **describe(population)},
        "start_year": int(result.annual["year"].min()),
        "seed": result.seed,
        "replicates": result.replicates,
        "workers": workers,
        **provenance(started or datetime.now(UTC), time.perf_counter() if t0 is None else t0),
    }
    write_results(out, writers, meta)
    return summary, counties, table
