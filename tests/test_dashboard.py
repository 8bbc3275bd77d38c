"""The dashboard's logic without a browser: controls -> overrides -> scenario, messages for bad
values, runs equal to `run_replicates`, and the tables and figures drawn from a run."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest

from tuopin.cli.app import check_port
from tuopin.app.data import (LABELS, Comparison, Controls, base_values, baseline_of, build_overrides,
                             county_table, default_scale, difference_figure, error_text, headline_table, meet_table,
                             panel_figure, prepare, scenario_files, simulate, village_colours, village_figure,
                             village_grid)
from tuopin.errors import UserError
from tuopin.experiments.replicates import run_replicates
from tuopin.scenario import load_raw

from conftest import ROOT, SHANGLUO

TOWNSHIP = ROOT / "scenarios" / "township.yaml"


@pytest.fixture(scope="module")
def raw() -> dict:
    return load_raw(SHANGLUO)[0]


@pytest.fixture(scope="module")
def outcome():
    scenario = prepare(Controls(scenario=str(SHANGLUO), scale=0.01, replicates=3))
    return simulate(scenario, 3)


def test_untouched_controls_change_nothing_but_the_scale(raw) -> None:
    overrides = build_overrides(raw, Controls(scenario=str(SHANGLUO), **{
        k: v for k, v in base_values(raw).items() if k in ("support_years", "target_pressure")}))
    assert overrides == {"scale": default_scale(raw)}
    assert 0 < default_scale(raw) < 1  # Shangluo's 489,000 people are sampled down for the page


def test_controls_become_overrides(raw) -> None:
    c = Controls(scenario=str(SHANGLUO), budget=0.8, relocation=0.5, industry_employment=1.5,
                 support_years=0, target_pressure=0.3, scale=0.02)
    o = build_overrides(raw, c)
    assert o["funding.multiplier"] == pytest.approx(0.8 * raw["funding"]["multiplier"]["value"])
    reloc = raw["batches"]["relocation"]["capacity"]["value"]
    assert o["batches.relocation.capacity"] == {y: pytest.approx(v * 0.5) for y, v in reloc.items()}
    ind = raw["batches"]["industry"]["capacity"]["value"]
    assert o["batches.industry.capacity"] == {y: pytest.approx(v * 1.5) for y, v in ind.items()}
    assert "batches.employment.capacity" in o
    assert o["relapse.support_continuation_years"] == 0
    assert o["assessment.target_pressure"] == 0.3
    s = prepare(c)
    assert s.funding.multiplier == pytest.approx(0.8)
    assert s.relapse.support_continuation_years == 0
    assert s.scale == 0.02


@pytest.mark.parametrize("change, words", [
    ({"replicates": 0}, "replicates"),
    ({"replicates": 2.5}, "replicates"),
    ({"scale": 0.0}, "scale"),
    ({"scale": 5.0}, "scale"),
    ({"scale": float("nan")}, "scale"),
    ({"budget": -1.0}, "budget"),
    ({"target_pressure": 1.5}, "target_pressure"),
    ({"support_years": 99}, "support_continuation_years"),
    ({"seed": -3}, "seed"),
    ({"scenario": "no/such/file.yaml"}, "file not found"),
])
def test_bad_values_give_one_line_naming_the_control(change, words) -> None:
    controls = Controls(**{"scenario": str(SHANGLUO), "scale": 0.01, **change})
    with pytest.raises(UserError) as err:
        prepare(controls)
    message = str(err.value)
    assert words in message and "\n" not in message


def test_dashboard_run_equals_run_replicates(outcome) -> None:
    reference = run_replicates(outcome.run.scenario, replicates=3)
    pd.testing.assert_frame_equal(outcome.run.annual, reference.annual)
    pd.testing.assert_frame_equal(outcome.run.counties, reference.counties)


def test_progress_is_reported_to_the_end() -> None:
    scenario = prepare(Controls(scenario=str(TOWNSHIP), replicates=2))
    seen = []
    simulate(scenario, 2, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 2), (2, 2)]  # each replicate runs once (the map is replicate 0's)
    assert simulate(scenario, 2, cancelled=lambda: True) is None


def test_county_table_matches_the_county_records_most_behind_first(outcome) -> None:
    counties = outcome.run.counties
    last = counties["year"].max()
    planned = {n: int(y) for y, names in outcome.run.scenario.targets.counties.items() for n in names}
    for lang in ("en", "zh"):
        table = county_table(outcome, lang)
        t = LABELS[lang]
        assert len(table) == len(outcome.county_names)
        gaps = table[t["gap"]].astype(float).tolist()  # Shangluo: a 3% threshold for every county
        assert gaps == sorted(gaps, reverse=True)  # most behind first
        for _, row in table.iterrows():
            name = row[t["county"]].split()[-1]
            g = counties[counties["county"] == name]
            poor = np.median(g[g["year"] == last]["poor_end"])
            assert row[t["poor_left"]] == f"{poor:,.0f}"
            incidence = np.median(g[g["year"] == planned[name]]["incidence"])
            assert row[t["incidence_end"]] == f"{incidence:.1%}"
            assert row[t["status"]] in (t["behind"], t["on_track"], t["no_plan"])
    assert "商州区" in county_table(outcome, "zh").iloc[:, 0].tolist()


@pytest.fixture(scope="module")
def comparison(outcome) -> Comparison:
    variant = simulate(prepare(Controls(scenario=str(SHANGLUO), scale=0.01, replicates=3, budget=0.7)), 3)
    return Comparison(outcome, variant)


def test_baseline_and_variant_are_paired_and_compared(comparison) -> None:
    base, variant = comparison.base.run, comparison.variant.run
    assert base.seed == variant.seed and base.scenario.scale == variant.scenario.scale
    totals = comparison.totals.set_index("quantity")
    exits = totals.loc["exits"]
    per_replicate = (variant.annual.groupby("replicate")["exits"].sum() - base.annual.groupby("replicate")["exits"].sum())
    assert exits["difference_median"] == pytest.approx(per_replicate.median())
    assert exits["difference_median"] < 0 and exits["p_variant_better"] == 0  # a 30% cut: fewer exits in every pair
    assert np.isnan(totals.loc["relapses", "p_variant_better"])  # fewer relapses are not "better" by themselves
    for lang in ("en", "zh"):
        t = LABELS[lang]
        table = headline_table(comparison, lang)
        assert {t["baseline"], t["variant"], t["difference"], t["p_better"]} <= set(table.columns)
        assert t["q_net_reduction"] in table[t["quantity"]].tolist()
        assert table[t["p_better"]].iloc[table[t["quantity"]].tolist().index(t["q_relapses"])] == t["neither"]
        meet = meet_table(comparison, lang)
        assert len(meet) == 5 and t["app_p_meet"].format(which=t["variant"]) in meet.columns


def test_baseline_of_keeps_only_the_run_settings() -> None:
    c = Controls(scenario=str(SHANGLUO), budget=0.5, relocation=2.0, support_years=0, replicates=4, scale=0.01, seed=3)
    assert baseline_of(c) == Controls(scenario=str(SHANGLUO), replicates=4, scale=0.01, seed=3)


def test_error_messages_follow_the_language() -> None:
    for change in ({"replicates": 0}, {"scale": 5.0}, {"target_pressure": 1.5}, {"scenario": "no/such.yaml"}):
        with pytest.raises(UserError) as err:
            prepare(Controls(**{"scenario": str(SHANGLUO), "scale": 0.01, **change}))
        zh = error_text(err.value, "zh")
        assert not any("a" <= ch.lower() <= "z" for ch in zh), zh  # no English left in Chinese mode
        assert error_text(err.value, "en") != zh


def test_village_grid_has_one_cell_per_poor_village(outcome) -> None:
    grid, ticks, k, years = village_grid(outcome)
    v = outcome.villages
    assert k == 1
    assert np.isfinite(grid).sum() == v.poor_village.sum()
    not_exited = (v.poor_village & (v.exit_year < 0)).sum()
    assert (grid == len(years)).sum() == not_exited
    assert [name for _, name in ticks] == outcome.county_names
    # the map is replicate 0's end state: its exited villages are the ones its annual row counts
    annual = outcome.run.annual
    last = annual[(annual["replicate"] == 0) & (annual["year"] == annual["year"].max())]
    assert (v.poor_village & (v.exit_year >= 0)).sum() == int(last["villages_exited_total"].iloc[0])


def test_figures_in_both_languages(comparison) -> None:
    for lang in ("en", "zh"):
        for column in ("exits", "poor_end", "relapses"):
            fig = panel_figure(comparison, column, lang)
            assert len(fig.axes[0].lines) >= 2  # baseline and variant
        assert difference_figure(comparison, lang).axes
        assert difference_figure(Comparison(comparison.base), lang) is None
        assert village_figure(comparison.shown, lang).axes
    colours = village_colours(5)
    assert len(set(colours)) == 6 and "#E69F00" == colours[-1]  # not exited: orange, exit years: blues


def test_every_shipped_scenario_is_offered_and_prepares() -> None:
    files = scenario_files(ROOT / "scenarios")
    assert SHANGLUO in files and any(f.parent.name == "variants" for f in files)
    for f in files:
        prepare(Controls(scenario=str(f), replicates=1))


def test_app_refuses_a_taken_port() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(UserError, match="--port"):
            check_port("127.0.0.1", s.getsockname()[1])
    with pytest.raises(UserError, match="--port"):
        check_port("127.0.0.1", 70000)


def test_app_help_names_every_control() -> None:
    from tuopin.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    text = sub.choices["app"].format_help()
    for word in ("Budget", "Relocation", "Support after exit", "Target pressure", "Replicates", "Scale", "--port",
                 "--households", "Start year"):
        assert word in text


def test_moved_levers_name_only_what_differs_from_the_plan(raw) -> None:
    from tuopin.app.data import moved_levers

    as_file = base_values(raw)
    same = Controls(scenario=str(SHANGLUO), support_years=as_file["support_years"],
                    target_pressure=as_file["target_pressure"])
    assert moved_levers(raw, same) == {}
    moved = Controls(scenario=str(SHANGLUO), budget=0.8, relocation=0.5, support_years=0, target_pressure=0.0)
    assert moved_levers(raw, moved) == {"budget": 0.8, "relocation": 0.5, "support_years": 0.0}


def test_the_page_starts_from_a_register_in_a_later_year(monkeypatch) -> None:
    from tuopin.app.data import load_register, register_file

    xlsx = ROOT / "scenarios" / "data" / "township_register_2017.xlsx"
    monkeypatch.setenv("TUOPIN_HOUSEHOLDS", str(xlsx))
    register = register_file()
    assert register is not None and register.path == xlsx and not register.allow_partial
    controls = Controls(scenario=str(TOWNSHIP), replicates=2, scale=0.5, start_year=2018)
    scenario = prepare(controls)
    assert scenario.scale == 1.0  # a register is simulated whole, whatever the scale control says
    population = load_register(register, scenario, controls.start_year)
    outcome = simulate(scenario, 2, population=population, start_year=2018)
    assert set(outcome.run.annual["year"]) == {2018}
    reference = run_replicates(scenario, replicates=2, population=population, start_year=2018)
    pd.testing.assert_frame_equal(outcome.run.annual, reference.annual)
    with pytest.raises(UserError, match="脱贫年度"):  # exits of 2016-2017 are not before a 2016 start
        load_register(register, scenario, 2016)
