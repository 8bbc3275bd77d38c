"""Scenario files: the typed schema, safe loading, variants, dotted paths and the parameters
drawn per replicate (``uncertainty``)."""

from tuopin.scenario.schema import BATCHES, CAUSES, Scenario, load_scenario  # noqa: F401
