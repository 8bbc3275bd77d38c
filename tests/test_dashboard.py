"""The dashboard's logic without a browser: controls -> overrides -> scenario, messages for bad
values, runs equal to `run_replicates`, and the tables and figures drawn from a run."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest

from tuopin.cli.app import check_port
from tuopin.app.data import (LABELS, Controls, base_values, build_overrides, county_table, default_scale,
                                   headline, outcome_figure, prepare, scenario_files, simulate, village_figure,
                                   village_grid)
from tuopin.errors import UserError
from tuopin.experiments.replicates import run_replicates
from tuopin.scenario.schema import load_raw

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
    assert s.funding.multiplier.value == pytest.approx(0.8)
    assert s.relapse.support_continuation_years.value == 0
    assert s.scale.value == 0.02


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
    assert seen == [(1, 3), (2, 3), (3, 3)]
    assert simulate(scenario, 2, cancelled=lambda: True) is None


def test_county_table_matches_the_county_records(outcome) -> None:
    counties = outcome.run.counties
    last = counties["year"].max()
    for lang in ("en", "zh"):
        table = county_table(outcome, lang)
        t = LABELS[lang]
        assert len(table) == len(outcome.county_names)
        for name, (_, row) in zip(outcome.county_names, table.iterrows()):
            poor = np.median(counties[(counties["county"] == name) & (counties["year"] == last)]["poor_end"])
            assert row[t["poor_left"]] == f"{poor:,.0f}"
            assert row[t["status"]] in (t["behind"], t["on_track"], t["no_plan"])
    assert "商州区" in county_table(outcome, "zh").iloc[:, 0].tolist()


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


def test_figures_and_headline_in_both_languages(outcome) -> None:
    for lang in ("en", "zh"):
        assert len(outcome_figure(outcome, lang).axes) == 3
        assert village_figure(outcome, lang).axes
        assert str(outcome.run.annual["year"].max()) in headline(outcome, lang)


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
    assert scenario.scale.value == 1.0  # a register is simulated whole, whatever the scale control says
    population = load_register(register, scenario, controls.start_year)
    outcome = simulate(scenario, 2, population=population, start_year=2018)
    assert set(outcome.run.annual["year"]) == {2018}
    reference = run_replicates(scenario, replicates=2, population=population, start_year=2018)
    pd.testing.assert_frame_equal(outcome.run.annual, reference.annual)
    with pytest.raises(UserError, match="脱贫年度"):  # exits of 2016-2017 are not before a 2016 start
        load_register(register, scenario, 2016)
