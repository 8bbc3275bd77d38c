"""Report figures of one results directory (written by ``tuopin run``), in Chinese or English.

:func:`load_results` reads and checks the directory; :func:`report_figures` draws every figure;
:func:`write_figures` saves them, staged then moved in, into ``RESULTS_DIR/figures_<lang>/``.
All text comes from :mod:`tuopin.report.labels`.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from tuopin.report import fonts
from tuopin.errors import UserError, short
from tuopin.report.fonts import Lang
from tuopin.report.labels import text
from tuopin.experiments.outputs import output_lock, read_json, sha256, write_results
from tuopin.report.plots import exits_figure, people_unit, with_unit
from tuopin.scenario.schema import BATCHES, file_hash, load_scenario
from tuopin.experiments.summary import summarize

FORMATS = ("png", "pdf", "svg")
PLAN = dict(color="#576574", lw=1.6, ls="--", marker="s", ms=4, zorder=3)
SIM = "#c0392b"
SIM2 = "#2e86de"
WHITE = dict(facecolor="white", edgecolor="none", alpha=0.85, pad=1.5)

NEEDED = {
    "annual.csv": ["replicate", "year", "target_exits", "poor_start", "exits", "relapses", "new_entrants",
                   "poor_end", "villages_exited_total", "counties_exited_total", "spending",
                   "cost_per_sustained_exit", *(f"exits_{b}" for b in BATCHES)],
}


TEXT_COLUMNS = {"county", "county_en"}
WHOLE_COLUMNS = {"replicate", "year"}
"""Columns that must hold whole numbers (they index the tables and label the axes)."""


@dataclass
class Results:
    """What the figures need from a results directory."""

    path: Path
    meta: dict
    annual: pd.DataFrame
    summary: pd.DataFrame
    counties: pd.DataFrame | None
    title: dict[str, str]
    village_targets: dict[int, float] | None
    county_targets: dict[int, list[str]] | None


def _read_csv(path: Path, needed: list[str]) -> pd.DataFrame:
    if not path.exists():
        raise UserError(f"no {path.name}: not a folder written by 'tuopin run' (compare, sweep and calibrate "
                        "folders have no report figures)", source=str(path.parent))
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read the table ({type(exc).__name__})", source=str(path)) from None
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise UserError(f"missing column(s) {short(', '.join(missing))}; expected a table written by 'tuopin run'",
                        source=str(path))
    if frame.empty:
        raise UserError("the table has no rows", source=str(path))
    for column in needed:
        values = frame[column]
        if column in TEXT_COLUMNS:
            continue
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            raise UserError(f"column {short(column)} is not numbers; expected a table written by 'tuopin run'",
                            source=str(path))
        if column in WHOLE_COLUMNS and not (np.isfinite(values) & (values == values.round())).all():
            raise UserError(f"column {short(column)} holds values that are not whole numbers; expected a table "
                            "written by 'tuopin run'", source=str(path))
    return frame


def _plan(meta: dict) -> tuple[dict[str, str], dict[int, float] | None, dict[int, list[str]] | None]:
    """Title and village/county targets from the run's scenario file, if it is still there unchanged."""
    name = str(meta.get("scenario", "?"))
    scenario_file = meta.get("scenario_file")
    try:
        if scenario_file and Path(scenario_file).is_file() and file_hash(scenario_file) == meta.get("scenario_sha256"):
            scenario = load_scenario(scenario_file)
            return (dict(scenario.title), dict(scenario.targets.villages.value),
                    dict(scenario.targets.counties.value))
    except (UserError, OSError):
        pass
    return {"zh": name, "en": name}, None, None


