"""The planner dashboard: a Solara page served by ``tuopin app``.

Pick a scenario, move the levers (budget, batch mix, support after exit, target pressure),
press Run. The replicates run in a worker thread (``solara.lab.task``) with a progress bar, so
the page stays responsive; a bad value shows a message, not a traceback. The computing and the
figures are in ``tuopin.app.data``; this module only lays out the page.
"""

from __future__ import annotations

import functools
import html
from pathlib import Path

import solara
import solara.lab

from tuopin.app.data import (LABELS, MAX_REPLICATES, Controls, Outcome, base_values, county_table, headline,
                             load_register, moved_levers, outcome_figure, prepare, register_file, scenario_dir,
                             scenario_files, simulate, village_figure)
from tuopin.errors import UserError
from tuopin.scenario.schema import Scenario, load_raw, read_yaml
from tuopin.sim.register import Population

CSS = """
.tuopin-table { border-collapse: collapse; font-size: 15px; margin: 4px 0 12px 0; }
.tuopin-table th, .tuopin-table td { border-bottom: 1px solid #dfe4ea; padding: 6px 14px; text-align: right; }
.tuopin-table th:first-child, .tuopin-table td:first-child { text-align: left; }
.tuopin-table th { background: #f1f2f6; }
.tuopin-table tr.behind td { background: #fdecea; }
.tuopin-headline { font-size: 17px; margin: 6px 0 10px 0; }
"""


def _default_scenario() -> str:
    files = scenario_files()
    preferred = [f for f in files if f.name == "shangluo.yaml"]
    return str((preferred or files or [scenario_dir() / "shangluo.yaml"])[0])


def _defaults(path: str) -> dict:
    try:
        return base_values(load_raw(Path(path))[0])
    except (UserError, KeyError, TypeError, ValueError):
        return {"support_years": 3, "target_pressure": 0.0, "replicates": 10, "scale": 0.05, "seed": 0}


lang = solara.reactive("en")
scenario = solara.reactive(_default_scenario())
_start = _defaults(scenario.value)
budget = solara.reactive(1.0)
relocation = solara.reactive(1.0)
industry_employment = solara.reactive(1.0)
support_years = solara.reactive(_start["support_years"])
target_pressure = solara.reactive(_start["target_pressure"])
replicates = solara.reactive(_start["replicates"])
scale = solara.reactive(_start["scale"])
seed = solara.reactive(_start["seed"])
start_year: solara.Reactive[int | None] = solara.reactive(None)
problem = solara.reactive("")
progress_count = solara.reactive((0, 1))

LANGUAGES = {"English": "en", "中文": "zh"}


def _reset(path: str) -> None:
    """A new scenario: its own defaults behind every control."""
    scenario.value = path
    values = _defaults(path)
    for name, var in (("support_years", support_years), ("target_pressure", target_pressure),
                      ("replicates", replicates), ("scale", scale), ("seed", seed)):
        var.value = values[name]
    for var in (budget, relocation, industry_employment):
        var.value = 1.0
    start_year.value = None
    problem.value = ""


def _controls() -> Controls:
    return Controls(scenario=scenario.value, budget=budget.value, relocation=relocation.value,
                    industry_employment=industry_employment.value, support_years=support_years.value,
                    target_pressure=target_pressure.value, replicates=replicates.value, scale=scale.value,
                    seed=seed.value, start_year=start_year.value)


@solara.lab.task
def run_task(scenario: Scenario, replicates: int, seed: int | None, levers: dict[str, float],
             population: Population | None = None, start: int | None = None) -> Outcome | None:
    """Run the replicates in a worker thread, updating the progress bar; None if superseded."""

    def progress(done: int, total: int) -> None:
        run_task.progress = 100.0 * done / total
        progress_count.value = (done, total)

    progress_count.value = (0, replicates + 1)
    outcome = simulate(scenario, replicates, seed, progress=progress, cancelled=lambda: not run_task.is_current(),
                       population=population, start_year=start)
    if outcome is not None:
        outcome.levers = levers
    return outcome


def start_run() -> None:
    """The Run button: check the controls now (a message on the page), then run in the background."""
    controls = _controls()
    try:
        scenario = prepare(controls)
        levers = moved_levers(load_raw(Path(controls.scenario))[0], controls)
        register = register_file()
        population = load_register(register, scenario, controls.start_year) if register else None
    except UserError as exc:
        problem.value = str(exc)
        return
    problem.value = ""
    run_task(scenario, controls.replicates, controls.seed, levers, population, controls.start_year)


def _years(path: str) -> list[int]:
    """The simulated years of a scenario file (the first alone if it cannot be read)."""
    try:
        first, last = load_raw(Path(path))[0]["years"]["value"]
        return list(range(int(first), int(last) + 1))
    except (UserError, KeyError, TypeError, ValueError):
        return [2016]


def _label(key: str) -> str:
    return LABELS[lang.value][key]


@functools.cache
def _scenario_label(path: Path, language: str) -> str:
    """``file.yaml: title`` in the page's language (the file name alone if it has no title)."""
    rel = path.relative_to(scenario_dir()) if path.is_relative_to(scenario_dir()) else path
    try:
        raw = read_yaml(path)
    except UserError:
        return str(rel)
    title = raw.get("title")
    title = title.get(language) if isinstance(title, dict) else None
    return f"{rel}: {title}" if title else str(rel)


def _slider(label: str, var: solara.Reactive, low: float, high: float, step: float, cls: str) -> None:
    """A lever: its name and value on one line, the slider below (whole numbers if step is 1)."""
    solara.Text(label, style={"font-size": "14px", "color": "#444"})
    with solara.Div(classes=[cls]):
        if step == 1:
            solara.SliderInt("", value=var, min=int(low), max=int(high))
        else:
            solara.SliderFloat("", value=var, min=low, max=high, step=step)


