"""Write the township's synthetic registers (scenarios/township.yaml); no real person is in them.

* ``township_register.csv``: tuopin's own layout, one row per household, English headers: the
  model's synthetic draw for the township at the plan's start (seed 004's 1,500 registered poor
  in 3 poor villages, plus near-poor 边缘户).
* ``township_register_2017.xlsx`` and ``township_register_2017_gbk.csv``: the same township at the
  end of 2017 in the layout of the national poverty information system's export: one row per
  person, official Chinese headers, a title row above the header, GBK for the CSV. The state is
  the model's own: the township simulated through 2016 and 2017, so households are 未脱贫,
  已脱贫 (with their 脱贫年度) or 返贫, 低保 / 特困 households are on the floor, and incomes are
  2017's. ``tuopin run scenarios/township.yaml --households
  scenarios/data/township_register_2017.xlsx --start-year 2018`` asks whether 2018's target is met.

    python scenarios/data/make_township_register.py [--out DIR] [--seed S]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from tuopin import PovertyModel, load_scenario
from tuopin.sim.agents import BATCH_INDEX, CAUSE_BIT, EXITED, NEAR, POOR, Households
from tuopin.sim.keyed import Draws
from tuopin.sim.population import synthesize
from tuopin.scenario import CAUSES

HERE = Path(__file__).resolve().parent
SCENARIO = HERE.parent / "township.yaml"


def register_table(seed: int) -> pd.DataFrame:
    """The township's synthetic households as register rows."""
    scenario = load_scenario(SCENARIO)
    hh, villages, _ = synthesize(scenario, Draws(seed))
    hh = hh.select(np.argsort(hh.village, kind="stable"))  # a register lists a village's households together
    rows = scenario.counties.rows
    names = np.asarray([name for row in rows for name in row.village_names])
    county_names = np.asarray([row.name for row in rows])
    labels = np.full(len(hh), "", dtype=object)
    for key, zh in CAUSES.items():
        has = (hh.causes & CAUSE_BIT[key]) != 0
        labels[has] = np.where(labels[has] == "", zh, labels[has] + "、" + zh)
    yes_no = lambda mask: np.where(mask, "是", "否")  # noqa: E731
    return pd.DataFrame({
        "household_id": [f"TS{i + 1:04d}" for i in range(len(hh))],
        "county": county_names[hh.county],
        "village": names[hh.village],
        "size": hh.size,
        "labour": hh.labour,
        "students": hh.students,
        "per_capita_income": np.round(hh.market).astype(int),
        "causes": labels,
        "safe_house": yes_no(hh.house_ok),
        "insured": yes_no(hh.insured),
        "harsh_location": yes_no(hh.harsh),
        "eco_zone": yes_no(hh.eco_zone),
        "status": np.where(hh.status == NEAR, "边缘户", "贫困户"),
    })


OFFICIAL_YEAR = 2017
"""The official-layout registers are the state at the end of this year (a run starts in 2018)."""
TITLE = f"本乡建档立卡贫困人口信息表（{OFFICIAL_YEAR}年底）　合成数据，无真实人员"
COUNTY = "本县"
"""The county the township belongs to: a placeholder (seed 004 names none); the scenario's one
row is the township, matched on 乡镇."""


