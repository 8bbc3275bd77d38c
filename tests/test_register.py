"""Household register import: the shipped example, round trip, fresh copies, and every bad row."""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, SHANGLUO
from tuopin import UserError, load_scenario
from tuopin.sim.agents import CAUSE_BIT, NEAR, POOR
from tuopin.sim.keyed import Draws
from tuopin.sim.population import synthesize
from tuopin.sim.register import households_from_register
from tuopin.experiments.replicates import run_replicates

TOWNSHIP = ROOT / "scenarios" / "township.yaml"
REGISTER = ROOT / "scenarios" / "data" / "township_register.csv"
MAKER = ROOT / "scenarios" / "data" / "make_township_register.py"


@pytest.fixture(scope="module")
def township():
    return load_scenario(TOWNSHIP)


def write(tmp_path: Path, rows: list[dict], name: str = "reg.csv") -> Path:
    path = tmp_path / name
    pd.DataFrame(rows).to_csv(path, index=False, encoding="utf-8")
    return path


def read(path: Path, scenario, **options):
    """A small test register: far from the scenario's totals, so read with allow_partial."""
    return households_from_register(path, scenario, allow_partial=True, **options)


def good_row(i: int = 1, **changes) -> dict:
    row = {"household_id": f"H{i}", "county": "本乡", "village": "向家坪村", "size": 3, "labour": 1,
           "students": 1, "per_capita_income": 2500, "causes": "因病、缺资金", "safe_house": "是",
           "insured": "是", "harsh_location": "否", "eco_zone": "否"}
    return {**row, **changes}


def test_shipped_register_is_the_township_and_reads_back_exactly(township):
    hh, villages, counties = households_from_register(REGISTER, township)
    assert hh.people(hh.status == POOR) == 1500  # seed 004's registered poor
    assert set(np.unique(hh.village[hh.status == POOR])) <= set(range(10))
    # The shipped file is what the script writes, and reading it gives the synthetic households back.
    table = runpy.run_path(str(MAKER))["register_table"](2016)
    assert table.to_csv(index=False) == REGISTER.read_text(encoding="utf-8")
    ref, _, _ = synthesize(township, Draws(2016))
    rows = np.argsort(ref.village, kind="stable")  # the file lists each village's households together
    for column in ("county", "village", "size", "labour", "students", "causes", "harsh", "eco_zone",
                   "house_ok", "insured", "status"):
        assert np.array_equal(getattr(hh, column), getattr(ref, column)[rows]), column
    assert np.allclose(hh.market, ref.market[rows], atol=0.5)
    assert len(villages) == 10 and counties.name == ["本乡"]


def test_run_with_register_from_the_cli(tmp_path):
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "tuopin.cli", "run", str(TOWNSHIP), "--households", str(REGISTER),
                        "--replicates", "3", "--out", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    meta = json.loads((out / "run.json").read_text())
    assert meta["households"]["registered_poor_people"] == 1500
    assert len(meta["households"]["sha256"]) == 64
    annual = pd.read_csv(out / "annual.csv")
    assert (annual[annual.year == 2016]["poor_start"] == 1500).all()


def test_every_replicate_starts_from_the_same_register(township):
    population = households_from_register(REGISTER, township)
    before = population[0].status.copy(), population[0].market.copy()
    a = run_replicates(township, replicates=2, seed=3, population=population).annual
    b = run_replicates(township, replicates=2, seed=3, population=population).annual
    pd.testing.assert_frame_equal(a, b)
    assert np.array_equal(population[0].status, before[0]) and np.array_equal(population[0].market, before[1])
    assert (a[a.year == 2016]["poor_start"] == 1500).all()


