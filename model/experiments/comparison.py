"""A base scenario against variants on the same replicate seeds (common random numbers), and
writing the comparison's tables and figure.

Replicate ``i`` of every scenario uses the same seed, so the same households meet the same
illnesses, disasters and market shocks: the differences are the policy's, not luck's. This
holds when a variant keeps the base's population (``same_population``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from tuopin.experiments.outputs import provenance, write_results
from tuopin.experiments.replicates import run_replicates
from tuopin.experiments.summary import paired_differences, summarize_differences, total_differences
from tuopin.report.labels import Lang
from tuopin.scenario import Scenario, file_hash
from tuopin.sim.agents import Population

POPULATION_KEYS = ("scale", "counties", "population", "years", "poverty_line")
"""What must match for households to be the same in base and variant (common random numbers)."""


def same_population(base: Scenario, variant: Scenario) -> bool:
    """True when the variant draws the same households as the base (so replicates are paired)."""
    return all(getattr(base, key) == getattr(variant, key) for key in POPULATION_KEYS)


def compare(base: Scenario, variants: list[Scenario], replicates: int, seed: int, workers: int = 1,
            population: Population | None = None, progress: Callable[[int], object] | None = None,
            start_year: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Run the base and every variant on the same replicate seeds (and ``population`` from
    ``start_year``, if given).

    Returns ``(paired, summary, totals)``: per replicate and year the base value, variant value
    and difference of each compared quantity; per year the medians, bands, P(variant higher) and
    P(variant better); and the same over the whole period; each with a ``variant`` column.
    ``progress`` is called with the number of model runs just finished.
    """
    base_run = run_replicates(base, replicates=replicates, seed=seed, workers=workers, population=population,
                              progress=progress, start_year=start_year)
    paired: list[pd.DataFrame] = []
    summary: list[pd.DataFrame] = []
    totals: list[pd.DataFrame] = []
    for variant in variants:
        run = run_replicates(variant, replicates=replicates, seed=seed, workers=workers, population=population,
                             progress=progress, start_year=start_year)
        pairs = paired_differences(base_run.annual, run.annual)
        frames = (pairs, summarize_differences(pairs), total_differences(pairs))
        for frame, kept in zip(frames, (paired, summary, totals)):
            frame.insert(0, "variant", variant.name)
            kept.append(frame)
    return pd.concat(paired, ignore_index=True), pd.concat(summary, ignore_index=True), pd.concat(totals, ignore_index=True)


def _draw_differences(summary: pd.DataFrame, path: Path, *, title: str, names: dict[str, str], lang: Lang,
                      source: str) -> None:
    from tuopin.report.plots import differences

    differences(summary, path, title, names, lang, source)


def write_comparison(out: Path, base: Scenario, variants: list[Scenario], paired: pd.DataFrame, summary: pd.DataFrame,
                     totals: pd.DataFrame, *, replicates: int, seed: int, base_file: Path | None = None,
                     variant_files: list[Path] | None = None, households: Path | None = None, workers: int = 1,
                     started: datetime | None = None, t0: float | None = None) -> None:
    """Write a comparison into ``out`` whole (``differences.csv``, ``totals.csv``,
    ``paired_annual.csv``, ``differences_en.png``, ``differences_zh.png``, then ``run.json``; see
    ``tuopin compare --help``).

    ``base_file`` and ``variant_files`` (the scenario files, for their hashes), ``households``,
    ``workers`` and the start (``started`` UTC and ``t0`` from ``time.perf_counter()``) go into
    ``run.json``.
    """
    from tuopin.report.labels import text
    from tuopin.report.plots import source_line

    writers: dict[str, Callable[[Path], object]] = {
        "differences.csv": lambda path: summary.to_csv(path, index=False),
        "totals.csv": lambda path: totals.to_csv(path, index=False),
        "paired_annual.csv": lambda path: paired.to_csv(path, index=False),
    }
    langs: tuple[Lang, ...] = ("en", "zh")
    for lang in langs:
        names = {v.name: v.title.get(lang, v.name) for v in variants}
        title = text("compare_title", lang, title=base.title.get(lang, base.name), n=replicates)
        source = source_line(base.name, base.scale, replicates, seed, lang)
        writers[f"differences_{lang}.png"] = partial(_draw_differences, summary, title=title, names=names,
                                                    lang=lang, source=source)
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
