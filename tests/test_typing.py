"""Typed parameters reach the rules: a misspelt parameter attribute is a type error (mypy, as
``make test`` runs it), and the correct spelling is not."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

RULE = '''
from tuopin.sim.model import PovertyModel


def growth(m: PovertyModel) -> float:
    return m.p.economy.{economy} * m.p.batches.industry.{industry}
'''


def test_a_misspelt_parameter_is_a_type_error(tmp_path: Path) -> None:
    (tmp_path / "path").mkdir()
    (tmp_path / "path" / "tuopin").symlink_to(ROOT / "model")  # mypy finds the package by its import name
    (tmp_path / "good.py").write_text(RULE.format(economy="income_growth", industry="gain_per_capita"))
    (tmp_path / "bad.py").write_text(RULE.format(economy="income_grwth", industry="ramp_yeras"))
    cache = ROOT / ".venv" / "mypy-cache"
    r = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), "--cache-dir",
         str(cache if cache.parent.is_dir() else tmp_path / "cache"), "good.py", "bad.py"],
        cwd=tmp_path, env={**os.environ, "MYPYPATH": str(tmp_path / "path")}, capture_output=True, text=True)
    errors = [line for line in r.stdout.splitlines() if ": error:" in line]
    assert r.returncode == 1, r.stdout + r.stderr
    assert all(line.startswith("bad.py:") for line in errors), errors
    assert any('"Economy" has no attribute "income_grwth"' in line for line in errors), errors
    assert any('"Industry" has no attribute "ramp_yeras"' in line for line in errors), errors
