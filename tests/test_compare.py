"""Comparing scenarios: common random numbers make paired differences sharper than independent runs."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, SMALL_SCALE
from tuopin import load_scenario
from tuopin.experiments.comparison import compare, same_population
from tuopin.experiments.replicates import run_replicates

VARIANTS = ROOT / "scenarios" / "variants"


def _band_width(diff: pd.Series) -> float:
    lo, hi = np.quantile(diff.to_numpy(dtype=float), [0.05, 0.95])
    return float(hi - lo)


def test_paired_band_is_narrower_than_independent_seeds():
    base = load_scenario(ROOT / "scenarios" / "shangluo.yaml", overrides={"scale": 0.01})
    variant = load_scenario(VARIANTS / "budget_cut_20.yaml", overrides={"scale": 0.01})
    n = 30
    b = run_replicates(base, replicates=n, seed=1).annual
    v_same = run_replicates(variant, replicates=n, seed=1).annual
    v_other = run_replicates(variant, replicates=n, seed=2).annual
    total = lambda df: df.groupby("replicate")["exits"].sum()  # noqa: E731  exits over 2016-2020
    paired = _band_width(total(v_same) - total(b))
    independent = _band_width(total(v_other) - total(b))
    # measured after village sampling (issue 13): paired 0.58 x independent at this size (it was under 0.5)
    assert paired < 0.75 * independent, (paired, independent)


def test_a_variant_equal_to_its_base_differs_by_exactly_zero(small):
    paired, summary, totals = compare(small, [small.model_copy(update={"name": "same"})], replicates=3, seed=4)
    assert (paired.filter(like="_diff").fillna(0) == 0).all().all()
    assert (summary["p_variant_higher"] == 0).all() and (totals["difference_median"].fillna(0) == 0).all()
    directed = summary["better_if"] != "neither"
    assert (summary.loc[directed, "p_variant_better"] == 0).all()
    assert summary.loc[~directed, "p_variant_better"].isna().all()  # fewer relapses are not "better" as such
    assert set(summary["quantity"]) == {"exits", "relapses", "poor_end", "spending", "cost_per_sustained_exit"}


def test_budget_cut_is_worse_and_cheaper(small):
    cut = load_scenario(VARIANTS / "budget_cut_20.yaml", overrides={"scale": SMALL_SCALE})
    assert same_population(small, cut)
    _, summary, totals = compare(small, [cut], replicates=4, seed=9)
    spending = summary[summary.quantity == "spending"]
    assert (spending["difference_median"] < 0).all() and (spending["p_variant_higher"] == 0).all()
    assert spending["p_variant_better"].isna().all()  # cheaper is not better when it buys fewer exits
    total = totals.set_index("quantity")
    assert total.loc["spending", "difference_median"] == pytest.approx(
        total.loc["spending", "variant_median"] - total.loc["spending", "base_median"], rel=0.05)
    assert total.loc["exits", "p_variant_better"] < 0.5
    poor = summary[(summary.quantity == "poor_end") & (summary.year == 2020)]
    assert float(poor["difference_median"].iloc[0]) > 0


def test_compare_cli_writes_tables_and_figure(tmp_path):
    out = tmp_path / "cmp"
    r = subprocess.run(
        [sys.executable, "-m", "tuopin.cli", "compare", str(ROOT / "scenarios" / "shangluo.yaml"),
         str(VARIANTS / "no_support_continuation.yaml"), str(VARIANTS / "high_target_pressure.yaml"),
         "--replicates", "2", "--scale", str(SMALL_SCALE), "--out", str(out)],
        capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    summary = pd.read_csv(out / "differences.csv")
    assert set(summary["variant"]) == {"shangluo_no_continuation", "shangluo_high_pressure"}
    assert summary["p_variant_higher"].between(0, 1).all()
    assert (summary["difference_q05"] <= summary["difference_q95"] + 1e-9).all()
    assert set(pd.read_csv(out / "totals.csv")["years"]) == {"2016-2020"}
    for lang in ("en", "zh"):
        assert (out / f"differences_{lang}.png").stat().st_size > 0
    meta = json.loads((out / "run.json").read_text())
    assert all(v["common_random_numbers"] for v in meta["variants"])
    # levels, difference and totals, in words that say which way is better
    assert "P(variant better)" in r.stdout and "P(variant higher)" in r.stdout and "2016-2020*" in r.stdout
    assert "People still poor at year end (people; fewer is better)" in r.stdout
    assert "P(more)" not in r.stdout and not r.stderr.strip()  # no progress bar when stderr is not a terminal


def test_compare_rejects_a_bad_variant_before_running(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"base: {ROOT / 'scenarios' / 'shangluo.yaml'}\noverrides:\n  funding.multipler: 0.5\n", encoding="utf-8")
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "tuopin.cli", "compare", str(ROOT / "scenarios" / "shangluo.yaml"),
                        str(bad), "--out", str(out)], capture_output=True, text=True)
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "bad.yaml" in r.stderr and "funding.multipler" in r.stderr
    assert not out.exists()


def test_compare_on_a_household_register(tmp_path):
    cut = tmp_path / "cut.yaml"
    cut.write_text(f"base: {ROOT / 'scenarios' / 'township.yaml'}\nname: township_cut\noverrides:\n  funding.multiplier: 0.5\n",
                   encoding="utf-8")
    out = tmp_path / "cmp"
    r = subprocess.run(
        [sys.executable, "-m", "tuopin.cli", "compare", str(ROOT / "scenarios" / "township.yaml"), str(cut),
         "--households", str(ROOT / "scenarios" / "data" / "township_register.csv"), "--replicates", "3",
         "--out", str(out), "--quiet"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    paired = pd.read_csv(out / "paired_annual.csv")
    assert (paired[paired.year == 2016]["spending_diff"] < 0).all()
