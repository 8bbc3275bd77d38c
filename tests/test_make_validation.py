"""docs/make_validation.py writes docs/validation.md's tables from real output folders.

A tiny calibration of Shangluo (a record the model generated, 2016-2017 fitted, 2018-2020 held
out) and a two-replicate Shangluo run stand in for the national calibration and the baseline.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import SHANGLUO
from tuopin import PovertyModel
from tuopin.cli import main as cli

ROOT = Path(__file__).resolve().parents[1]
SCALE = "0.02"


def load_script():
    spec = importlib.util.spec_from_file_location("make_validation", ROOT / "docs" / "make_validation.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_validation"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("validation")
    model = PovertyModel(SHANGLUO, rng=np.random.SeedSequence(4242), overrides={"scale": float(SCALE)})
    model.run()
    annual = model.datacollector.get_model_vars_dataframe()
    cols = ["year", "poor_end", "net_reduction", "relapses"]
    annual[annual["year"] <= 2017][cols].to_csv(tmp / "fit.csv", index=False)
    annual[annual["year"] > 2017][cols].to_csv(tmp / "held.csv", index=False)
    assert cli(["calibrate", str(SHANGLUO), "--observed", str(tmp / "fit.csv"), "--fit-years", "2016-2017",
                "--held-out", str(tmp / "held.csv"), "--fit", "economy.income_growth=0.05:0.15",
                "--scale", SCALE, "--max-runs", "40", "--population", "10", "--out", str(tmp / "cal"),
                "--quiet"]) == 0
    assert cli(["run", str(SHANGLUO), "--replicates", "2", "--scale", SCALE, "--out", str(tmp / "sl"),
                "--quiet"]) == 0
    doc = tmp / "validation.md"
    shutil.copyfile(ROOT / "docs" / "validation.md", doc)
    return tmp, doc


def test_tables_come_from_the_folders_and_a_rerun_changes_nothing(folders):
    tmp, doc = folders
    mv = load_script()
    figure = tmp / "img" / "fig.png"
    args = ["--calibration", str(tmp / "cal"), "--shangluo", str(tmp / "sl"), "--doc", str(doc),
            "--figure", str(figure)]
    mv.main(args)
    text = doc.read_text(encoding="utf-8")
    est = pd.read_csv(tmp / "cal" / "estimates.csv")
    assert f"| `economy.income_growth` | 0.05-0.15 | {est['median'].iloc[0]:.3g} |" in text
    summary = pd.read_csv(tmp / "sl" / "summary.csv")
    first = summary.iloc[0]
    assert f"| 2016 | {first['target_exits']:,.0f} | {first['exits_median']:,.0f} (" in text
    fit = pd.read_csv(tmp / "cal" / "fit.csv")
    held = fit[(fit["quantity"] == "net_reduction") & ~fit["in_fit"]]
    mae = (held["sim_median"] - held["observed"]).abs().mean() / held["observed"].mean()
    assert f"= {mae:.1%} (" in text
    assert figure.read_bytes() == (tmp / "cal" / "fit_vs_observed.png").read_bytes()
    assert "## The mechanisms (issue 12)" in text  # the prose around the markers is kept
    mv.main(args)
    assert doc.read_text(encoding="utf-8") == text


def test_a_missing_marker_or_file_is_one_error_and_nothing_is_written(folders, tmp_path, capsys):
    tmp, doc = folders
    mv = load_script()
    broken = tmp_path / "broken.md"
    broken.write_text(doc.read_text(encoding="utf-8").replace("<!-- /make_validation:fit -->", ""), encoding="utf-8")
    before = broken.read_text(encoding="utf-8")
    with pytest.raises(SystemExit) as exc:
        mv.main(["--calibration", str(tmp / "cal"), "--shangluo", str(tmp / "sl"), "--doc", str(broken),
                 "--figure", str(tmp_path / "f.png")])
    assert exc.value.code == 2
    assert "make_validation:fit" in capsys.readouterr().err
    assert broken.read_text(encoding="utf-8") == before and not (tmp_path / "f.png").exists()
    with pytest.raises(SystemExit) as exc:
        mv.main(["--calibration", str(tmp_path), "--shangluo", str(tmp / "sl"), "--doc", str(doc)])
    assert exc.value.code == 2
    assert "estimates.csv: file not found" in capsys.readouterr().err
