"""tuopin (脱贫): an agent-based simulator of poverty-exit scenarios, built on Mesa.

    >>> from tuopin import PovertyModel, load_scenario
    >>> model = PovertyModel("scenarios/shangluo.yaml", rng=1)
    >>> model.run()
    >>> model.datacollector.get_model_vars_dataframe()[["year", "exits", "target_exits"]]

The package's layers, one subpackage each:

- ``tuopin.sim``: the simulated year and its rules (start at ``sim/loop.py``);
- ``tuopin.scenario``: scenario files, their schema, variants and uncertain parameters;
- ``tuopin.experiments``: replicates, comparisons, summaries, sweeps, sensitivity, calibration;
- ``tuopin.report``: figures and their labels in Chinese and English;
- ``tuopin.app``: the planner dashboard; ``tuopin.cli``: the ``tuopin`` command, one module a command.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tuopin.errors import UserError
    from tuopin.scenario import Scenario, load_scenario
    from tuopin.sim.model import PovertyModel

try:
    __version__ = version("tuopin")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

_EXPORTS = {
    "PovertyModel": "tuopin.sim.model",
    "Scenario": "tuopin.scenario",
    "load_scenario": "tuopin.scenario",
    "UserError": "tuopin.errors",
}

__all__ = ["PovertyModel", "Scenario", "UserError", "__version__", "load_scenario"]


def __getattr__(name: str) -> Any:
    """Import the public names on first use, so ``import tuopin`` (and ``tuopin --help``) stays light."""
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'tuopin' has no attribute {name!r}")
