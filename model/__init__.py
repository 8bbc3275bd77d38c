"""tuopin (脱贫): an agent-based simulator of poverty-exit scenarios, built on Mesa.

    >>> from tuopin import PovertyModel, load_scenario
    >>> model = PovertyModel("scenarios/shangluo.yaml", rng=1)
    >>> model.run()
    >>> model.datacollector.get_model_vars_dataframe()[["year", "exits", "target_exits"]]
"""

from importlib.metadata import PackageNotFoundError, version

from .errors import UserError
from .model import PovertyModel
from .scenario import Scenario, load_scenario

try:
    __version__ = version("tuopin")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

__all__ = ["PovertyModel", "Scenario", "UserError", "__version__", "load_scenario"]
