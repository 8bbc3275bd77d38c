"""Calibration recovers parameters planted in data the model itself generated."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import yaml

from conftest import SHANGLUO
from tuopin import PovertyModel, load_scenario
from tuopin.cli import main as cli
from tuopin.experiments import calibrate, run_replicates, write_calibration
from tuopin.scenario import get_path, load_raw

PLANTED = {"economy.income_growth": 0.07, "economy.illness_rate": 0.10}
SCALE = 0.02


def known_scenario(tmp_path):
    """Shangluo with every uncertain parameter but the planted ones fixed at its scenario value:
    the test asks whether the fit finds the planted values when the rest of the model is known."""
    raw, _ = load_raw(SHANGLUO)
    fixed = {path: get_path(raw, path, "test") for path in raw.get("uncertainty", {}) if path not in PLANTED}
    path = tmp_path / "known.yaml"
    path.write_text(yaml.safe_dump({"base": str(SHANGLUO), "name": "known", "overrides": fixed}), encoding="utf-8")
    return path


def observed(tmp_path, scenario):
    """One replicate of the model with the planted values, on a seed the calibration never uses."""
    model = PovertyModel(scenario, rng=np.random.SeedSequence(987654), overrides={"scale": SCALE, **PLANTED})
    model.run()
    annual = model.datacollector.get_model_vars_dataframe()
    path = tmp_path / "observed.csv"
    annual[["year", "exits", "poor_end", "relapses"]].to_csv(path, index=False)
    return path


def test_calibration_recovers_planted_parameters_within_reported_uncertainty(tmp_path):
    out = tmp_path / "cal"
    scenario = known_scenario(tmp_path)
    data = observed(tmp_path, scenario)

    def fit() -> None:
        cal = calibrate(scenario, data, ["economy.income_growth=0.0:0.15", "economy.illness_rate=0.03:0.2"], out,
                        fit_years="2016-2018", scale=SCALE, points=30, replicates=3, rounds=2, seed=5)
        write_calibration(cal, out)

    fit()
    est = pd.read_csv(out / "estimates.csv").set_index("parameter")
    for path, truth in PLANTED.items():
        row = est.loc[path]
        assert row.interval_low <= truth <= row.interval_high, (path, truth, row.to_dict())
        assert row.interval_high - row.interval_low < 0.9 * (row.prior_high - row.prior_low)  # it learned something
    summary = json.loads((out / "summary.json").read_text())
    assert summary["errors"]["held_out_years"]["years"] == [2019, 2020]
    variant = yaml.safe_load((out / "calibrated.yaml").read_text())
    assert set(variant["overrides"]) == set(PLANTED)
    calibrated = load_scenario(out / "calibrated.yaml", {"scale": SCALE})
    assert calibrated.economy.income_growth == variant["overrides"]["economy.income_growth"]
    assert len(run_replicates(calibrated, replicates=1).annual) == len(calibrated.horizon)
    assert (out / "fit_vs_observed.png").stat().st_size > 10_000
    # rerunning resumes: nothing new to run, same estimates
    fit()
    pd.testing.assert_frame_equal(pd.read_csv(out / "estimates.csv").set_index("parameter"), est)


def test_bad_observed_file_exits_2_and_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "obs.csv"
    bad.write_text("year,exits,births\n2016,100,3\n", encoding="utf-8")
    out = tmp_path / "cal"
    assert cli(["calibrate", str(SHANGLUO), "--observed", str(bad), "--fit", "economy.income_growth=0:0.1",
                "--out", str(out)]) == 2
    assert "obs.csv: header: unknown column 'births'" in capsys.readouterr().err
    assert cli(["calibrate", str(SHANGLUO), "--observed", str(bad), "--fit", "economy.income_grwth=0:0.1",
                "--out", str(out)]) == 2
    assert "--fit economy.income_grwth=0:0.1: no such parameter" in capsys.readouterr().err
    assert not out.exists()
