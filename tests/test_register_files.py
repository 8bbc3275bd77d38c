"""Registers as county systems export them: spreadsheets and GBK CSV, official Chinese columns,
person rows, status at a start year, the floor, township-qualified villages, totals; and runs that
start from a register in any year of the plan."""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT
from tuopin import PovertyModel, UserError, load_scenario
from tuopin.experiments.replicates import run_replicates
from tuopin.sim.agents import BATCH_INDEX, EXITED, NEAR, POOR
from tuopin.sim.interventions import social_floor
from tuopin.sim.register import TOLERANCE, describe, households_from_register
from tuopin.sim.register_files import _text, read_table

TOWNSHIP = ROOT / "scenarios" / "township.yaml"
DATA = ROOT / "scenarios" / "data"
XLSX = DATA / "township_register_2017.xlsx"
GBK = DATA / "township_register_2017_gbk.csv"
MAKER = runpy.run_path(str(DATA / "make_township_register.py"))
FLOOR = BATCH_INDEX["social_floor"]


@pytest.fixture(scope="module")
def township():
    return load_scenario(TOWNSHIP)


@pytest.fixture(scope="module")
def official() -> pd.DataFrame:
    """The person rows the script writes (the township at the end of 2017)."""
    return MAKER["official_table"](2016)


@pytest.fixture(scope="module")
def state_2017(township):
    """The model's own township at the end of 2017: what the shipped registers hold."""
    model = PovertyModel(township, rng=2016)
    model.step()
    model.step()
    return model.hh


def person(hid: str = "H1", k: int = 1, **changes) -> dict:
    """One person row in the official layout (household fields repeated)."""
    row = {"县": "本县", "乡镇": "本乡", "行政村": "向家坪村", "户编号": hid, "人编号": f"{hid}-{k}",
           "与户主关系": "户主" if k == 1 else "之子", "在校生状况": "非在校生", "健康状况": "健康",
           "劳动技能": "普通劳动力", "务工状况": "", "参加城乡居民基本医疗保险": "是", "人均纯收入": "2500",
           "主要致贫原因": "因病", "其他致贫原因": "", "危房户": "否", "饮水安全": "是", "贫困户属性": "一般贫困户",
           "脱贫属性": "未脱贫", "脱贫年度": ""}
    return {**row, **changes}


def write(tmp_path: Path, rows: list[dict], name: str = "reg.csv", encoding: str = "utf-8", title: str = "") -> Path:
    path = tmp_path / name
    text = (title + "\n" if title else "") + pd.DataFrame(rows).to_csv(index=False)
    path.write_bytes(text.encode(encoding))
    return path


def read(path: Path, scenario, **options):
    return households_from_register(path, scenario, allow_partial=True, **options)


def trimmed_register(tmp_path: Path) -> tuple[Path, int]:
    """The shipped GBK register less one registered poor household: a register within the totals'
    tolerance that differs from the scenario. Returns its path and its registered people."""
    table = pd.read_csv(GBK, encoding="gbk", skiprows=1, dtype=str, keep_default_na=False)
    first = table.loc[table["脱贫属性"] == "未脱贫", "户编号"].iloc[0]
    kept = table[table["户编号"] != first]
    path = tmp_path / "trimmed.csv"
    kept.to_csv(path, index=False, encoding="utf-8")
    counts = describe(households_from_register(path, load_scenario(TOWNSHIP), allow_partial=True, start_year=2018))
    return path, counts["registered_poor_people"] + counts["exited_people"]


COMPARED = ("county", "village", "size", "labour", "students", "causes", "harsh", "eco_zone", "house_ok", "insured",
            "status", "exit_year")