def load_results(path: Path) -> Results:
    """Read a results directory written by ``tuopin run``; a missing or broken piece is a UserError."""
    if not path.is_dir():
        raise UserError("not a results directory (expected a folder written by 'tuopin run')", source=str(path))
    run_json = path / "run.json"
    if not run_json.is_file():
        raise UserError("no run.json: the run did not finish, or this is not a 'tuopin run' results folder",
                        source=str(path))
    meta = read_json(run_json)
    if meta is None:
        raise UserError("run.json is not valid JSON (or nested too deeply)", source=str(run_json))
    if not isinstance(meta, dict):
        raise UserError("run.json is not a JSON object", source=str(run_json))
    annual = _read_csv(path / "annual.csv", NEEDED["annual.csv"])
    county_file = path / "county_summary.csv"
    counties = None
    if county_file.is_file():
        counties = _read_csv(county_file, ["county", "county_en", "year", "planned_exit_year", "poor_end_median",
                                           "poor_end_q05", "poor_end_q95", "p_exited"])
    title, villages, county_targets = _plan(meta)
    try:
        summary = summarize(annual)
    except (ValueError, KeyError, TypeError, IndexError) as exc:  # a table made by something else
        raise UserError(f"cannot summarise the table ({type(exc).__name__}); expected a table written by "
                        "'tuopin run'", source=str(path / "annual.csv")) from None
    return Results(path, meta, annual, summary, counties, title, villages, county_targets)


def _title(results: Results, key: str, lang: Lang, width_in: float = 8.0) -> str:
    """The figure's title, wrapped to fit a figure ``width_in`` inches wide (Chinese characters are
    about twice as wide as Latin letters)."""
    title = text(key, lang, title=results.title.get(lang, results.title.get("en", "")))
    return textwrap.fill(title, int(width_in * (5.2 if lang == "zh" else 10.5)))


def _years(ax: Axes, years: np.ndarray, lang: Lang) -> None:
    ax.set_xticks(years)
    ax.set_xlabel(text("year", lang))
    ax.grid(axis="y", alpha=0.3)


def _band(ax: Axes, years: np.ndarray, s: pd.DataFrame, column: str, scale: float, colour: str, label: str) -> None:
    """Median line with its 5-95% band shaded."""
    ax.fill_between(years, s[f"{column}_q05"] / scale, s[f"{column}_q95"] / scale, color=colour, alpha=0.22, lw=0)
    ax.plot(years, s[f"{column}_median"] / scale, "o-", color=colour, lw=2, ms=5, label=label)


def _sim_label(results: Results, lang: Lang) -> str:
    return text("simulated_band", lang, n=int(results.summary["replicates"].iloc[0]))


def remaining_poor(results: Results, lang: Lang) -> Figure:
    """Registered poor left at each year's end, against what the plan's targets would leave."""
    s, years = results.summary, results.summary["year"].to_numpy()
    start = float(results.annual.loc[results.annual["year"] == years[0], "poor_start"].median())
    plan = start - s["target_exits_cum"].to_numpy()
    scale, unit = people_unit(max(start, s["poor_end_q95"].max()), lang)
    fig, ax = plt.subplots(figsize=(8, 4.8), dpi=120)
    ax.plot(np.r_[years[0] - 1, years], np.r_[start, np.maximum(plan, 0)] / scale, **PLAN, label=text("plan_remaining", lang))
    _band(ax, years, s, "poor_end", scale, SIM, _sim_label(results, lang))
    ax.plot([years[0] - 1], [start / scale], "o", color=SIM, ms=5)
    ax.set_ylim(bottom=0)
    _years(ax, np.r_[years[0] - 1, years], lang)
    ax.set_ylabel(with_unit(text("remaining_axis", lang), unit, lang))
    ax.set_title(_title(results, "remaining_title", lang), fontsize=11)
    ax.legend(frameon=False, fontsize=9)
    fig.tight_layout()
    return fig


def relapses_new_entrants(results: Results, lang: Lang) -> Figure:
    """Relapses and new entrants per year, median and band."""
    s, years = results.summary, results.summary["year"].to_numpy()
    scale, unit = people_unit(max(s["relapses_q95"].max(), s["new_entrants_q95"].max()), lang)
    fig, ax = plt.subplots(figsize=(8, 4.8), dpi=120)
    _band(ax, years, s, "relapses", scale, SIM, text("relapses", lang))
    _band(ax, years, s, "new_entrants", scale, SIM2, text("new_entrants", lang))
    ax.set_ylim(bottom=0)
    _years(ax, years, lang)
    ax.set_ylabel(with_unit(text("people", lang), unit, lang))
    ax.set_title(_title(results, "flows_title", lang), fontsize=11)
    ax.legend(frameon=False, fontsize=9, title=_sim_label(results, lang), title_fontsize=8)
    fig.tight_layout()
    return fig


