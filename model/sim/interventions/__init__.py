"""The intervention batches, one module each, all with the interface of ``base.Intervention``.

The social-security floor (``social_floor``) is an entitlement paid after every other income is
known, so it is a step of its own rather than a funded batch.
"""

from typing import Any

from tuopin.scenario.schema import FUNDED_BATCHES

from tuopin.sim.interventions.base import Intervention
from tuopin.sim.interventions.ecology import Ecology
from tuopin.sim.interventions.education import Education
from tuopin.sim.interventions.employment import Employment
from tuopin.sim.interventions.housing import Housing
from tuopin.sim.interventions.industry import Industry
from tuopin.sim.interventions.medical import Medical
from tuopin.sim.interventions.relocation import Relocation

_CLASSES: dict[str, type[Intervention[Any]]] = {
    cls.name: cls for cls in (Industry, Employment, Relocation, Ecology, Education, Medical, Housing)}
FUNDED: tuple[type[Intervention[Any]], ...] = tuple(_CLASSES[name] for name in FUNDED_BATCHES)
"""The batches that draw on the budget, in the scenario schema's order (``schema.FUNDED_BATCHES``;
the scenario's priorities set the funding order)."""

__all__ = ["FUNDED", "Ecology", "Education", "Employment", "Housing", "Industry", "Intervention",
           "Medical", "Relocation"]