def test_shipped_official_registers_hold_the_model_state_of_2017(township, state_2017, official):
    xlsx = households_from_register(XLSX, township, start_year=2018)
    gbk = households_from_register(GBK, township, start_year=2018)
    for hh in (xlsx[0], gbk[0]):
        for column in COMPARED:
            assert np.array_equal(getattr(hh, column), getattr(state_2017, column)), column
        assert np.allclose(hh.market, np.round(np.maximum(state_2017.net, 0)))
        on_floor = (state_2017.enrolled[FLOOR] >= 0) & (state_2017.status != NEAR)
        assert np.array_equal(hh.enrolled[FLOOR] >= 0, on_floor)
    # every status the issue names is in it: poor, exited in 2016 and 2017, relapsed, near-poor, the floor
    hh = xlsx[0]
    assert {POOR, EXITED, NEAR} <= set(np.unique(hh.status))
    assert set(np.unique(hh.exit_year[hh.status == EXITED])) == {2016, 2017}
    # relapsed (返贫: poor again after an exit) exactly where the model's state has them
    assert np.array_equal((hh.status == POOR) & (hh.exit_year >= 0),
                          (state_2017.status == POOR) & (state_2017.exit_year >= 0))
    assert describe(xlsx)["floor_people"] > 0
    # the shipped files are what the script writes: same cells below the same title row
    for path in (XLSX, GBK):
        table = read_table(path)
        assert table.header_row == 2 and len(table.cells) == len(official)
        assert set(official.columns) - set(table.cells.columns) <= {"民族"}  # a column tuopin does not read
        for column in table.cells.columns:
            assert [_text(v) for v in table.cells[column]] == official[column].astype(str).tolist(), column
    assert GBK.read_bytes().decode("gbk").startswith("本乡建档立卡")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings_and_a_title_row(tmp_path, township, encoding):
    rows = [person("H1", 1), person("H1", 2, 在校生状况="初中", 劳动技能="无劳动力"), person("H2", 1, 行政村="白雪垭村")]
    hh, _, _ = read(write(tmp_path, rows, encoding=encoding, title="某县建档立卡贫困人口,,导出"), township)
    assert hh.size.tolist() == [2, 1] and hh.labour.tolist() == [1, 1] and hh.students.tolist() == [1, 0]


def test_xls_and_xlsx_give_the_same_households(tmp_path, township, official):
    import xlwt

    rows = official.iloc[:300]
    book = xlwt.Workbook()
    sheet = book.add_sheet("人口", cell_overwrite_ok=True)
    sheet.write(0, 0, "标题行")
    for j, name in enumerate(rows.columns):
        sheet.write(2, j, name)  # an empty row between title and header
        for i, value in enumerate(rows[name].tolist()):
            sheet.write(i + 3, j, value)
    book.save(str(tmp_path / "reg.xls"))
    MAKER["write_xlsx"](rows, tmp_path / "reg.xlsx")
    a, _, _ = read(tmp_path / "reg.xls", township, start_year=2018)
    b, _, _ = read(tmp_path / "reg.xlsx", township, start_year=2018)
    for column in COMPARED:
        assert np.array_equal(getattr(a, column), getattr(b, column)), column
    sheet.write(4, list(rows.columns).index("人编号"), rows["人编号"].iloc[0])  # spreadsheet row 5 = row 4's id
    book.save(str(tmp_path / "reg.xls"))
    with pytest.raises(UserError, match=r"reg.xls: row 5, column 人编号: duplicate person id .* \(first in row 4\)"):
        read(tmp_path / "reg.xls", township, start_year=2018)


