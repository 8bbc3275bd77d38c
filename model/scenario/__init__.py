"""Scenario files: the typed schema (``schema``, on the strict base and parameter type of
``strict``), safe loading, variants and resolving (``files``), dotted paths and overrides
(``paths``), and the parameters drawn per replicate (``uncertainty``).
"""

from tuopin.scenario.files import (check_uncertainty, default_scenario, file_hash, load_raw, load_scenario,
                                   read_yaml, resolve, scenario_dir, scenario_path, validate)
from tuopin.scenario.paths import apply_overrides, get_path, set_path
from tuopin.scenario.schema import BATCHES, CAUSES, FUNDED_BATCHES, INFRASTRUCTURE, MAX_REPLICATES, Scenario
from tuopin.scenario.strict import P, Strict

__all__ = ["BATCHES", "CAUSES", "FUNDED_BATCHES", "INFRASTRUCTURE", "MAX_REPLICATES", "P", "Scenario", "Strict",
           "apply_overrides", "check_uncertainty", "default_scenario", "file_hash", "get_path", "load_raw", "load_scenario", "read_yaml",
           "resolve", "scenario_dir", "scenario_path", "set_path", "validate"]
