"""Write ``national_counties.csv``: the county table of scenarios/national.yaml.

The 832 national poor counties (贫困县) by province, with each province's region (east, central,
west: the exit thresholds are 2%, 2% and 3%), plus one row per region for all its other counties
(``poor_county`` false: they hold poor people and poor villages but have no hat to take off).
The record gives totals, not counties, so each poor county's figures are synthetic, drawn within
the documented totals below (seeded, so the file is reproducible). Every total has its unit and
source here and in national.yaml's ``counties.source``.

    python scenarios/data/make_national_counties.py [--out FILE.csv] [--seed S]

Totals (people unless said):

* 55.75 M registered rural poor at the end of 2015, the programme's start stock (DOMAIN.md).
* By region at the end of 2015: east 6.53 M, central 20.07 M, west 29.14 M, and rural poverty
  incidence 1.8%, 6.2% and 10.0% (assumption: NBS poverty-monitoring figures as recalled, not in
  DOMAIN.md; scaled to the 55.75 M), which give each region's rural population (poor / incidence).
* The 832 poor counties ("poor areas") held 34.90 M poor at an incidence of 13.3% (assumption:
  NBS poverty-monitoring report for 2015 as recalled), the same share of each region's poor.
* Poor counties per province: the 2012 list (592 key counties and the contiguous poor areas) as
  commonly reported (assumption: check before quoting); they add up to 832 (east 50, central
  214, west 568).
* About 128,000 registered poor villages (DOMAIN.md), split between poor counties and the other
  counties in proportion to their poor people (assumption); about 1,600 registered rural
  residents per village (assumption: about 950 million registered rural people in about 600,000
  administrative villages).

Synthetic per poor county (assumption): poor people proportional to a lognormal draw (log sd
0.6, at least 1,000) within its region; incidence lognormal around 13.3% (log sd 0.45, cut to
4-45%), the rural populations then scaled together so the poor counties' total is 34.90 M / 13.3%; poor villages in proportion to
poor people (at least one), other villages from the rural population at 1,600 a village, and at
least half as many as its poor villages (assumption: high-incidence counties still have villages
for the poor who live outside poor villages; their villages are then smaller).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE / "national_counties.csv"
SEED = 832

POOR_TOTAL = 55_750_000
REGION_POOR = {"east": 6_530_000, "central": 20_070_000, "west": 29_140_000}
REGION_INCIDENCE = {"east": 0.018, "central": 0.062, "west": 0.100}
POOR_AREA_POOR = 34_900_000
POOR_AREA_INCIDENCE = 0.133
POOR_VILLAGES = 128_000
RESIDENTS_PER_VILLAGE = 1_600
MIN_OTHER_PER_POOR_VILLAGE = 0.5
REGION_NAMES = {"east": ("东部其他县", "East, other counties"), "central": ("中部其他县", "Central, other counties"),
                "west": ("西部其他县", "West, other counties")}

PROVINCES = [  # (name, English, region, poor counties)
    ("河北", "Hebei", "east", 45), ("海南", "Hainan", "east", 5),
    ("山西", "Shanxi", "central", 36), ("吉林", "Jilin", "central", 8), ("黑龙江", "Heilongjiang", "central", 20),
    ("安徽", "Anhui", "central", 20), ("江西", "Jiangxi", "central", 24), ("河南", "Henan", "central", 38),
    ("湖北", "Hubei", "central", 28), ("湖南", "Hunan", "central", 40),
    ("内蒙古", "Inner Mongolia", "west", 31), ("广西", "Guangxi", "west", 33), ("重庆", "Chongqing", "west", 14),
    ("四川", "Sichuan", "west", 66), ("贵州", "Guizhou", "west", 66), ("云南", "Yunnan", "west", 88),
    ("西藏", "Tibet", "west", 74), ("陕西", "Shaanxi", "west", 56), ("甘肃", "Gansu", "west", 58),
    ("青海", "Qinghai", "west", 42), ("宁夏", "Ningxia", "west", 8), ("新疆", "Xinjiang", "west", 32),
]
COLUMNS = ["name", "name_en", "region", "poor_county", "planned_exit_year", "poor_people", "poor_villages",
           "other_villages", "rural_population"]


def largest_remainder(weights: np.ndarray, total: int, minimum: int = 0) -> np.ndarray:
    """Whole numbers proportional to ``weights``, each at least ``minimum``, adding up to ``total``."""
    share = weights / weights.sum() * (total - minimum * len(weights))
    whole = np.floor(share).astype(np.int64)
    whole[np.argsort(whole - share)[: total - minimum * len(weights) - whole.sum()]] += 1
    return whole + minimum


def county_table(seed: int) -> list[dict[str, object]]:
    """The rows of the county table (see module doc)."""
    rng = np.random.default_rng(seed)
    region_poor = dict(zip(REGION_POOR, largest_remainder(np.array(list(REGION_POOR.values()), float), POOR_TOTAL)))
    region_rural = {r: region_poor[r] / REGION_INCIDENCE[r] for r in region_poor}
    area_share = POOR_AREA_POOR / POOR_TOTAL
    names = [(f"{zh}{k + 1:02d}", f"{en} {k + 1:02d}", region) for zh, en, region, n in PROVINCES for k in range(n)]
    region = np.array([r for _, _, r in names])
    poor = np.zeros(len(names), dtype=np.int64)
    for r in region_poor:
        mine = region == r
        poor[mine] = largest_remainder(rng.lognormal(0.0, 0.6, mine.sum()), round(region_poor[r] * area_share), 1000)
    incidence = np.clip(POOR_AREA_INCIDENCE * rng.lognormal(-0.45**2 / 2, 0.45, len(names)), 0.04, 0.45)
    rural = poor / incidence
    rural *= POOR_AREA_POOR / POOR_AREA_INCIDENCE / rural.sum()
    other_poor = {r: region_poor[r] - int(poor[region == r].sum()) for r in region_poor}
    all_poor = np.concatenate([poor, list(other_poor.values())])
    villages = largest_remainder(all_poor.astype(float), POOR_VILLAGES, 1)
    rows: list[dict[str, object]] = []
    for i, (name, name_en, r) in enumerate(names):
        rows.append({"name": name, "name_en": name_en, "region": r, "poor_county": "true", "planned_exit_year": 2020,
                     "poor_people": int(poor[i]), "poor_villages": int(villages[i]),
                     "other_villages": max(round(rural[i] / RESIDENTS_PER_VILLAGE) - int(villages[i]),
                                           round(villages[i] * MIN_OTHER_PER_POOR_VILLAGE), 1),
                     "rural_population": round(rural[i])})
    for k, r in enumerate(region_poor):
        rest = region_rural[r] - rural[region == r].sum()
        v = int(villages[len(names) + k])
        rows.append({"name": REGION_NAMES[r][0], "name_en": REGION_NAMES[r][1], "region": r, "poor_county": "false",
                     "planned_exit_year": "", "poor_people": int(other_poor[r]), "poor_villages": v,
                     "other_villages": max(round(rest / RESIDENTS_PER_VILLAGE) - v, 1), "rural_population": round(rest)})
    return rows


def main() -> None:
    """Write the table (``--out``, default beside this script) from ``--seed``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="CSV file to write")
    parser.add_argument("--seed", type=int, default=SEED, help="random seed of the synthetic split")
    args = parser.parse_args()
    rows = county_table(args.seed)
    with args.out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} rows to {args.out}")


if __name__ == "__main__":
    main()
