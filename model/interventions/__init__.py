"""The intervention batches, one module each, all with the interface of ``base.Intervention``.

The social-security floor (``social_floor``) is an entitlement paid after every other income is
known, so it is a step of its own rather than a funded batch.
"""

from .base import Intervention
from .ecology import Ecology
from .education import Education
from .employment import Employment
from .housing import Housing
from .industry import Industry
from .medical import Medical
from .relocation import Relocation

FUNDED: tuple[type[Intervention], ...] = (
    Industry, Employment, Relocation, Ecology, Education, Medical, Housing,
)
"""The batches that draw on the budget, in no particular order (the scenario sets priority)."""

__all__ = ["FUNDED", "Ecology", "Education", "Employment", "Housing", "Industry", "Intervention",
           "Medical", "Relocation"]
