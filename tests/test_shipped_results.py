"""The shipped results are what the code produces: the township scenario, run at its file's seed
and replicates, writes the committed results/township tables byte for byte. (`make results`
regenerates every shipped folder; this is the check that it has been run since the last change.)"""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT
from tuopin.scenario import file_hash, load_scenario

SHIPPED = ROOT / "results" / "township"
SCENARIO = ROOT / "scenarios" / "township.yaml"


def test_township_reproduces_the_shipped_tables_byte_for_byte(tmp_path):
    meta = json.loads((SHIPPED / "run.json").read_text(encoding="utf-8"))
    scenario = load_scenario(SCENARIO)
    assert meta["scenario_sha256"] == file_hash(SCENARIO), "scenarios/township.yaml changed: run `make results`"
    assert (meta["seed"], meta["replicates"], meta["scale"]) == (scenario.seed, scenario.replicates, scenario.scale)
    out = tmp_path / "township"
    r = subprocess.run([sys.executable, "-m", "tuopin.cli", "run", str(SCENARIO), "--out", str(out), "--quiet"],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    for name in ("annual.csv", "county_annual.csv"):
        assert (out / name).read_bytes() == (SHIPPED / name).read_bytes(), f"{name} differs: run `make results`"
