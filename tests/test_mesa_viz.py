"""``PovertyModel`` in Mesa's own viewer: ``mesa.visualization`` imports, the SolaraViz page
renders, and Reset and a changed lever rebuild the model the way SolaraViz does (Mesa passes its
own ``scenario=`` when it re-instantiates a model; tuopin's scenario is ``plan``)."""

from __future__ import annotations

import ipyvuetify as v
import mesa
import pytest
import solara
from mesa.visualization import solara_viz

from conftest import ROOT
from tuopin.app import mesa_view
from tuopin.sim.model import PovertyModel

TOWNSHIP = ROOT / "scenarios" / "township.yaml"


def params(**changed) -> dict:
    """The page's model parameters with their current values, as Mesa's ModelCreator holds them."""
    values = {k: (p.value if isinstance(p, mesa.visualization.Slider) else p)
              for k, p in mesa_view.model_params(TOWNSHIP).items()}
    return {**values, **changed}


def rebuilt(model: PovertyModel, **changed) -> PovertyModel:
    """A new model from ``model``'s page, as SolaraViz's Reset builds it."""
    kwargs = solara_viz._build_model_init_kwargs(model, params(**changed), add_scenario_when_empty=True,
                                                 require_model_accepts_scenario=True)
    assert isinstance(kwargs["scenario"], mesa.experimental.scenarios.Scenario)  # Mesa's own, not tuopin's
    return type(model)(**kwargs)


def test_reset_and_a_changed_lever_rebuild_the_model():
    model = mesa_view.initial_model(TOWNSHIP)
    solara_viz._check_model_params(model, mesa_view.model_params(TOWNSHIP))  # what SolaraViz checks first
    model.run()
    again = rebuilt(model)
    assert again.plan.name == model.plan.name == "township"  # tuopin's scenario survives the reset
    again.run()
    first = model.datacollector.get_model_vars_dataframe()
    assert first.equals(again.datacollector.get_model_vars_dataframe())  # same file, seed and levers
    cut = rebuilt(again, **{"funding.multiplier": 0.2})
    assert cut.plan.funding.multiplier == pytest.approx(0.2)
    cut.run()
    assert cut.datacollector.get_model_vars_dataframe()["spending"].sum() < first["spending"].sum()


def test_mesa_scenario_with_parameters_is_refused():
    with pytest.raises(TypeError, match="as keywords"):
        PovertyModel(TOWNSHIP, rng=1, scenario=mesa.experimental.scenarios.Scenario(budget=2))


def test_page_renders_and_its_reset_button_works():
    page = mesa_view.make_page(TOWNSHIP)
    box, rc = solara.render(page, handle_error=False)  # the whole SolaraViz page, as `solara run` shows it
    rc.close()
    # Mesa's own Step and Reset buttons, on a model and parameters held as SolaraViz holds them
    model = solara.reactive(mesa_view.initial_model(TOWNSHIP))
    parameters = solara.reactive(params(**{"funding.multiplier": 0.5}))
    controller = solara_viz.ModelController(model, model_parameters=parameters, play_interval=solara.reactive(100),
                                            render_interval=solara.reactive(1), use_threads=solara.reactive(False))
    box, rc = solara.render(controller, handle_error=False)
    rc.find(v.Btn, children=["Step"]).widget.click()
    assert model.value.year == 2016
    rc.find(v.Btn, children=["Reset"]).widget.click()  # crashed before: Mesa's scenario took tuopin's place
    assert model.value.year == 2015 and model.value.plan.name == "township"
    assert model.value.plan.funding.multiplier == pytest.approx(0.5)  # the changed lever is used
    assert not rc.find(v.Alert).widgets  # no error shown
    rc.close()
