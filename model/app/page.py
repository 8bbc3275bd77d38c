"""The planner dashboard: a Solara page served by ``tuopin app``.

The page opens on the chosen scenario's baseline, already running. Move a lever (budget, batch
mix, support after exit, target pressure) and press Run: the baseline and the variant run on the
same replicate seeds (common random numbers) and the page shows them side by side with their
paired difference, its band and P(variant better). The replicates run in a worker thread
(``solara.lab.task``) with a progress bar; a bad value shows a message in the page's language
(it goes as soon as a control changes). Computing and figures are in ``tuopin.app.data``; this
module only lays out the page.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Callable
from typing import Any
import io
import zipfile
from pathlib import Path

import pandas as pd
import solara
import solara.lab
from matplotlib.figure import Figure

from tuopin.app.data import (LABELS, MAX_REPLICATES, Comparison, Controls, Outcome, base_values, baseline_of,
                             county_table, difference_figure, error_text, export_tables, headline_table, meet_table,
                             load_register, moved_levers, panel_figure, prepare, register_file, scenario_dir,
                             scenario_files, simulate, village_figure)
from tuopin.errors import UserError
from tuopin.report.labels import Lang
from tuopin.scenario import Scenario, load_raw, read_yaml
from tuopin.sim.agents import Population

CSS = """
.tuopin-table { border-collapse: collapse; font-size: 14px; margin: 4px 0 12px 0; }
.tuopin-table th, .tuopin-table td { border-bottom: 1px solid #dfe4ea; padding: 5px 10px; text-align: right; }
.tuopin-table th:first-child, .tuopin-table td:first-child { text-align: left; }
.tuopin-table th { background: #f1f2f6; font-weight: 600; }
.tuopin-table td { white-space: nowrap; }
.tuopin-table td:first-child, .tuopin-table td:last-child { white-space: normal; min-width: 120px; }
.tuopin-table .sub { color: #555; font-size: 12px; }
.v-navigation-drawer { min-width: 300px !important; max-width: 300px !important; }
.tuopin-table tr.behind td { background: #fde9d9; }
.tuopin-scroll { overflow-x: auto; max-width: 100%; }
.tuopin-charts img, .tuopin-villages img { max-width: 100%; height: auto; }
.tuopin-note { color: #444; font-size: 14px; margin: 2px 0 8px 0; }
.tuopin-lever { font-size: 14px; color: #333; margin-top: 6px; cursor: help; }
.tuopin-lever .tip { color: #0072B2; }
.tuopin-main { padding-bottom: 48px; }
"""

lang: solara.Reactive[Lang] = solara.reactive("en")


def _default_scenario() -> str:
    files = scenario_files()
    preferred = [f for f in files if f.name == "shangluo.yaml"]
    return str((preferred or files or [scenario_dir() / "shangluo.yaml"])[0])


def _defaults(path: str) -> dict:
    try:
        return base_values(load_raw(Path(path))[0])
    except (UserError, KeyError, TypeError, ValueError):
        return {"support_years": 3, "target_pressure": 0.0, "replicates": 10, "scale": 0.05, "seed": 0}


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
problem: solara.Reactive[UserError | None] = solara.reactive(None)
progress_count = solara.reactive((0, 1))

LANGUAGES: dict[str, Lang] = {"English": "en", "中文": "zh"}
_BASELINES: dict[tuple, Outcome] = {}
"""Baseline runs by (scenario, replicates, scale, seed): moving a lever reruns only the variant."""
MAX_BASELINES = 8


def _reset(path: str) -> None:
    """A new scenario: its own defaults behind every control, and its baseline run."""
    scenario.value = path
    values = _defaults(path)
    for name, var in (("support_years", support_years), ("target_pressure", target_pressure),
                      ("replicates", replicates), ("scale", scale), ("seed", seed)):
        var.value = values[name]
    for var in (budget, relocation, industry_employment):
        var.value = 1.0
    start_year.value = None
    problem.value = None
    start_run()


def _controls() -> Controls:
    return Controls(scenario=scenario.value, budget=budget.value, relocation=relocation.value,
                    industry_employment=industry_employment.value, support_years=support_years.value,
                    target_pressure=target_pressure.value, replicates=replicates.value, scale=scale.value,
                    seed=seed.value, start_year=start_year.value)


@solara.lab.task
def run_task(base: Scenario, variant: Scenario | None, replicates: int, seed: int | None, key: tuple,
             levers: dict[str, float], population: Population | None = None,
             start: int | None = None) -> Comparison | None:
    """Run the baseline (unless already run) and the variant in a worker thread, updating the
    progress bar; None if superseded by a newer run."""
    runs = (0 if key in _BASELINES else 1) + (1 if variant is not None else 0)
    total = runs * replicates
    done_before = [0]

    def progress(done: int, each: int) -> None:
        run_task.progress = 100.0 * (done_before[0] + done) / total
        progress_count.value = (done_before[0] + done, total)

    progress_count.value = (0, total)
    current = lambda: not run_task.is_current()  # noqa: E731
    if key not in _BASELINES:
        outcome = simulate(base, replicates, seed, progress=progress, cancelled=current, population=population,
                           start_year=start)
        if outcome is None:
            return None
        while len(_BASELINES) >= MAX_BASELINES:
            _BASELINES.pop(next(iter(_BASELINES)))
        _BASELINES[key] = outcome
        done_before[0] = replicates
    other = None
    if variant is not None:
        other = simulate(variant, replicates, seed, progress=progress, cancelled=current, population=population,
                         start_year=start)
        if other is None:
            return None
        other.levers = levers
    return Comparison(_BASELINES[key], other)


def start_run() -> None:
    """Run: check the controls now (a message on the page), then run baseline and variant in the
    background; with every lever as in the plan, the baseline alone."""
    controls = _controls()
    try:
        levers = moved_levers(load_raw(Path(controls.scenario))[0], controls)
        variant = prepare(controls) if levers else None
        base = prepare(baseline_of(controls))
        register = register_file()
        population = load_register(register, base, controls.start_year) if register else None
    except UserError as exc:
        problem.value = exc
        return
    problem.value = None
    key = (controls.scenario, controls.replicates, base.scale, controls.seed, controls.start_year)
    run_task(base, variant, controls.replicates, controls.seed, key, levers, population, controls.start_year)


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


def _changed(var: solara.Reactive) -> Callable[[Any], None]:
    """A control's setter that also clears an old error message (the value is being fixed)."""

    def set_value(value: Any) -> None:
        var.value = value
        problem.value = None

    return set_value


def _lever_label(key: str, value: str | None) -> None:
    """A control's name and unit (and value, for a slider); its explanation shows on hover (ⓘ)."""
    name = html.escape(_label(key).format(max=MAX_REPLICATES))
    shown = f"{name}: <b>{html.escape(value)}</b>" if value is not None else name
    solara.HTML(tag="div", unsafe_innerHTML=f'{shown} <span class="tip">ⓘ</span>',
                attributes={"title": _label(f"tip_{key}")}, classes=["tuopin-lever", f"tuopin-tip-{key}"])


def _slider(key: str, var: solara.Reactive, low: float, high: float, step: float, shown: str) -> None:
    """A lever: its label (with a tooltip), the slider below (whole numbers if step is 1)."""
    _lever_label(key, shown)
    with solara.Div(classes=[f"tuopin-{key.replace('_', '-')}"]):
        if step == 1:
            solara.SliderInt("", value=var.value, on_value=_changed(var), min=int(low), max=int(high))
        else:
            solara.SliderFloat("", value=var.value, on_value=_changed(var), min=low, max=high, step=step)


@solara.component
def ControlPanel() -> None:
    """The language switch, the scenario, the levers, the run settings and the Run button."""
    files = scenario_files()
    names = {_scenario_label(f, lang.value): str(f) for f in files}
    current = next((k for k, v in names.items() if v == scenario.value), _scenario_label(Path(scenario.value), lang.value))
    shown = next(k for k, v in LANGUAGES.items() if v == lang.value)
    solara.ToggleButtonsSingle(value=shown, values=list(LANGUAGES), on_value=lambda k: lang.set(LANGUAGES[k]),
                               classes=["tuopin-lang"])
    solara.Select(label=_label("scenario"), value=current, values=list(names),
                  on_value=lambda key: _reset(names[key]), classes=["tuopin-scenario"])
    _slider("budget", budget, 0.0, 2.0, 0.05, f"{budget.value:.2f}")
    _slider("relocation", relocation, 0.0, 2.0, 0.05, f"{relocation.value:.2f}")
    _slider("industry_employment", industry_employment, 0.0, 2.0, 0.05, f"{industry_employment.value:.2f}")
    _slider("support_years", support_years, 0, 10, 1, f"{support_years.value}")
    _slider("target_pressure", target_pressure, 0.0, 1.0, 0.05, f"{target_pressure.value:.2f}")
    for key, var, cls, widget in (("replicates", replicates, "tuopin-replicates", solara.InputInt),
                                  ("scale", scale, "tuopin-scale", solara.InputFloat),
                                  ("seed", seed, "tuopin-seed", solara.InputInt)):
        _lever_label(key, None)
        widget("", value=var.value, on_value=_changed(var), classes=[cls], continuous_update=True, dense=True)
    if (register := register_file()) is not None:
        years = _years(scenario.value)
        solara.HTML(tag="div", unsafe_innerHTML=html.escape(_label("start_year").format(file=register.path.name)),
                    attributes={"title": _label("tip_start_year")}, classes=["tuopin-lever"])
        solara.Select(label="", value=str(start_year.value or years[0]), values=[str(y) for y in years],
                      on_value=lambda y: start_year.set(int(y)), classes=["tuopin-start-year"])
    solara.Button(_label("run"), on_click=start_run, color="primary", disabled=run_task.pending,
                  classes=["tuopin-run"], style={"width": "100%", "font-size": "16px"})


@solara.component
def Results() -> None:
    """Progress while running; a message for a bad value; then the comparison."""
    solara.use_effect(lambda: start_run() if run_task.latest is None and not run_task.pending else None, [])
    if problem.value is not None:
        solara.Error(_label("error").format(msg=error_text(problem.value, lang.value)), classes=["tuopin-error"])
    if run_task.pending:
        done = progress_count.value
        solara.ProgressLinear(run_task.progress or True)
        solara.Info(_label("running").format(done=done[0], total=done[1]), classes=["tuopin-progress"])
    if run_task.error:
        solara.Error(_label("failed").format(msg=type(run_task.exception).__name__), classes=["tuopin-error"])
    comparison = run_task.latest if isinstance(run_task.latest, Comparison) else None
    if comparison is not None and not run_task.pending:  # never old results under new settings
        ComparisonView(comparison)


def _figures(comparison: Comparison, language: str) -> dict[str, Figure]:
    """The page's charts, by file stem."""
    figures = {f"{column}": panel_figure(comparison, column, language) for column in ("exits", "poor_end", "relapses")}
    diff = difference_figure(comparison, language)
    if diff is not None:
        figures["difference"] = diff
    figures["villages"] = village_figure(comparison.shown, language)
    return figures


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buffer.getvalue()


def _figure_bytes(figure: Figure, fmt: str) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, dpi=200 if fmt == "png" else None)
    return buffer.getvalue()


@solara.component
def ComparisonView(comparison: Comparison) -> None:
    """Baseline (and variant): headline table, per-year P(meet), charts, counties, villages, export."""
    language = lang.value
    t = LABELS[language]
    figures = solara.use_memo(lambda: _figures(comparison, language), dependencies=[comparison, language])
    base = comparison.base
    run = base.run
    title = dict(run.scenario.title).get(language, run.scenario.name)
    per = 1 / run.scenario.scale
    simulated = sum(r.poor_people for r in run.scenario.counties.rows) * run.scenario.scale
    solara.HTML(tag="div", unsafe_innerHTML="<b>" + html.escape(t["results_for"].format(
        title=title, replicates=run.replicates, seed=run.seed)) + "</b>", classes=["tuopin-results-for"])
    note = t["scale_full" if run.scenario.scale == 1 else "scale_note"]
    solara.HTML(tag="div", unsafe_innerHTML=html.escape(note.format(scale=run.scenario.scale, per=per, people=simulated)),
                classes=["tuopin-note", "tuopin-scale-note"])
    variant = comparison.variant
    if variant is None:
        solara.HTML(tag="div", unsafe_innerHTML=html.escape(t["as_planned"]), classes=["tuopin-levers"])
    else:
        moved = "; ".join(f"{t[k].split(' (')[0].split('（')[0]} = {v:g}" for k, v in variant.levers.items())
        solara.HTML(tag="div", unsafe_innerHTML=html.escape(t["moved"].format(levers=moved)), classes=["tuopin-levers"])
    years = run.annual["year"]
    solara.HTML(tag="h3", unsafe_innerHTML=html.escape(t["headline_heading"].format(first=int(years.min()),
                                                                                     last=int(years.max()))))
    headline = headline_table(comparison, language)
    css = ["tuopin-headline", "tuopin-scroll"] + (["tuopin-difference"] if variant is not None else [])
    solara.HTML(tag="div", unsafe_innerHTML=_html_table(headline), classes=css)
    with solara.Div(classes=["tuopin-charts", "tuopin-chart"]):
        with solara.ColumnsResponsive(12, large=6):
            for name in ("exits", "poor_end", "relapses", "difference"):
                if name in figures:
                    solara.FigureMatplotlib(figures[name], dependencies=[comparison, language, name], format="png")
    solara.HTML(tag="h3", unsafe_innerHTML=html.escape(t["meet_heading"]))
    solara.HTML(tag="div", unsafe_innerHTML=html.escape(t["meet_note"]), classes=["tuopin-note"])
    solara.HTML(tag="div", unsafe_innerHTML=_html_table(meet_table(comparison, language)),
                classes=["tuopin-meet", "tuopin-scroll"])
    which = t["variant" if variant is not None else "baseline"]
    table = county_table(comparison.shown, language)
    solara.HTML(tag="h3", unsafe_innerHTML=html.escape(t["counties_heading"].format(which=which)))
    solara.HTML(tag="div", unsafe_innerHTML=html.escape(t["counties_note"]), classes=["tuopin-note"])
    solara.HTML(tag="div", unsafe_innerHTML=_html_table(table, t["status"], t["behind"]),
                classes=["tuopin-counties", "tuopin-scroll"])
    solara.HTML(tag="h3", unsafe_innerHTML=html.escape(t["villages_heading"].format(which=which)))
    with solara.Div(classes=["tuopin-villages"]):
        solara.FigureMatplotlib(figures["villages"], dependencies=[comparison, language, "villages"], format="png")
    solara.HTML(tag="h3", unsafe_innerHTML=html.escape(t["export_heading"]))
    stem = run.scenario.name
    with solara.Row(classes=["tuopin-export"]):
        solara.FileDownload(lambda: _zip({n: f.to_csv(index=False).encode() for n, f in export_tables(comparison).items()}),
                            filename=f"{stem}_tables.zip", label=t["export_tables"])
        for fmt in ("png", "svg"):
            solara.FileDownload(lambda fmt=fmt: _zip({f"{n}.{fmt}": _figure_bytes(f, fmt) for n, f in figures.items()}),
                                filename=f"{stem}_figures_{fmt}.zip", label=f"{t['export_figures']} ({fmt.upper()})")


def _cell(value: object) -> str:
    """A table cell's text, escaped; a second line (after "\\n") in small grey type."""
    first, _, second = html.escape(str(value)).partition("\n")
    return f'{first}<br><span class="sub">{second}</span>' if second else first


def _html_table(table: pd.DataFrame, status: str | None = None, behind: str | None = None) -> str:
    """A table as escaped HTML; rows whose ``status`` column says ``behind`` are shaded."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    rows = []
    for _, row in table.iterrows():
        cls = ' class="behind"' if status is not None and row[status] == behind else ""
        cells = "".join(f"<td>{_cell(v)}</td>" for v in row)
        rows.append(f"<tr{cls}>{cells}</tr>")
    return f'<table class="tuopin-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


@solara.component
def Page() -> None:
    """The whole page: controls in the sidebar, results on the right."""
    solara.Style(CSS)
    solara.Title(_label("title"))
    with solara.Sidebar():
        ControlPanel()
    with solara.Div(classes=["tuopin-main"]):
        solara.HTML(tag="p", unsafe_innerHTML=html.escape(_label("subtitle")))
        Results()
