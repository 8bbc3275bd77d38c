"""``PovertyModel`` in Mesa's own viewer (``mesa.visualization.SolaraViz``): step year by year,
play, Reset, and move two levers, with Mesa's plots of the yearly flows.

Serve it with ``solara run tuopin.app.mesa_view`` (the planner dashboard, ``tuopin app``, is the
page for replicates, bands and comparisons). Set ``TUOPIN_SCENARIOS`` to offer another folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mesa.visualization import Slider, SolaraViz, make_plot_component

from tuopin.app.data import scenario_dir
from tuopin.scenario import load_scenario
from tuopin.sim.model import PovertyModel

PLOTS = (["exits", "target_exits"], ["poor_end"], ["relapses", "new_entrants"])
"""Mesa line plots of the model's yearly reporters, one per list."""


def model_params(plan: str | Path) -> dict[str, Any]:
    """SolaraViz's ``model_params``: the scenario file and seed fixed, two levers as sliders
    (dotted paths, which ``PovertyModel`` takes as keywords), starting at the file's values."""
    scenario = load_scenario(plan)
    return {
        "plan": str(plan),
        "rng": scenario.seed,
        "funding.multiplier": Slider("Budget (× the plan's funds)", float(scenario.funding.multiplier),
                                     0.0, 2.0, 0.05),
        "relapse.support_continuation_years": Slider(
            "Support continues after exit (years)", int(scenario.relapse.support_continuation_years), 0, 10, 1),
    }


def initial_model(plan: str | Path) -> PovertyModel:
    """The model the page opens on: the plan at its own values and seed."""
    params = model_params(plan)
    fixed = {k: (v.value if isinstance(v, Slider) else v) for k, v in params.items()}
    return PovertyModel(**fixed)


def make_page(plan: str | Path) -> Any:
    """The SolaraViz page of ``plan``."""
    components = [make_plot_component(measures) for measures in PLOTS]
    return SolaraViz(initial_model(plan), components=components, model_params=model_params(plan),
                     name="tuopin: PovertyModel in Mesa's viewer")


DEFAULT_PLAN = scenario_dir() / "township.yaml"
page = make_page(DEFAULT_PLAN)