def test_person_rows_aggregate(tmp_path, township):
    rows = [
        person("H1", 1, 务工状况="省外务工", 劳动技能="弱劳动力或半劳动力"),  # works away: labour
        person("H1", 2, 健康状况="患有大病"),  # seriously ill: not labour this year
        person("H1", 3, 在校生状况="高中", 劳动技能="无劳动力"),
        person("H1", 4, 参加城乡居民基本医疗保险="否", 劳动技能="丧失劳动力"),
        person("H2", 1, 主要致贫原因="缺劳动力", 其他致贫原因="其他、缺水", 危房户="是", 饮水安全="否",
               劳动技能="无劳动力", 贫困户属性="特困供养贫困户", 行政村="罗张窝村"),
        person("H3", 1, 主要致贫原因="其它", 脱贫属性="已脱贫", 脱贫年度="2016年", 行政村="第八村"),
        person("H4", 1, 脱贫属性="返贫", 脱贫年度="2017", 劳动技能="技能劳动力", 贫困户属性="低保贫困户", 主要致贫原因="缺资金"),
    ]
    hh, villages, _ = read(write(tmp_path, rows), township, start_year=2018)
    assert hh.size.tolist() == [4, 1, 1, 1]
    assert hh.labour.tolist() == [1, 0, 1, 1] and hh.students.tolist() == [1, 0, 0, 0]
    assert hh.insured.tolist() == [False, True, True, True]
    assert hh.house_ok.tolist() == [True, False, True, True]  # 危房户 是 = an unsafe house
    assert hh.has_cause("illness").tolist() == [True, False, False, False]
    assert hh.has_cause("no_labour").tolist() == [False, True, False, False]
    assert hh.has_cause("no_water").tolist() == [False, True, False, False]
    assert hh.causes[2] == 0  # 其它: known, and no rule acts on it
    assert hh.status.tolist() == [POOR, POOR, EXITED, POOR]
    assert hh.exit_year.tolist() == [-1, -1, 2016, 2017]
    assert (hh.enrolled[FLOOR] >= 0).tolist() == [False, True, False, True]
    assert hh.village.tolist() == [0, 1, 7, 0]


