"""Calibration (ABC-SMC) recovers parameters planted in data the model itself generated."""

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
    fits = ["economy.income_growth=0.0:0.15", "economy.illness_rate=0.03:0.2"]

    def fit(workers: int) -> None:
        cal = calibrate(scenario, data, fits, out, fit_years="2016-2018", scale=SCALE, max_runs=240, population=30,
                        seed=5, workers=workers)
        write_calibration(cal, out)

    fit(1)
    est = pd.read_csv(out / "estimates.csv").set_index("parameter")
    for path, truth in PLANTED.items():
        row = est.loc[path]
        assert row.interval_low <= truth <= row.interval_high, (path, truth, row.to_dict())
        assert row.interval_high - row.interval_low < 0.9 * (row.prior_high - row.prior_low)  # it learned something
    summary = json.loads((out / "summary.json").read_text())
    assert summary["errors"]["held_out_years"]["years"] == [2019, 2020]
    assert summary["runs"] <= 240 and summary["generations"] >= 2
    variant = yaml.safe_load((out / "calibrated.yaml").read_text())
    assert set(variant["overrides"]) == set(PLANTED)
    calibrated = load_scenario(out / "calibrated.yaml", {"scale": SCALE})
    assert calibrated.economy.income_growth == variant["overrides"]["economy.income_growth"]
    assert len(run_replicates(calibrated, replicates=1).annual) == len(calibrated.horizon)
    assert (out / "fit_vs_observed.png").stat().st_size > 10_000
    # the same calibration on two workers gives the same posterior
    fit(2)
    pd.testing.assert_frame_equal(pd.read_csv(out / "estimates.csv").set_index("parameter"), est)


def test_priors_default_to_the_scenarios_uncertainty_and_zero_observations_count(tmp_path, capsys):
    obs = tmp_path / "obs.csv"
    # No county is out in 2016 (zero counts), relapses are observed only in 2016 (an empty cell).
    obs.write_text("# a comment line (sources)\nyear,poor_end,relapses,counties_exited\n2016,370000,3000,0\n"
                   "2017,270000,,0\n", encoding="utf-8")
    out = tmp_path / "cal"
    assert cli(["calibrate", str(SHANGLUO), "--observed", str(obs), "--scale", "0.01", "--max-runs", "80",
                "--population", "10", "--out", str(out), "--quiet"]) == 0
    err = capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text())
    raw, _ = load_raw(SHANGLUO)
    assert set(summary["priors"]) == set(raw["uncertainty"])  # the scenario's own ranges are the priors
    assert summary["observations"] == 5  # two zeros count, the empty cell does not
    assert "7 parameters outnumber the 5 observations" in err
    fit = pd.read_csv(out / "fit.csv")
    assert set(fit["year"]) == {2016, 2017, 2018, 2019, 2020}  # the projection covers every year


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
