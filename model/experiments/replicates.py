"""Running replicates: independent random streams from one seed, one or many processes.

Replicate ``i`` of a run with seed ``S`` always uses ``SeedSequence(S).spawn(n)[i]``, so the
result does not depend on how many workers share the work.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import as_completed
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tuopin.scenario import Scenario
from tuopin.sim import flows, kernels
from tuopin.sim.agents import Population
from tuopin.sim.model import PovertyModel
from tuopin.sim.register import fresh_copy
from tuopin.experiments.workers import worker_pool


@dataclass
class RunResult:
    """Every replicate's yearly rows: ``annual`` (the city) and ``counties``."""

    scenario: Scenario
    seed: int
    replicates: int
    annual: pd.DataFrame
    counties: pd.DataFrame


def replicate_seeds(seed: int, replicates: int) -> list[np.random.SeedSequence]:
    """One independent SeedSequence per replicate, spawned from ``seed``."""
    return np.random.SeedSequence(seed).spawn(replicates)


def run_model(scenario: Scenario, seq: np.random.SeedSequence, population: Population | None = None,
              start_year: int | None = None) -> PovertyModel:
    """One replicate's model, run to the end.

    ``population`` (e.g. a household register) replaces the synthetic one; the run works on a
    fresh copy of it, so it can be reused for every replicate. ``start_year`` is the first year
    simulated (see ``PovertyModel``).
    """
    model = PovertyModel(scenario, rng=seq, population=fresh_copy(population) if population else None,
                         start_year=start_year)
    model.run()
    return model


def annual_table(model: PovertyModel, replicate: int) -> pd.DataFrame:
    """A finished model's years as rows: ``replicate``, the year's outputs (``flows.FIELDS``, in
    order) and this replicate's drawn parameters (``param.<path>``): one constructor over the
    DataCollector's columns."""
    reported = model.datacollector.model_vars
    n = len(reported["year"])
    return pd.DataFrame({"replicate": np.full(n, replicate, np.int64), **reported,
                         **{f"param.{path}": [value] * n for path, value in model.drawn.items()}})


def county_table(model: PovertyModel, replicate: int) -> pd.DataFrame:
    """A finished model's county rows (``flows.COUNTY_FIELDS``), a row per county and year, with
    ``replicate`` first: one constructor over the years' columns (``PovertyModel.county_years``)."""
    years = model.county_years
    columns: dict[str, Any] = {"replicate": np.full(sum(len(y["county"]) for y in years), replicate, np.int64)}
    for name in flows.names(fields=flows.COUNTY_FIELDS):
        parts = [y[name] for y in years]
        columns[name] = [v for part in parts for v in part] if not parts or isinstance(parts[0], list) else np.concatenate(parts)
    return pd.DataFrame(columns)


def run_replicate(scenario: Scenario, seq: np.random.SeedSequence, replicate: int,
                  population: Population | None = None, start_year: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run one replicate to the end; returns its annual and county tables (see ``run_model``)."""
    model = run_model(scenario, seq, population, start_year)
    return annual_table(model, replicate), county_table(model, replicate)


def stack(scenario: Scenario, seed: int, parts: list[tuple[pd.DataFrame, pd.DataFrame]]) -> RunResult:
    """Replicates' (annual, county) tables stacked in replicate order into a RunResult."""
    parts = sorted(parts, key=lambda p: int(p[0]["replicate"].iloc[0]))
    annual = pd.concat([a for a, _ in parts], ignore_index=True)
    counties = pd.concat([c for _, c in parts], ignore_index=True)
    return RunResult(scenario, seed, len(parts), annual, counties)


Chunk = tuple[dict[str, Any], list[tuple[int, np.random.SeedSequence]], Population | None, int | None]


def _run_chunk(args: Chunk) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """Run some replicates in a worker (the scenario travels as plain data and is re-validated)."""
    raw, jobs, population, start_year = args
    scenario = Scenario.model_validate(raw)
    return [run_replicate(scenario, seq, i, population, start_year) for i, seq in jobs]


def run_replicates(scenario: Scenario, replicates: int | None = None, seed: int | None = None,
                   workers: int = 1, population: Population | None = None,
                   progress: Callable[[int], object] | None = None, start_year: int | None = None) -> RunResult:
    """Run a scenario's replicates (defaults from the scenario file) and stack their tables.

    Args:
        scenario: a validated scenario.
        replicates: how many runs; default ``scenario.replicates``.
        seed: the root seed; default ``scenario.seed``.
        workers: processes to use; the numbers are the same for any value. They end with this
            process (see ``workers.py``).
        population: households, villages and counties to start every replicate from (a
            household register, see ``register.py``) instead of the synthetic register.
        progress: called with the number of replicates just finished, as they finish (e.g. a
            progress bar's ``update``).
        start_year: the first year to simulate, from ``population``'s state at the end of the
            year before (default: the scenario's first year).
    """
    replicates = scenario.replicates if replicates is None else replicates
    seed = scenario.seed if seed is None else seed
    jobs = list(enumerate(replicate_seeds(seed, replicates)))
    raw = scenario.model_dump()
    parts: list[tuple[pd.DataFrame, pd.DataFrame]] = []
    kernels.prepare(replicates)  # a long run loads the compiled kernels first, for its workers too
    if workers <= 1 or replicates == 1:
        for job in jobs:
            parts += _run_chunk((raw, [job], population, start_year))
            if progress:
                progress(1)
    else:
        # a few chunks per worker, so progress is reported as the run goes (any split gives the same numbers)
        n_chunks = min(replicates, 4 * workers)
        chunks = [(raw, jobs[i::n_chunks], population, start_year) for i in range(n_chunks)]
        with worker_pool(workers) as pool:
            for future in as_completed([pool.submit(_run_chunk, chunk) for chunk in chunks]):
                done = future.result()
                parts += done
                if progress:
                    progress(len(done))
    return stack(scenario, seed, parts)