def test_english_person_columns_and_a_mapping_file(tmp_path, township):
    english = [{"household_id": "A", "person_id": "A1", "relationship": "head", "county": "The township",
                "village": "向家坪村", "labour_skill": "ordinary", "in_school": "no", "basic_insurance": "yes",
                "per_capita_income": 3000, "causes": "illness", "unsafe_house": "no", "status": "exited",
                "exit_year": 2017}]
    hh, _, _ = read(write(tmp_path, english), township, start_year=2018)
    assert hh.status.tolist() == [EXITED] and hh.exit_year.tolist() == [2017] and hh.labour.tolist() == [1]

    theirs = [{k.replace("户编号", "家庭编号").replace("人均纯收入", "家庭年人均纯收入"): v for k, v in
               person("H1", 1, 脱贫属性="脱贫户", 脱贫年度="2017", 主要致贫原因="因婚").items()}]
    mapping = tmp_path / "map.yaml"
    mapping.write_text("columns:\n  家庭编号: 户编号\n  家庭年人均纯收入: per_capita_income\n"
                       "values:\n  脱贫属性: {脱贫户: 已脱贫}\n  主要致贫原因: {因婚: 其他}\n", encoding="utf-8")
    hh, _, _ = read(write(tmp_path, theirs), township, mapping=mapping, start_year=2018)
    assert hh.status.tolist() == [EXITED] and hh.market.tolist() == [2500.0]
    with pytest.raises(UserError, match=r"reg.csv: header \(row 1\): missing column\(s\) household_id \(户编号\)"):
        read(write(tmp_path, theirs), township, start_year=2018)
    mapping.write_text("columns:\n  家庭编号: 家庭号码\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"map.yaml: columns.家庭编号: '家庭号码' is not a register column"):
        read(write(tmp_path, theirs), township, mapping=mapping)
    mapping.write_text("columns: &a\n  家庭编号: 户编号\nvalues: *a\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"map.yaml: .*aliases"):
        read(write(tmp_path, theirs), township, mapping=mapping)


BAD = [
    ("inverted 危房户", [person("H1", 1), person("H2", 1, 危房户="安全")], r"row 3, column 危房户: 危房户 is 是 when"),
    ("危房户 contradicts safe_house", [person("H1", 1, 住房安全="是", 危房户="是")], r"row 2, column 危房户: .*contradicts"),
    ("unknown 脱贫属性", [person("H1", 1, 脱贫属性="已摘帽")], r"row 2, column 脱贫属性: unknown 脱贫属性"),
    ("duplicate 人编号", [person("H1", 1), person("H1", 2), person("H2", 1, 人编号="H1-2")],
     r"row 4, column 人编号: duplicate person id 'H1-2' \(first in row 3\)"),
    ("no head", [person("H1", 1), person("H2", 2), person("H2", 3)],
     r"row 3, column 与户主关系: household 'H2' has no household head"),
    ("two heads", [person("H1", 1), person("H1", 2, 与户主关系="户主")], r"row 2, column 与户主关系: .*2 household heads"),
    ("conflicting field", [person("H1", 1), person("H1", 2, 人均纯收入="2600")],
     r"row 3, column 人均纯收入: household 'H1' has '2600' here but '2500' in row 2"),
    ("exit year at the start", [person("H1", 1, 脱贫属性="已脱贫", 脱贫年度="2018")], r"row 2, column 脱贫年度: .*before the start"),
    ("exited without a year", [person("H1", 1, 脱贫属性="已脱贫")], r"row 2, column 脱贫年度: .*needs its exit year"),
    ("a year for the poor", [person("H1", 1, 脱贫年度="2016")], r"row 2, column 脱贫年度: .*has not exited"),
    ("unknown skill", [person("H1", 1, 劳动技能="很能干")], r"row 2, column 劳动技能: unknown 劳动技能"),
    ("unknown school", [person("H1", 1, 在校生状况="大概")], r"row 2, column 在校生状况"),
    ("unknown type", [person("H1", 1, 贫困户属性="困难户")], r"row 2, column 贫困户属性"),
    ("size differs", [person("H1", 1, 家庭人口数="3"), person("H1", 2, 家庭人口数="3")],
     r"row 2, column 家庭人口数: household 'H1' has 2 member rows but 家庭人口数 says '3'"),
]


@pytest.mark.parametrize("rows, message", [(rows, msg) for _, rows, msg in BAD], ids=[b[0] for b in BAD])
def test_bad_person_rows_name_file_row_and_column(township, tmp_path, rows, message):
    path = write(tmp_path, rows)
    with pytest.raises(UserError, match=message) as err:
        read(path, township, start_year=2018)
    assert str(err.value).startswith(str(path)) and "\n" not in str(err.value)


def test_title_rows_count_in_row_numbers(tmp_path, township):
    path = write(tmp_path, [person("H1", 1), person("H2", 1, 危房户="安全")], title="标题\n导出时间：2018-01-05")
    with pytest.raises(UserError, match=r"row 5, column 危房户"):
        read(path, township)


def test_villages_by_county_township_and_village(tmp_path, township):
    names = ["甲镇/向家坪村", "乙镇/向家坪村", *township.counties.rows[0].village_names[2:]]
    rows = [{"name": "本县", "name_en": "The county", "poor_people": 4, "poor_villages": 3, "other_villages": 7,
             "rural_population": 12000, "village_names": names}]
    scenario = load_scenario(TOWNSHIP, overrides={"counties.rows": rows})
    register = [person("H1", 1, 乡镇="甲镇"), person("H2", 1, 乡镇="乙镇"), person("H3", 1, 乡镇="乙镇", 行政村="苏家坪村")]
    hh, _, _ = read(write(tmp_path, register), scenario)
    assert hh.village.tolist() == [0, 1, 3]
    # the same village name in two townships, but once in the scenario: refused, not merged
    plain = [{**rows[0], "village_names": township.counties.rows[0].village_names}]
    scenario = load_scenario(TOWNSHIP, overrides={"counties.rows": plain})
    with pytest.raises(UserError, match=r"row 3, column 行政村: village '向家坪村' is in townships '甲镇' and '乙镇'"):
        read(write(tmp_path, register), scenario)


def test_totals_against_the_scenario(tmp_path, township):
    path = write(tmp_path, [person("H1", 1)])
    with pytest.raises(UserError, match=r"does not match scenario township .*registered people 1 vs 1,500; "
                                        r"poor villages with registered households 1 vs 3.*--allow-partial"):
        households_from_register(path, township)
    notes: list[str] = []
    read(path, township, warn=notes.append)
    assert any("registered people" in n and "1,500" in n and "-99.9%" in n for n in notes)
    # within the tolerance: a warning with the figures side by side, and the run goes on
    notes = []
    trimmed, registered = trimmed_register(tmp_path)
    assert registered < 1_500
    households_from_register(trimmed, township, start_year=2018, warn=notes.append)
    table = next(n for n in notes if "totals differ" in n)
    assert f"{registered:,}" in table and "1,500" in table and f"{TOLERANCE:.0%}" in table


def test_a_run_from_2018_meets_the_register_where_it_stands(township):
    population = households_from_register(XLSX, township, start_year=2018)
    run = run_replicates(township, replicates=3, seed=5, population=population, start_year=2018)
    annual = run.annual
    assert annual["year"].tolist() == [2018] * 3
    assert (annual["target_exits"] == 600).all()
    assert (annual["poor_start"] == describe(population)["registered_poor_people"]).all()
    assert (annual["exits"] > 0).all()
    two = run_replicates(township, replicates=3, seed=5, population=population, start_year=2018, workers=2)
    pd.testing.assert_frame_equal(annual, two.annual)


def test_exited_households_relapse_and_the_floor_holds(tmp_path, township):
    rows = [person("H1", 1, 脱贫属性="已脱贫", 脱贫年度="2017", 人均纯收入="0", 主要致贫原因="缺资金"),
            person("H2", 1, 贫困户属性="低保贫困户", 人均纯收入="0")]
    population = read(write(tmp_path, rows), township, start_year=2018)
    model = PovertyModel(township, rng=1, population=population, start_year=2018)
    model.step()
    assert model.year == 2018 and not model.running
    assert model.flows["relapses"] == 1  # the exited household fell back
    assert (model.hh.enrolled[social_floor.ROW] >= 0).tolist() == [False, True]  # the 低保 household, with labour
    assert model.hh.net[1] >= model.line


def test_start_year_needs_a_register_in_the_horizon(township):
    with pytest.raises(UserError, match="needs the state at the end of 2017"):
        PovertyModel(township, rng=1, start_year=2018)
    with pytest.raises(UserError, match="outside the scenario's years 2016-2018"):
        households_from_register(XLSX, township, start_year=2019)


def test_cli_run_and_compare_from_2018(tmp_path):
    out = tmp_path / "run"
    trimmed, registered = trimmed_register(tmp_path)
    r = subprocess.run([sys.executable, "-m", "tuopin.cli", "run", str(TOWNSHIP), "--households", str(trimmed),
                        "--start-year", "2018", "--replicates", "2", "--out", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "tuopin: warning:" in r.stderr and f"{registered:,}" in r.stderr and "1,500" in r.stderr
    assert r.stdout.splitlines()[1].split()[0] == "2018"
    meta = json.loads((out / "run.json").read_text())
    assert meta["start_year"] == 2018 and meta["households"]["exited_people"] > 0
    cut = tmp_path / "cut.yaml"
    cut.write_text(f"base: {TOWNSHIP}\nname: township_cut\noverrides:\n  funding.multiplier: 0.5\n", encoding="utf-8")
    out = tmp_path / "compare"
    r = subprocess.run([sys.executable, "-m", "tuopin.cli", "compare", str(TOWNSHIP), str(cut), "--households",
                        str(XLSX), "--start-year", "2018", "--replicates", "2", "--out", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    paired = pd.read_csv(out / "paired_annual.csv")
    assert set(paired["year"]) == {2018}
    r = subprocess.run([sys.executable, "-m", "tuopin.cli", "run", str(TOWNSHIP), "--start-year", "2018",
                        "--out", str(tmp_path / "x")], capture_output=True, text=True)
    assert r.returncode == 2 and "--start-year needs --households" in r.stderr