def test_villages_by_number_when_the_scenario_names_none(tmp_path):
    shangluo = load_scenario(SHANGLUO)
    rows = [good_row(1, county="商州区", village="1"), good_row(2, county="Luonan", village="238", status="边缘户",
                                                            causes="illness; no_capital")]
    hh, villages, _ = read(write(tmp_path, rows), shangluo)
    assert hh.village.tolist() == [0, 240 + 237]  # Shangzhou has 240 villages; Luonan's 238th is its last
    assert bool(villages.poor_village[0]) and not villages.poor_village[477]
    assert hh.status.tolist() == [POOR, NEAR]
    assert hh.causes[1] == CAUSE_BIT["illness"] | CAUSE_BIT["no_capital"]
    with pytest.raises(UserError, match=r"row 2, column village.*1 to 240"):
        read(write(tmp_path, [good_row(1, county="商州区", village="241")]), shangluo)


def test_no_labour_is_a_cause(township, tmp_path):
    hh, _, _ = read(write(tmp_path, [good_row(labour=0, causes="")]), township)
    assert hh.has_cause("no_labour")[0] and not hh.has_cause("illness")[0]


BAD = [
    ("duplicate id", [good_row(1), good_row(2), good_row(1)], r"row 4, column household_id: duplicate household_id 'H1' \(first in row 2\)"),
    ("empty id", [good_row(1), good_row(2, household_id=" ")], r"row 3, column household_id"),
    ("unknown cause", [good_row(1), good_row(2, causes="因病、因穷")], r"row 3, column causes: unknown cause '因穷'"),
    ("negative income", [good_row(1, per_capita_income=-5)], r"row 2, column per_capita_income: income must not be negative"),
    ("income text", [good_row(1), good_row(2, per_capita_income="abc")], r"row 3, column per_capita_income: expected a number"),
    ("income nan", [good_row(1, per_capita_income="nan")], r"row 2, column per_capita_income"),
    ("unknown village", [good_row(1, village="不存在村")], r"row 2, column village: village '不存在村' is not in county 本乡"),
    ("unknown county", [good_row(1), good_row(2, county="外县")], r"row 3, column county: county not in the scenario"),
    ("size text", [good_row(1, size="three")], r"row 2, column size: expected a whole number"),
    ("size fraction", [good_row(1, size="2.5")], r"row 2, column size: expected a whole number"),
    ("size zero", [good_row(1, size=0)], r"row 2, column size: expected a whole number from 1"),
    ("labour above size", [good_row(1, labour=4)], r"row 2, column labour: more workers than members"),
    ("students above size", [good_row(1, students=9)], r"row 2, column students"),
    ("bad flag", [good_row(1, insured="maybe")], r"row 2, column insured: expected yes or no"),
    ("bad status", [good_row(1, status="脱贫户")], r"row 2, column status"),
]


@pytest.mark.parametrize("rows, message", [(rows, msg) for _, rows, msg in BAD], ids=[b[0] for b in BAD])
def test_bad_rows_name_file_row_and_column(township, tmp_path, rows, message):
    path = write(tmp_path, rows)
    with pytest.raises(UserError, match=message) as err:
        read(path, township)
    assert str(err.value).startswith(str(path)) and "\n" not in str(err.value)


def test_missing_column_and_wrong_scale(township, tmp_path):
    rows = [{k: v for k, v in good_row().items() if k != "per_capita_income"}]
    with pytest.raises(UserError, match=r"header \(row 1\): missing column\(s\) per_capita_income"):
        read(write(tmp_path, rows), township)
    notes: list[str] = []
    rows = [{k: v for k, v in good_row().items() if k != "eco_zone"}]
    hh, _, _ = read(write(tmp_path, rows), township, warn=notes.append)
    assert not hh.eco_zone.any() and any("no column eco_zone" in note for note in notes)
    small = load_scenario(TOWNSHIP, overrides={"scale": 0.5})
    with pytest.raises(UserError, match="scale"):
        households_from_register(REGISTER, small)


def test_bad_register_exits_2_with_one_line_and_writes_nothing(tmp_path):
    path = write(tmp_path, [good_row(1), good_row(2, causes="因病;天灾")])
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "tuopin.cli", "run", str(TOWNSHIP), "--households", str(path),
                        "--out", str(out)], capture_output=True, text=True)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "reg.csv" in lines[0] and "row 3" in lines[0] and "causes" in lines[0]
    assert "Traceback" not in r.stderr and not out.exists()
