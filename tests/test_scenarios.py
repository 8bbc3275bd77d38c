"""Every seed plan as a scenario, the Shangluo variants, --scale, and the mean-income village rule."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, SHANGLUO
from tuopin import PovertyModel, UserError, load_scenario
from tuopin.experiments.replicates import run_replicates
from tuopin.scenario import read_yaml
from tuopin.sim.villages import exit_villages, village_mean_income

SCENARIOS = ROOT / "scenarios"
PLANS = {  # file: (scale for a quick test, registered poor people, exit targets by year)
    "national.yaml": (0.0005, 55_750_000, {2016: 10e6, 2017: 10e6, 2018: 10e6, 2019: 10e6, 2020: 15.75e6}),
    "meizhou_qingyuan.yaml": (0.05, 206_000, {2016: 80_000, 2017: 70_000, 2018: 56_000}),
    "anshan_gaoxin.yaml": (1.0, 260, {2016: 80, 2017: 100, 2018: 80}),
    "township.yaml": (1.0, 1_500, {2016: 320, 2017: 480, 2018: 600}),
}
VARIANTS = {
    "budget_cut_20.yaml": {("funding", "multiplier"): 0.8},
    "relocation_late.yaml": {("batches", "relocation", "start_year"): 2017,
                             ("batches", "relocation", "capacity"): {2016: 0, 2017: 70000, 2018: 80000, 2019: 60000, 2020: 51200}},
    "no_support_continuation.yaml": {("relapse", "support_continuation_years"): 0},
    "high_target_pressure.yaml": {("assessment", "target_pressure"): 0.8},
}


def _param(scenario, path):
    node = scenario
    for key in path:
        node = getattr(node, key)
    return node


@pytest.mark.parametrize("name", sorted(PLANS))
def test_plan_runs_and_is_plausible(name):
    scale, poor, targets = PLANS[name]
    scenario = load_scenario(SCENARIOS / name, overrides={"scale": scale})
    assert sum(r.poor_people for r in scenario.counties.rows) == poor
    assert scenario.targets.exits == targets
    annual = run_replicates(scenario, replicates=2, seed=1).annual
    first = annual[annual.year == min(targets)]
    # real people whatever the scale: exact when whole, an estimate from sampled villages below
    assert np.allclose(first["poor_start"], poor, rtol=0.02 if scale == 1 else 0.06)
    totals = annual.groupby("replicate")["exits"].sum()
    assert (totals > 0.5 * poor).all() and (totals < 1.5 * poor).all()
    end = annual[annual.year == annual.year.max()]
    assert (end["poor_end"] < 0.6 * poor).all()
    assert (annual["spending"] <= annual["budget"] * (1 + 1e-9)).all()


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_variant_changes_only_what_it_says(name):
    base = load_scenario(SHANGLUO)
    variant = load_scenario(SCENARIOS / "variants" / name)
    for path, value in VARIANTS[name].items():
        assert _param(variant, path) == value
    changed = {k for k in type(base).model_fields if getattr(base, k) != getattr(variant, k)}
    assert changed == {"name", "title", *(path[0] for path in VARIANTS[name])}
    assert read_yaml(SCENARIOS / "variants" / name)["base"] == "../shangluo.yaml"


def test_relocation_late_keeps_the_total():
    base = load_scenario(SHANGLUO).batches.relocation.capacity
    late = load_scenario(SCENARIOS / "variants" / "relocation_late.yaml").batches.relocation.capacity
    assert sum(base.values()) == sum(late.values()) and late[2016] == 0 and late[2017] == base[2016]


def test_scale_option_samples_but_reports_real_people(tmp_path):
    out = tmp_path / "nat"
    r = subprocess.run([sys.executable, "-m", "tuopin.cli", "run", str(SCENARIOS / "national.yaml"), "--scale", "0.0002",
                        "--replicates", "1", "--out", str(out), "--quiet"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "run.json").read_text())["scale"] == 0.0002
    r = subprocess.run([sys.executable, "-m", "tuopin.cli", "run", str(SCENARIOS / "township.yaml"), "--scale", "0",
                        "--out", str(tmp_path / "x")], capture_output=True, text=True)
    assert r.returncode == 2 and "township.yaml: scale" in r.stderr and len(r.stderr.strip().splitlines()) == 1


# ------------------------------------------------------------------ mean-income village rule


@pytest.fixture(scope="module")
def guangdong():
    return load_scenario(SCENARIOS / "meizhou_qingyuan.yaml", overrides={"scale": 0.02})


def test_village_mean_income_counts_everyone(guangdong):
    m = PovertyModel(guangdong, rng=2)
    m.year = 2016
    m.hh.net = np.random.default_rng(2).uniform(0, 12000, len(m.hh))
    got = village_mean_income(m)
    ratio, line = guangdong.exit_rules.resident_income_ratio, m.line
    for v in (0, 5, len(m.villages) - 1):  # by hand, one village at a time
        here = m.hh.village == v
        people = m.hh.size[here].sum()
        others = m.villages.population[v] - people
        expected = ((m.hh.net[here] * m.hh.size[here]).sum() + others * ratio * line) / m.villages.population[v]
        assert got[v] == pytest.approx(expected)


def test_villages_exit_by_mean_income_not_incidence(guangdong):
    m = PovertyModel(guangdong, rng=2)
    m.year = 2017
    v = m.villages
    v.infra_done[:] = True
    threshold = guangdong.exit_rules.village_income_threshold[2017]
    mean = village_mean_income(m)
    exited = exit_villages(m)
    assert exited == pytest.approx(v.weight[v.poor_village & (mean >= threshold)].sum())
    assert np.array_equal(v.exit_year == 2017, v.poor_village & (mean >= threshold))
    # everyone rich: every poor village passes, even though nobody's status changed
    m.year = 2018
    m.hh.net[:] = 50_000
    exit_villages(m)
    assert (v.exit_year[v.poor_village] >= 0).all()


def test_village_without_infrastructure_never_exits(guangdong):
    m = PovertyModel(guangdong, rng=2)
    m.year = 2016
    m.villages.infra_done[:] = False
    m.hh.net[:] = 50_000
    assert exit_villages(m) == 0


def test_shangluo_keeps_the_incidence_rule(small):
    assert small.exit_rules.village_rule == "incidence"
    assert small.exit_rules.village_income_threshold is None


def test_mean_income_rule_needs_its_threshold(tmp_path):
    text = (SCENARIOS / "meizhou_qingyuan.yaml").read_text(encoding="utf-8")
    start = text.index("  village_income_threshold:")
    end = text.index("  resident_income_ratio:")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text[:start] + text[end:], encoding="utf-8")
    with pytest.raises(UserError, match="village_income_threshold is required"):
        load_scenario(bad)
    with pytest.raises(UserError, match=r"village_income_threshold: no value for year\(s\) \[2018\]"):
        load_scenario(SCENARIOS / "meizhou_qingyuan.yaml",
                      overrides={"exit_rules.village_income_threshold": {2016: 8577, 2017: 9177}})


def test_parameters_are_bare_values_and_keep_their_unit_and_source():
    scenario = load_scenario(SHANGLUO)
    raw = read_yaml(SHANGLUO)
    written = raw["economy"]["illness_rate"]
    assert scenario.economy.illness_rate == written["value"] and isinstance(scenario.economy.illness_rate, float)
    assert scenario.economy.unit_of("illness_rate") == written["unit"]
    assert scenario.economy.source_of("illness_rate") == written["source"]
    # Dumped, a scenario is in its file form again (every parameter {value, unit, source}) and validates the same.
    dumped = scenario.model_dump()
    assert dumped["economy"]["illness_rate"] == {**written, "value": scenario.economy.illness_rate}
    assert type(scenario).model_validate(dumped) == scenario
