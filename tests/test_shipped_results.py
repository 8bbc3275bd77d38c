"""The shipped results are what the code produces: the township scenario, run at its file's seed
and replicates, writes the committed results/township tables. (`make results` regenerates every
shipped folder; this is the check that it has been run since the last change.)

Every text and whole number must be the same, and every other number the same to 12 significant
digits: on a CPU with AVX-512, numpy's ``exp`` and ``log`` take another code path (Intel's SVML),
whose last bit differs from the C library's in about 4.5% (exp) and 0.1% (log) of values, and a
few sums of money carry that bit into the tables (the social floor's cost). Any change to a rule
moves the numbers far more than that."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd

from conftest import ROOT
from tuopin.scenario import file_hash, load_scenario

SHIPPED = ROOT / "results" / "township"
SCENARIO = ROOT / "scenarios" / "township.yaml"
DIGITS = 1e-12
"""Relative difference allowed between two floating-point values (see module doc)."""


def differences(ours: pd.DataFrame, shipped: pd.DataFrame) -> list[str]:
    """Columns whose values differ beyond ``DIGITS`` (floats) or at all (the rest)."""
    if list(ours.columns) != list(shipped.columns) or len(ours) != len(shipped):
        return ["columns or rows"]
    out = []
    for c in ours.columns:
        a, b = ours[c], shipped[c]
        if a.dtype.kind == "f" and b.dtype.kind == "f":
            same = np.isclose(a, b, rtol=DIGITS, atol=0, equal_nan=True).all()
        else:
            same = a.equals(b)
        if not same:
            out.append(c)
    return out


def test_township_reproduces_the_shipped_tables(tmp_path):
    meta = json.loads((SHIPPED / "run.json").read_text(encoding="utf-8"))
    scenario = load_scenario(SCENARIO)
    assert meta["scenario_sha256"] == file_hash(SCENARIO), "scenarios/township.yaml changed: run `make results`"
    assert (meta["seed"], meta["replicates"], meta["scale"]) == (scenario.seed, scenario.replicates, scenario.scale)
    out = tmp_path / "township"
    r = subprocess.run([sys.executable, "-m", "tuopin.cli", "run", str(SCENARIO), "--out", str(out), "--quiet"],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    for name in ("annual.csv", "county_annual.csv"):
        differ = differences(pd.read_csv(out / name), pd.read_csv(SHIPPED / name))
        assert differ == [], f"{name}: {differ} differ from the shipped table: run `make results`"


def test_the_comparison_sees_a_change_in_the_last_digits_it_keeps():
    shipped = pd.read_csv(SHIPPED / "annual.csv")
    moved = shipped.copy()
    moved["spending"] *= 1 + 1e-10
    assert differences(moved, shipped) == ["spending"]
    moved = shipped.copy()
    moved.loc[3, "relapses"] += 1.0
    assert differences(moved, shipped) == ["relapses"]
    assert differences(shipped, shipped) == []