def _cause_labels(causes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """主要致贫原因 (the first cause, 其他 when none) and 其他致贫原因 (the rest, joined by 、)."""
    main = np.full(len(causes), "", dtype=object)
    other = np.full(len(causes), "", dtype=object)
    for key, zh in CAUSES.items():
        has = (causes & CAUSE_BIT[key]) != 0
        second = has & (main != "")
        other[second] = np.where(other[second] == "", zh, other[second] + "、" + zh)
        main[has & (main == "")] = zh
    main[main == ""] = "其他"
    return main, other


def official_table(seed: int) -> pd.DataFrame:
    """The township at the end of 2017 as person rows in the official layout."""
    scenario = load_scenario(SCENARIO)
    model = PovertyModel(scenario, rng=seed)
    while model.year < OFFICIAL_YEAR:
        model.step()
    names = np.asarray([name for row in scenario.counties.rows for name in row.village_names])
    village = names[model.hh.village]
    return person_rows(model.hh, np.full(len(village), COUNTY), np.full(len(village), scenario.counties.rows[0].name),
                       village)


def person_rows(hh: Households, county: np.ndarray, township: np.ndarray, village: np.ndarray) -> pd.DataFrame:
    """Households as the official export's person rows (vectorized: numpy over all members).

    Members are numbered from the head (户主); the first ``labour`` members are labour, the last
    ``students`` are pupils, the last carries a serious illness (患有大病) if the household is poor
    through illness and the member is not labour (else a chronic one), and the household's
    labels come from its causes, conditions and status.
    """
    main, other = _cause_labels(hh.causes)
    floor = (hh.enrolled[BATCH_INDEX["social_floor"]] >= 0) & (hh.status != NEAR)
    kind = np.where(hh.status == NEAR, "", np.where(floor, np.where(hh.size == 1, "特困供养贫困户", "低保贫困户"),
                                                     "一般贫困户"))
    status = np.select([hh.status == NEAR, hh.status == EXITED, (hh.status == POOR) & (hh.exit_year >= 0)],
                       ["边缘户", "已脱贫", "返贫"], "未脱贫")
    yes_no = lambda mask: np.where(mask, "是", "否")  # noqa: E731

    # one row per member: member k of household h
    h = np.repeat(np.arange(len(hh)), hh.size)
    k = np.arange(len(h)) - np.repeat(np.cumsum(hh.size) - hh.size, hh.size)
    size, labour, students = hh.size[h], hh.labour[h], hh.students[h]
    able = k < labour
    student = k >= size - students  # the youngest members are the pupils
    ill, disabled = hh.has_cause("illness")[h], hh.has_cause("disability")[h]
    weakest = k == size - 1  # the last member carries the household's illness or disability
    seriously_ill = ill & weakest & ~able
    health = np.select([seriously_ill, ill & weakest, disabled & (k == np.maximum(size - 2, 0))],
                       ["患有大病", "长期慢性病", "残疾"], "健康")
    skill = np.where(able, np.where(k % 3 == 1, "技能劳动力", "普通劳动力"),
                     np.where(student, "无劳动力", np.where(k % 2 == 0, "弱劳动力或半劳动力", "丧失劳动力")))
    work = np.where(able & (k == 0) & (hh.job_wage[h] > 0), "省外务工", np.where(able & (k == 1), "乡（镇）内务工", ""))
    relation = np.select([k == 0, k == 1], ["户主", "配偶"], np.where(k % 2 == 0, "之子", "之女"))
    school = np.where(student, np.where(k % 2 == 0, "小学", "初中"), "非在校生")
    insured_member = hh.insured[h] | (k > 0)  # an uninsured household: its head is not insured
    household_id = np.char.add("6110", np.char.zfill((np.arange(len(hh)) + 1).astype(str), 6))
    return pd.DataFrame({
        "县": county[h],
        "乡镇": township[h],
        "行政村": village[h],
        "户编号": household_id[h],
        "人编号": np.char.add(household_id[h], np.char.zfill((k + 1).astype(str), 2)),
        "与户主关系": relation,
        "民族": "汉族",
        "在校生状况": school,
        "健康状况": health,
        "劳动技能": skill,
        "务工状况": work,
        "参加城乡居民基本医疗保险": yes_no(insured_member),
        "参加大病医疗": yes_no(insured_member),
        "人均纯收入": np.round(np.maximum(hh.net, 0)).astype(int)[h],  # a costly illness can take it below 0
        "主要致贫原因": main[h],
        "其他致贫原因": other[h],
        "危房户": yes_no(~hh.house_ok)[h],
        "饮水安全": yes_no(~hh.has_cause("no_water"))[h],
        "易地扶贫搬迁户": yes_no(hh.harsh)[h],
        "生态保护区": yes_no(hh.eco_zone)[h],
        "贫困户属性": kind[h],
        "脱贫属性": status[h],
        "脱贫年度": np.where(hh.exit_year >= 0, hh.exit_year.astype(str), "")[h],
    })


def write_xlsx(table: pd.DataFrame, path: Path, title: str = TITLE) -> None:
    """An .xlsx with a title row above the header, numbers as numbers, ids as text."""
    import datetime

    import xlsxwriter

    # no text is a formula or a link: not checking each cell for one writes it 20% faster
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                           "strings_to_urls": False})
    book.set_properties({"created": datetime.datetime(OFFICIAL_YEAR + 1, 1, 5)})
    sheet = book.add_worksheet("贫困人口")
    sheet.write_row(0, 0, [title])
    sheet.write_row(1, 0, list(table.columns))
    columns = [table[c].to_numpy().tolist() for c in table.columns]  # Python numbers and strings
    for i, row in enumerate(zip(*columns), start=2):
        sheet.write_row(i, 0, row)
    book.close()


def write_gbk_csv(table: pd.DataFrame, path: Path, title: str = TITLE) -> None:
    """A GBK CSV with a title line above the header, as older county systems save it."""
    text = title + "\n" + table.to_csv(index=False, lineterminator="\n")
    path.write_bytes(text.encode("gbk"))


def main() -> None:
    """Write the registers: household layout (UTF-8 CSV) and official layout (.xlsx, GBK CSV)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=HERE, help="directory to write to (default: beside this script)")
    parser.add_argument("--seed", type=int, default=2016)
    args = parser.parse_args()
    register_table(args.seed).to_csv(args.out / "township_register.csv", index=False, encoding="utf-8")
    official = official_table(args.seed)
    write_xlsx(official, args.out / f"township_register_{OFFICIAL_YEAR}.xlsx")
    write_gbk_csv(official, args.out / f"township_register_{OFFICIAL_YEAR}_gbk.csv")
    print(f"wrote township_register.csv, township_register_{OFFICIAL_YEAR}.xlsx and "
          f"township_register_{OFFICIAL_YEAR}_gbk.csv in {args.out}")


if __name__ == "__main__":
    main()
