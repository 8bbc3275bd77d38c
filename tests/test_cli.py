"""The command line: outputs, reproducibility, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

from conftest import ROOT, SHANGLUO, SMALL_SCALE


def tuopin(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tuopin.cli", *args], capture_output=True, text=True, cwd=cwd)


def small_variant(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(f"base: {SHANGLUO}\nname: small\noverrides:\n  scale: {SMALL_SCALE}\n{extra}", encoding="utf-8")
    return path


def test_run_writes_every_output_and_is_byte_identical(tmp_path):
    scenario = small_variant(tmp_path)
    for out in ("a", "b"):
        r = tuopin("run", str(scenario), "--replicates", "3", "--seed", "5", "--out", str(tmp_path / out))
        assert r.returncode == 0, r.stderr
    for name in ("annual.csv", "summary.csv", "exits_vs_target.png", "run.json", "county_summary.csv"):
        assert (tmp_path / "a" / name).stat().st_size > 0
    assert (tmp_path / "a" / "annual.csv").read_bytes() == (tmp_path / "b" / "annual.csv").read_bytes()
    annual = pd.read_csv(tmp_path / "a" / "annual.csv")
    required = ["replicate", "year", "poor_start", "exits", "relapses", "new_entrants", "poor_end",
                "villages_exited", "counties_exited", "spending", "target_exits"]
    assert set(required) <= set(annual.columns)
    assert len(annual) == 3 * 5
    meta = json.loads((tmp_path / "a" / "run.json").read_text())
    assert meta["seed"] == 5 and meta["replicates"] == 3 and len(meta["scenario_sha256"]) == 64
    summary = pd.read_csv(tmp_path / "a" / "summary.csv")
    assert list(summary["target_exits"]) == [133000, 139000, 129000, 63000, 26000]
    assert summary["p_meet_target"].between(0, 1).all()
    # the printout: per year and the whole period, and the headline quantities in words
    assert "declared exits" in r.stdout and "2016-2020" in r.stdout
    for words in ("Net reduction of the poor register", "Still poor at the end of 2020", "Relapses",
                  "Distinct people ever exited", "P(meet the plan)", "95% interval"):
        assert words in r.stdout, words
    headline = pd.read_csv(tmp_path / "a" / "headlines.csv").set_index("quantity")
    a = annual.groupby("replicate")
    assert headline.loc["net_reduction", "median"] == (a["poor_start"].first() - a["poor_end"].last()).median()
    assert headline.loc["exits", "plan"] == 490000 and 0 <= headline.loc["exits", "p_meet_low"] <= headline.loc["exits", "p_meet"]
    assert not r.stderr  # no progress bar when stderr is not a terminal


def test_unknown_key_exits_2_and_writes_nothing(tmp_path):
    text = SHANGLUO.read_text(encoding="utf-8").replace("economy:\n", "economy:\n  ilness_rate: {value: 0.1, unit: x, source: y}\n", 1)
    bad = tmp_path / "bad.yaml"
    bad.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    r = tuopin("run", str(bad), "--out", str(out))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "bad.yaml" in lines[0] and "economy.ilness_rate" in lines[0]
    assert not out.exists()
    assert not list(tmp_path.glob(".out.staging-*"))


def test_help_is_written_for_planners():
    r = tuopin("run", "--help")
    assert r.returncode == 0
    assert "exits_vs_target.png" in r.stdout and "--replicates" in r.stdout


def test_progress_bar_on_a_terminal_only_and_not_with_quiet(tmp_path):
    import fcntl
    import os
    import pty
    import struct
    import termios

    township = str(ROOT / "scenarios" / "township.yaml")
    for quiet, shown in (([], True), (["--quiet"], False)):
        leader, follower = pty.openpty()
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))  # a 100-column terminal
        r = subprocess.run([sys.executable, "-m", "tuopin.cli", "run", township, "--replicates", "4",
                            "--out", str(tmp_path / f"t{len(quiet)}"), *quiet],
                           stdout=subprocess.PIPE, stderr=follower, text=True)
        os.close(follower)
        err = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            err += chunk
        os.close(leader)
        assert r.returncode == 0
        assert ("/4 [" in err.decode(errors="replace")) == shown, err  # e.g. "township: 50%|█████     | 2/4 [..."