def _cumulative_plan(years: np.ndarray, per_year: dict[int, float]) -> np.ndarray:
    return np.cumsum([float(per_year.get(int(y), 0)) for y in years])


def villages_counties(results: Results, lang: Lang) -> Figure:
    """Cumulative villages and counties exited, against the plan's cumulative targets."""
    s, years = results.summary, results.summary["year"].to_numpy()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.4), dpi=120)
    panels = (
        (axes[0], "villages_exited_total", "villages_axis", results.village_targets),
        (axes[1], "counties_exited_total", "counties_axis",
         None if results.county_targets is None else {y: len(v) for y, v in results.county_targets.items()}),
    )
    for ax, column, axis_key, targets in panels:
        if targets is not None and sum(targets.values()) > 0:
            ax.plot(years, _cumulative_plan(years, targets), **PLAN, label=text("plan", lang))
        _band(ax, years, s, column, 1.0, SIM, text("median_band", lang))
        if column == "counties_exited_total" and targets is not None and sum(targets.values()) == 0:
            ax.text(0.5, 0.5, text("no_county_plan", lang), transform=ax.transAxes, ha="center", color="#576574")
        ax.set_ylim(0, max(1.0, ax.get_ylim()[1]))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        _years(ax, years, lang)
        ax.set_ylabel(text(axis_key, lang))
        ax.legend(frameon=False, fontsize=9, loc="best")
    fig.suptitle(_title(results, "hats_title", lang, 10), fontsize=11)
    fig.tight_layout()
    return fig


def spending_cost(results: Results, lang: Lang) -> Figure:
    """Spending per year (bars with band) and cumulative cost per sustained exit (line with band)."""
    s, years = results.summary, results.summary["year"].to_numpy()
    largest = s["spending_q95"].max()
    if lang == "zh":
        scale, unit = (1e4, "万") if largest < 1e8 else (1e8, "亿")
    else:
        scale, unit = (1e6, text("million", lang)) if largest < 1e10 else (1e9, text("billion", lang))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.4), dpi=120)
    med = s["spending_median"] / scale
    err = np.vstack([med - s["spending_q05"] / scale, s["spending_q95"] / scale - med])
    axes[0].bar(years, med, width=0.6, color="#c8d6e5", edgecolor="#576574", yerr=err, capsize=4,
                label=text("median_band", lang))
    axes[0].set_ylabel(text("spending_axis", lang, unit=unit))
    axes[0].set_title(text("spending", lang), fontsize=10)
    _band(axes[1], years, s, "cost_per_sustained_exit", 1e3, SIM, text("median_band", lang))
    axes[1].set_ylabel(text("cost_axis", lang))
    axes[1].set_title(text("cost_per_exit", lang), fontsize=10)
    for ax in axes:
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if abs(v) >= 10 else f"{v:,.1f}"))
        _years(ax, years, lang)
        ax.legend(frameon=False, fontsize=9, loc="lower right")
    fig.suptitle(_title(results, "spending_title", lang, 10), fontsize=11)
    fig.tight_layout()
    return fig


def exits_by_batch(results: Results, lang: Lang) -> Figure:
    """Exits among the people each batch reached (mean of replicates; a person reached by several
    batches counts under each), per year."""
    a = results.annual
    means = a.groupby("year")[[f"exits_{b}" for b in BATCHES]].mean()
    means = means.loc[:, means.sum() > 0]
    years = means.index.to_numpy()
    scale, unit = people_unit(means.to_numpy().max() if means.size else 0.0, lang)
    fig, ax = plt.subplots(figsize=(9, 4.8), dpi=120)
    width = 0.8 / max(len(means.columns), 1)
    colours = plt.get_cmap("tab10").colors
    for i, column in enumerate(means.columns):
        ax.bar(years - 0.4 + width * (i + 0.5), means[column] / scale, width=width, color=colours[i % 10],
               label=text(f"batch_{column.removeprefix('exits_')}", lang))
    _years(ax, years, lang)
    n = int(results.summary["replicates"].iloc[0])
    ax.set_ylabel(with_unit(text("batch_axis", lang, n=n), unit, lang))
    ax.set_title(_title(results, "batch_title", lang, 7), fontsize=11)
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return fig


