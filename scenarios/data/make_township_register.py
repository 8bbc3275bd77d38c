"""Write ``township_register.csv``: a synthetic 建档立卡-style register for scenarios/township.yaml.

The households are the model's own synthetic draw for the township (seed 004's 1,500 registered
poor in 3 poor villages, plus near-poor 边缘户), written in the register format of README.md
so that ``tuopin run scenarios/township.yaml --households scenarios/data/township_register.csv``
has a worked example. No real person is in it.

    python scenarios/data/make_township_register.py [--out FILE.csv] [--seed S]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from tuopin import load_scenario
from tuopin.sim.agents import CAUSE_BIT, NEAR
from tuopin.sim.population import synthesize
from tuopin.scenario import CAUSES

HERE = Path(__file__).resolve().parent
SCENARIO = HERE.parent / "township.yaml"


def register_table(seed: int) -> pd.DataFrame:
    """The township's synthetic households as register rows."""
    scenario = load_scenario(SCENARIO)
    hh, villages, _ = synthesize(scenario, np.random.default_rng(seed))
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


def main() -> None:
    """Write the register (UTF-8 CSV)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=HERE / "township_register.csv")
    parser.add_argument("--seed", type=int, default=2016)
    args = parser.parse_args()
    register_table(args.seed).to_csv(args.out, index=False, encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