@solara.component
def ControlPanel() -> None:
    """The levers, the Run button and the language switch."""
    files = scenario_files()
    names = {_scenario_label(f, lang.value): str(f) for f in files}
    current = next((k for k, v in names.items() if v == scenario.value), _scenario_label(Path(scenario.value), lang.value))
    shown = next(k for k, v in LANGUAGES.items() if v == lang.value)
    solara.ToggleButtonsSingle(value=shown, values=list(LANGUAGES), on_value=lambda k: lang.set(LANGUAGES[k]),
                               classes=["tuopin-lang"])
    solara.Select(label=_label("scenario"), value=current, values=list(names),
                  on_value=lambda key: _reset(names[key]), classes=["tuopin-scenario"])
    solara.InputFloat(_label("budget"), value=budget, classes=["tuopin-budget"])
    _slider(f"{_label('relocation')}: {relocation.value:.2f}", relocation, 0.0, 2.0, 0.05, "tuopin-relocation")
    _slider(f"{_label('industry_employment')}: {industry_employment.value:.2f}", industry_employment, 0.0, 2.0, 0.05,
            "tuopin-industry")
    _slider(f"{_label('support_years')}: {support_years.value}", support_years, 0, 10, 1, "tuopin-support")
    _slider(f"{_label('target_pressure')}: {target_pressure.value:.2f}", target_pressure, 0.0, 1.0, 0.05,
            "tuopin-pressure")
    solara.InputInt(_label("replicates") + f" (1–{MAX_REPLICATES})", value=replicates, classes=["tuopin-replicates"])
    solara.InputFloat(_label("scale"), value=scale, classes=["tuopin-scale"])
    solara.InputInt(_label("seed"), value=seed, classes=["tuopin-seed"])
    if (register := register_file()) is not None:
        years = _years(scenario.value)
        shown_year = str(start_year.value or years[0])
        solara.Select(label=_label("start_year").format(file=register.path.name), value=shown_year,
                      values=[str(y) for y in years], on_value=lambda y: start_year.set(int(y)),
                      classes=["tuopin-start-year"])
    solara.Button(_label("run"), on_click=start_run, color="primary", disabled=run_task.pending,
                  classes=["tuopin-run"], style={"width": "100%", "font-size": "16px"})


@solara.component
def Results() -> None:
    """Progress while running; then the headline, the figures, the county table and the villages."""
    if problem.value:
        solara.Error(LABELS[lang.value]["error"].format(msg=problem.value), classes=["tuopin-error"])
    if run_task.pending:
        done = progress_count.value
        solara.ProgressLinear(run_task.progress or True)
        solara.Info(_label("running").format(done=done[0], total=done[1]), classes=["tuopin-progress"])
    if run_task.error:
        solara.Error(LABELS[lang.value]["failed"].format(msg=run_task.exception), classes=["tuopin-error"])
    outcome = run_task.latest if isinstance(run_task.latest, Outcome) else None
    if outcome is not None:
        ResultView(outcome)
    elif not run_task.pending:
        solara.Info(_label("ready"))


@solara.component
def ResultView(outcome: Outcome) -> None:
    """A finished run: headline, exits/poor/relapse figure, county table, village chart."""
    figure = solara.use_memo(lambda: outcome_figure(outcome, lang.value), dependencies=[outcome, lang.value])
    villages = solara.use_memo(lambda: village_figure(outcome, lang.value), dependencies=[outcome, lang.value])
    table = county_table(outcome, lang.value)
    t = LABELS[lang.value]
    run = outcome.run
    text = t["results_for"].format(title=run.scenario.title.get(lang.value, run.scenario.name),
                                   replicates=run.replicates, scale=run.scenario.scale.value, seed=run.seed)
    solara.HTML(tag="div", unsafe_innerHTML=f"<b>{html.escape(text)}</b>")
    moved = "; ".join(f"{t[k].split(' (')[0].split('（')[0]} = {v:g}" for k, v in outcome.levers.items())
    solara.HTML(tag="div", unsafe_innerHTML=html.escape(t["moved"].format(levers=moved) if moved else t["as_planned"]),
                classes=["tuopin-levers"])
    solara.HTML(tag="div", unsafe_innerHTML=html.escape(headline(outcome, lang.value)), classes=["tuopin-headline"])
    with solara.Div(classes=["tuopin-chart"]):
        solara.FigureMatplotlib(figure, dependencies=[outcome, lang.value], format="png")
    solara.HTML(tag="h3", unsafe_innerHTML=html.escape(t["counties_heading"]))
    solara.HTML(tag="div", unsafe_innerHTML=_html_table(table, t["status"], t["behind"]), classes=["tuopin-counties"])
    solara.HTML(tag="h3", unsafe_innerHTML=html.escape(t["villages_heading"]))
    with solara.Div(classes=["tuopin-villages"]):
        solara.FigureMatplotlib(villages, dependencies=[outcome, lang.value], format="png")


def _html_table(table, status: str, behind: str) -> str:
    """The county table as escaped HTML; rows behind plan are shaded."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    rows = []
    for _, row in table.iterrows():
        cls = ' class="behind"' if row[status] == behind else ""
        cells = "".join(f"<td>{html.escape(str(v))}</td>" for v in row)
        rows.append(f"<tr{cls}>{cells}</tr>")
    return f'<table class="tuopin-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


@solara.component
def Page() -> None:
    """The whole page: controls in the sidebar, results on the right."""
    solara.Style(CSS)
    solara.Title(_label("title"))
    with solara.Sidebar():
        ControlPanel()
    solara.HTML(tag="p", unsafe_innerHTML=html.escape(_label("subtitle")))
    Results()