def county_remaining(results: Results, lang: Lang) -> Figure | None:
    """One panel per county: registered poor left (median, band), the planned exit year and the
    chance that the county has exited by then. None without county results."""
    c = results.counties
    if c is None or c["county"].nunique() < 2:
        return None
    names = list(dict.fromkeys(c["county"]))
    ncols = min(4, len(names))
    nrows = -(-len(names) // ncols)
    width = max(3.0 * ncols, 7.0)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, 2.7 * nrows + 0.8), dpi=120, squeeze=False,
                             sharex=True)
    scale, unit = people_unit(c["poor_end_q95"].max(), lang)
    for ax, name in zip(axes.flat, names):
        g = c[c["county"] == name].sort_values("year")
        years = g["year"].to_numpy()
        _band(ax, years, g, "poor_end", scale, SIM, "")
        planned = g["planned_exit_year"].iloc[0]
        label = name if lang == "zh" else str(g["county_en"].iloc[0])
        if pd.notna(planned):
            planned = int(planned)
            ax.axvline(planned, color="#576574", ls="--", lw=1)
            row = g[g["year"] == planned]
            p = float(row["p_exited"].iloc[0]) if len(row) else float("nan")
            note = text("p_hat_off", lang, year=planned, p=p)
            ax.text(0.97, 0.95, note, transform=ax.transAxes, ha="right", va="top", fontsize=7.5,
                    color="#c0392b" if p < 0.5 else "#222f3e", bbox=WHITE)
        else:
            ax.text(0.97, 0.95, text("no_planned_exit", lang), transform=ax.transAxes, ha="right", va="top",
                    fontsize=7.5, color="#576574")
        ax.set_title(label, fontsize=10)
        ax.set_ylim(bottom=0)
        ax.set_xticks(years)
        ax.tick_params(labelsize=7.5)
        ax.grid(axis="y", alpha=0.3)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel(with_unit(text("people", lang), unit, lang), fontsize=8)
    fig.suptitle(_title(results, "county_title", lang, width * 1.1) + "\n" + _sim_label(results, lang)
                 + ("；" if lang == "zh" else "; ") + text("dashed_planned", lang), fontsize=10)
    fig.tight_layout()
    return fig


def report_figures(results: Results, lang: Lang) -> dict[str, Figure]:
    """Every report figure of a run, by file stem. Call inside :func:`tuopin.report.fonts.style`."""
    figures = {
        "exits_vs_plan": exits_figure(results.summary, _title(results, "exits_title", lang), lang),
        "remaining_poor": remaining_poor(results, lang),
        "relapses_new_entrants": relapses_new_entrants(results, lang),
        "villages_counties": villages_counties(results, lang),
        "spending_cost": spending_cost(results, lang),
        "exits_by_batch": exits_by_batch(results, lang),
        "county_remaining": county_remaining(results, lang),
    }
    return {name: fig for name, fig in figures.items() if fig is not None}


def write_figures(path: Path, lang: Lang, formats: tuple[str, ...] = ("png", "pdf")) -> Path:
    """Draw every figure of the results in ``path`` and write them to ``path/figures_<lang>/``
    (staged, then moved in; its ``run.json`` names the results they were drawn from)."""
    if not path.is_dir():
        load_results(path)  # says what is wrong, before any lock file is made beside it
    with output_lock(path):  # the results must not change under the figures (a run writing them now)
        return _write_figures(path, lang, formats)


def _write_figures(path: Path, lang: Lang, formats: tuple[str, ...]) -> Path:
    results = load_results(path)
    out = path / f"figures_{lang}"
    with fonts.style(lang):
        figures = report_figures(results, lang)
        try:
            writers = {f"{name}.{fmt}": (lambda p, fig=fig, fmt=fmt: fig.savefig(p, format=fmt))
                       for name, fig in figures.items() for fmt in formats}
            meta = {"figures_of": str(path), "lang": lang, "results_run_json_sha256": sha256(path / "run.json"),
                    "scenario": results.meta.get("scenario")}
            write_results(out, writers, meta)
        finally:
            for fig in figures.values():
                plt.close(fig)
    return out
