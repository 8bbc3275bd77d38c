"""Sensitivity: a parameter the model ignores gets indices near zero; an influential one does not."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from conftest import SHANGLUO
from tuopin.cli import main as cli
from tuopin.experiments import load_spec, run_sensitivity

ZERO_CAPACITY = {year: 0 for year in range(2016, 2021)}


def spec(tmp_path, design: str, points: int):
    # With no industry places at all, nobody is enrolled in industry, so the industry gain per
    # capita cannot change anything: its true indices are exactly zero.
    path = tmp_path / f"{design}.yaml"
    path.write_text(yaml.safe_dump({
        "base": str(SHANGLUO), "scale": 0.01, "design": design, "points": points, "replicates": 1,
        "seed": 3, "common_random_numbers": True,
        "overrides": {"batches.industry.capacity": ZERO_CAPACITY},
        "parameters": {
            "economy.income_growth": {"low": 0.0, "high": 0.1},
            "batches.industry.gain_per_capita": {"low": 500, "high": 5000},
            "relapse.support_continuation_years": {"low": 0, "high": 5, "integer": True},
        },
    }), encoding="utf-8")
    return path


@pytest.mark.parametrize("design, points", [("sobol", 16), ("morris", 6)])
def test_ignored_parameter_near_zero_influential_one_clearly_larger(tmp_path, design, points):
    out = tmp_path / "out"
    run_sensitivity(load_spec(spec(tmp_path, design, points)), out)
    table = pd.read_csv(out / "sensitivity.csv").set_index(["output", "parameter"])
    assert (out / "sensitivity.png").stat().st_size > 10_000 and (out / "run.json").exists()
    key = "ST" if design == "sobol" else "mu_star"
    for output in ("cumulative_exits", "total_relapses", "cost_per_sustained_exit"):
        ignored = table.loc[(output, "batches.industry.gain_per_capita")]
        growth = table.loc[(output, "economy.income_growth")]
        assert abs(ignored[key]) < 0.01 * max(1.0, abs(growth[key]))
        if design == "sobol":
            assert growth["ST"] > 0.3 and growth["ST"] > ignored["ST"] + ignored["ST_conf"]
            assert abs(ignored["S1"]) < 0.01
        else:
            assert growth["mu_star"] > 0
    assert set(table.index.get_level_values("output")) == {
        "cumulative_exits", "total_relapses", "cost_per_sustained_exit", "last_county_exit_year"}


def test_sensitivity_refuses_a_latin_design(tmp_path):
    path = spec(tmp_path, "latin", 4)
    assert cli(["sensitivity", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert not (tmp_path / "out").exists()
