"""A base scenario against variants on the same replicate seeds (common random numbers), and
writing the comparison's tables and figure.

Replicate ``i`` of every scenario uses the same seed, so the same households meet the same
illnesses, disasters and market shocks: the differences are the policy's, not luck's. This
holds when a variant keeps the base's population (``same_population``).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from tuopin.experiments.outputs import provenance, write_results
from tuopin.experiments.replicates import run_replicates
from tuopin.experiments.summary import paired_differences, summarize_differences
from tuopin.scenario import Scenario, file_hash
from tuopin.sim.agents import Population

POPULATION_KEYS = ("scale", "counties", "population", "years", "poverty_line")
"""What must match for households to be the same in base and variant (common random numbers)."""


def same_population(base: Scenario, variant: Scenario) -> bool:
    """True when the variant draws the same households as the base (so replicates are paired)."""
    return all(getattr(base, key) == getattr(variant, key) for key in POPULATION_KEYS)


def compare(base: Scenario, variants: list[Scenario], replicates: int, seed: int,
            workers: int = 1, population: Population | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run the base and every variant on the same replicate seeds (and ``population``, if given).

    Returns ``(paired, summary)``: per replicate and year the base value, variant value and
    difference of each compared quantity, and per year the medians, bands and P(variant better);
    both with a ``variant`` column naming the variant.
    """
    base_run = run_replicates(base, replicates=replicates, seed=seed, workers=workers, population=population)
    paired, summary = [], []
    for variant in variants:
        run = run_replicates(variant, replicates=replicates, seed=seed, workers=workers, population=population)
        pairs = paired_differences(base_run.annual, run.annual)
        pairs.insert(0, "variant", variant.name)
        table = summarize_differences(pairs)
        table.insert(0, "variant", variant.name)
        paired.append(pairs)
        summary.append(table)
    return pd.concat(paired, ignore_index=True), pd.concat(summary, ignore_index=True)


def write_comparison(out: Path, base: Scenario, variants: list[Scenario], paired: pd.DataFrame, summary: pd.DataFrame,
                     *, replicates: int, seed: int, base_file: Path | None = None, variant_files: list[Path] | None = None,
                     households: Path | None = None, workers: int = 1, started: datetime | None = None,
                     t0: float | None = None) -> None:
    """Write a comparison into ``out`` whole (``differences.csv``, ``paired_annual.csv``,
    ``differences.png``, then ``run.json``; see ``tuopin compare --help``).

    ``base_file`` and ``variant_files`` (the scenario files, for their hashes), ``households``,
    ``workers`` and the start (``started`` UTC and ``t0`` from ``time.perf_counter()``) go into
    ``run.json``.
    """
    from tuopin.report.plots import differences

    title = f"{base.title.get('en', base.name)}: variants minus base ({replicates} paired replicates)"
    writers = {
        "differences.csv": lambda path: summary.to_csv(path, index=False),
        "paired_annual.csv": lambda path: paired.to_csv(path, index=False),
        "differences.png": lambda path: differences(summary, path, title),
    }
    files: list[Path | None] = list(variant_files) if variant_files else [None] * len(variants)
    meta: dict[str, Any] = {
        "base": base.name,
        "base_file": str(base_file) if base_file else None,
        "base_sha256": file_hash(base_file) if base_file else None,
        "variants": [{"name": v.name, "file": str(path) if path else None,
                      "sha256": file_hash(path) if path else None,
                      "common_random_numbers": same_population(base, v)}
                     for v, path in zip(variants, files)],
        "seed": seed,
        "replicates": replicates,
        "scale": base.scale,
        "households": str(households) if households else None,
        "workers": workers,
        **provenance(started or datetime.now(UTC), time.perf_counter() if t0 is None else t0),
    }
    write_results(out, writers, meta)
