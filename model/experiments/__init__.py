"""Many runs of a scenario: replicates, comparisons, summaries, sweeps, sensitivity, calibration,
resource checks and atomic result files. What each ``tuopin`` command does is a function here:

    >>> from pathlib import Path
    >>> from tuopin import load_scenario
    >>> from tuopin.experiments import run_replicates, write_run
    >>> result = run_replicates(load_scenario("scenarios/shangluo.yaml"), replicates=4)
    >>> summary, counties = write_run(Path("results/try"), result)

``run_replicates`` / ``write_run`` (``tuopin run``), ``compare`` / ``write_comparison``
(``tuopin compare``), ``load_spec`` / ``run_sweep`` (``tuopin sweep``), ``run_sensitivity``
(``tuopin sensitivity``), ``calibrate`` / ``write_calibration`` (``tuopin calibrate``).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tuopin.experiments.calibration import calibrate, write_calibration
    from tuopin.experiments.comparison import compare, write_comparison
    from tuopin.experiments.replicates import run_replicates
    from tuopin.experiments.results import write_run
    from tuopin.experiments.sensitivity import run_sensitivity
    from tuopin.experiments.summary import summarize
    from tuopin.experiments.sweep import run_sweep
    from tuopin.experiments.sweep_spec import load_spec

_EXPORTS = {
    "calibrate": "calibration", "write_calibration": "calibration", "compare": "comparison",
    "write_comparison": "comparison", "run_replicates": "replicates", "write_run": "results",
    "run_sensitivity": "sensitivity", "summarize": "summary", "run_sweep": "sweep", "load_spec": "sweep_spec",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import the library functions on first use (``import tuopin.experiments`` stays light)."""
    if name in _EXPORTS:
        return getattr(import_module(f"tuopin.experiments.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'tuopin.experiments' has no attribute {name!r}")
