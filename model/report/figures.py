"""Report figures of one results directory (written by ``tuopin run``), in Chinese or English.

:func:`load_results` reads and checks the directory; :func:`report_figures` draws every figure;
:func:`write_figures` saves them, staged then moved in, into ``RESULTS_DIR/figures_<lang>/``.
All text comes from :mod:`tuopin.report.labels`.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from tuopin.report import fonts
from tuopin.errors import UserError, short
from tuopin.report.fonts import Lang
from tuopin.report.labels import text
from tuopin.experiments.outputs import output_lock, read_json, sha256, write_results
from tuopin.report.plots import (DPI, PALETTE, add_source, exits_figure, money_unit, people_unit, source_line, tidy_ticks,
                                 with_unit)
from tuopin.scenario import BATCHES, file_hash, load_scenario
from tuopin.experiments.summary import summarize
from tuopin.sim import flows

PLAN: dict[str, Any] = dict(color=PALETTE["plan"], lw=1.4, ls="--", marker="s", ms=4, zorder=2)
SIM = PALETTE["sim"]
SIM2 = PALETTE["sim2"]
WHITE = dict(facecolor="white", edgecolor="none", alpha=0.85, pad=1.5)

NEEDED = {
    "annual.csv": ["replicate", *flows.known(
        "year", "target_exits", "poor_start", "exits", "relapses", "new_entrants", "poor_end",
        "villages_exited_total", "counties_exited_total", "spending", "cost_per_sustained_exit", "budget",
        "net_reduction", "lifted_total", *(f"exits_{b}" for b in BATCHES))],
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
    county_threshold: float | None = None

    def source(self, lang: Lang) -> str:
        """The source line of this run's figures (see :func:`tuopin.report.plots.source_line`)."""
        m = self.meta
        return source_line(str(m.get("scenario", "?")), float(m.get("scale", float("nan"))),
                           int(self.summary["replicates"].iloc[0]), int(m.get("seed", -1)), lang,
                           version=m.get("versions", {}).get("tuopin"))


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


def _plan(meta: dict) -> tuple[dict[str, str], dict[int, float] | None, dict[int, list[str]] | None, float | None]:
    """Title, village/county targets and the county exit threshold from the run's scenario file,
    if it is still there unchanged."""
    name = str(meta.get("scenario", "?"))
    scenario_file = meta.get("scenario_file")
    try:
        if scenario_file and Path(scenario_file).is_file() and file_hash(scenario_file) == meta.get("scenario_sha256"):
            scenario = load_scenario(scenario_file)
            by_year: dict[int, list[str]] = {}
            for county, year in scenario.planned_county_years().items():
                by_year.setdefault(year, []).append(county)
            threshold = scenario.exit_rules.county_incidence_threshold  # one, or by region
            return ({str(k): v for k, v in scenario.title.items()}, dict(scenario.targets.villages), by_year,
                    float(threshold) if not isinstance(threshold, dict) else None)
    except (UserError, OSError):
        pass
    return {"zh": name, "en": name}, None, None, None


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
        counties = _read_csv(county_file, ["county", "county_en", "year", "planned_exit_year", "incidence_median",
                                           "incidence_q05", "incidence_q95", "p_exited"])
    title, villages, county_targets, threshold = _plan(meta)
    try:
        summary = summarize(annual)
    except (ValueError, KeyError, TypeError, IndexError) as exc:  # a table made by something else
        raise UserError(f"cannot summarise the table ({type(exc).__name__}); expected a table written by "
                        "'tuopin run'", source=str(path / "annual.csv")) from None
    return Results(path, meta, annual, summary, counties, title, villages, county_targets, threshold)


def _title(results: Results, key: str, lang: Lang, width_in: float = 8.0) -> str:
    """The figure's title, wrapped to fit a figure ``width_in`` inches wide (Chinese characters are
    about twice as wide as Latin letters)."""
    title = text(key, lang, title=results.title.get(lang, results.title.get("en", "")))
    return textwrap.fill(title, int(width_in * (5.2 if lang == "zh" else 10.5)))


def _years(ax: Axes, years: np.ndarray, lang: Lang) -> None:
    ax.set_xticks(years)
    ax.set_xlabel(text("year", lang))
    ax.grid(axis="y", alpha=0.3)


def _band(ax: Axes, years: np.ndarray, s: pd.DataFrame, column: str, scale: float, colour: str, label: str,
          zorder: int = 3) -> None:
    """Median line with its 5-95% band shaded."""
    ax.fill_between(years, s[f"{column}_q05"] / scale, s[f"{column}_q95"] / scale, color=colour, alpha=0.22, lw=0,
                    zorder=zorder)
    ax.plot(years, s[f"{column}_median"] / scale, "o-", color=colour, lw=2, ms=5, label=label, zorder=zorder + 1)


def _sim_label(results: Results, lang: Lang) -> str:
    return text("simulated_band", lang, n=int(results.summary["replicates"].iloc[0]))


def remaining_poor(results: Results, lang: Lang) -> Figure:
    """Registered poor left at each year's end, against what the plan's targets would leave; both
    lines start from the register at the start of the first year."""
    s, years = results.summary, results.summary["year"].to_numpy()
    start = float(results.annual.loc[results.annual["year"] == years[0], "poor_start"].median())
    plan = start - s["target_exits_cum"].to_numpy()
    scale, unit = people_unit(max(start, s["poor_end_q95"].max()), lang)
    fig, ax = plt.subplots(figsize=(8, 4.8))
    all_years = np.r_[years[0] - 1, years]
    ax.plot(all_years, np.r_[start, np.maximum(plan, 0)] / scale, **PLAN, label=text("plan_remaining", lang))
    first = pd.DataFrame({f"poor_end_{k}": [start] for k in ("q05", "median", "q95")})
    _band(ax, all_years, pd.concat([first, s[[f"poor_end_{k}" for k in ("q05", "median", "q95")]]], ignore_index=True),
          "poor_end", scale, SIM, _sim_label(results, lang))
    ax.set_ylim(bottom=0)
    _years(ax, all_years, lang)
    ax.set_xticks(all_years, [text("register_year", lang, year=int(all_years[0])), *map(str, years)])
    tidy_ticks(ax)
    ax.set_ylabel(with_unit(text("remaining_axis", lang), unit, lang))
    ax.set_title(_title(results, "remaining_title", lang), fontsize=11)
    ax.legend(frameon=False, fontsize=9)
    fig.tight_layout()
    add_source(fig, results.source(lang))
    return fig


def relapses_new_entrants(results: Results, lang: Lang) -> Figure:
    """Relapses and new entrants per year, median and band."""
    s, years = results.summary, results.summary["year"].to_numpy()
    scale, unit = people_unit(max(s["relapses_q95"].max(), s["new_entrants_q95"].max()), lang)
    fig, ax = plt.subplots(figsize=(8, 4.8))
    _band(ax, years, s, "relapses", scale, SIM, text("relapses", lang))
    _band(ax, years, s, "new_entrants", scale, SIM2, text("new_entrants", lang))
    ax.set_ylim(bottom=0)
    _years(ax, years, lang)
    tidy_ticks(ax)
    ax.set_ylabel(with_unit(text("people", lang), unit, lang))
    ax.set_title(_title(results, "flows_title", lang), fontsize=11)
    ax.legend(frameon=False, fontsize=9, title=_sim_label(results, lang), title_fontsize=8)
    fig.tight_layout()
    add_source(fig, results.source(lang))
    return fig


def _cumulative_plan(years: np.ndarray, per_year: Mapping[int, float]) -> np.ndarray:
    return np.cumsum([float(per_year.get(int(y), 0)) for y in years])


def villages_counties(results: Results, lang: Lang) -> Figure:
    """Cumulative villages and counties exited, against the plan's cumulative targets. The two
    panels have their own y scales: one counts villages, the other counties."""
    s, years = results.summary, results.summary["year"].to_numpy()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6))
    # Counties by the year of the assessment that took the hat off (the plan's and the record's
    # convention; the exit is granted county_grant_lag years later), when the run reports it.
    counties = "counties_qualified_total" if "counties_qualified_total_median" in s else "counties_exited_total"
    panels = (
        (axes[0], "villages_exited_total", "villages_axis", results.village_targets),
        (axes[1], counties, "counties_axis" if counties == "counties_exited_total" else "counties_axis_assessed",
         None if results.county_targets is None else {y: len(v) for y, v in results.county_targets.items()}),
    )
    for ax, column, axis_key, targets in panels:
        planned = targets is not None and sum(targets.values()) > 0
        if targets is not None and planned:
            ax.plot(years, _cumulative_plan(years, targets), **PLAN, label=text("plan", lang))
        # the simulated line is drawn over the plan's, so a simulated zero stays visible
        _band(ax, years, s, column, 1.0, SIM, text("median_band", lang), zorder=4)
        if column == counties and targets is not None and not planned:
            ax.text(0.5, 0.5, text("no_county_plan", lang), transform=ax.transAxes, ha="center", color=PALETTE["plan"])
        top = max(1.0, ax.get_ylim()[1])
        ax.set_ylim(-0.04 * top, top * 1.15)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        _years(ax, years, lang)
        ax.set_ylabel(text(axis_key, lang))
        ax.legend(frameon=False, fontsize=9, loc="upper left")
    fig.suptitle(_title(results, "hats_title", lang, 10), fontsize=11)
    fig.tight_layout()
    add_source(fig, results.source(lang))
    return fig


def spending_cost(results: Results, lang: Lang) -> Figure:
    """Spending per year (bars with band) against the year's budget (line), and the cost per
    person lifted and still out: spending so far divided by the people exited and not fallen back
    (line with band). The panels have their own y scales: yuan per year, and yuan per person."""
    s, years = results.summary, results.summary["year"].to_numpy()
    budget = results.annual.groupby("year")["budget"].median().reindex(years).to_numpy()
    scale, unit = money_unit(max(s["spending_q95"].max(), np.nanmax(budget)), lang)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.8))
    med = s["spending_median"] / scale
    err = np.vstack([med - s["spending_q05"] / scale, s["spending_q95"] / scale - med])
    axes[0].bar(years, med, width=0.6, color=PALETTE["plan_fill"], edgecolor=PALETTE["plan"], yerr=err, capsize=4,
                label=text("spending_band", lang))
    axes[0].plot(years, budget / scale, **PLAN, label=text("budget_line", lang))
    axes[0].set_ylabel(with_unit(text("spending", lang), unit, lang))
    axes[0].set_title(text("spending_panel", lang), fontsize=10)
    _band(axes[1], years, s, "cost_per_sustained_exit", 1e3, SIM, text("median_band", lang))
    axes[1].set_ylabel(text("cost_axis", lang))
    axes[1].set_title(text("cost_per_exit", lang), fontsize=10)
    for ax in axes:
        top = ax.get_ylim()[1]
        ax.set_ylim(0, top * 1.25)  # room for the legend above the bars
        tidy_ticks(ax)
        _years(ax, years, lang)
        ax.legend(frameon=False, fontsize=8.5, loc="upper left")
    fig.suptitle(_title(results, "spending_title", lang, 10), fontsize=11)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.text(0.5, 0.045, text("cost_definition", lang), ha="center", fontsize=7.5, color=PALETTE["text"])
    add_source(fig, results.source(lang))
    return fig


def exits_by_batch(results: Results, lang: Lang) -> Figure:
    """Exits among the people each batch reached, per year: median across replicates with the
    5-95% band as whiskers. A person reached by several batches counts under each, so the bars
    do not add up to the year's exits (the figure says so)."""
    a = results.annual
    columns = [f"exits_{b}" for b in BATCHES if a[f"exits_{b}"].sum() > 0]
    grouped = a.groupby("year")[columns]
    med, lo, hi = grouped.median(), grouped.quantile(0.05), grouped.quantile(0.95)
    years = med.index.to_numpy()
    scale, unit = people_unit(hi.to_numpy().max() if hi.size else 0.0, lang)
    fig, ax = plt.subplots(figsize=(9, 5.0))
    width = 0.8 / max(len(columns), 1)
    for i, column in enumerate(columns):
        x = years - 0.4 + width * (i + 0.5)
        m = med[column].to_numpy() / scale
        ax.bar(x, m, width=width, color=PALETTE["cycle"][i % len(PALETTE["cycle"])],
               yerr=np.vstack([m - lo[column] / scale, hi[column] / scale - m]), capsize=1.5,
               error_kw={"lw": 0.7, "ecolor": "#333333"}, label=text(f"batch_{column.removeprefix('exits_')}", lang))
    _years(ax, years, lang)
    tidy_ticks(ax)
    n = int(results.summary["replicates"].iloc[0])
    ax.set_ylabel(with_unit(text("batch_axis", lang, n=n), unit, lang))
    ax.set_title(_title(results, "batch_title", lang, 7) + "\n" + text("batch_not_additive", lang), fontsize=10)
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    add_source(fig, results.source(lang))
    return fig


MAX_COUNTY_PANELS = 16
"""Counties drawn in the county figure at most (the rows of county_summary.csv come ranked)."""


def county_remaining(results: Results, lang: Lang) -> Figure | None:
    """One panel per county: poverty incidence (its estimate; median, band) against its exit
    threshold, the planned exit year and the chance that the county has taken off its hat for
    then. All panels share one y scale (incidence is comparable across counties of any size). Of
    many counties, the ``MAX_COUNTY_PANELS`` furthest behind (county_summary.csv's ``rank``).
    None without county results."""
    c = results.counties
    if c is None or c["county"].nunique() < 2:
        return None
    every = list(dict.fromkeys(c["county"]))
    names = every[:MAX_COUNTY_PANELS]
    ncols = min(4, len(names))
    nrows = -(-len(names) // ncols)
    width = max(3.0 * ncols, 7.0)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, 2.9 * nrows + 1.0), squeeze=False, sharex=True, sharey=True)
    threshold = results.county_threshold
    for ax, name in zip(axes.flat, names):
        g = c[c["county"] == name].sort_values("year")
        years = g["year"].to_numpy()
        _band(ax, years, g, "incidence", 0.01, SIM, "")
        own = float(g["threshold"].iloc[0]) if "threshold" in g else threshold  # by region when it differs
        if own:
            ax.axhline(own * 100, color=SIM2, lw=1, ls=":")
        planned = g["planned_exit_year"].iloc[0]
        label = name if lang == "zh" else str(g["county_en"].iloc[0])
        if pd.notna(planned):
            planned = int(planned)
            ax.axvline(planned, color=PALETTE["plan"], ls="--", lw=1)
            row = g[g["year"] == planned]
            column = "p_hat_off_by_plan" if "p_hat_off_by_plan" in g else "p_exited"
            p = float(row[column].iloc[0]) if len(row) else float("nan")
            note = text("p_hat_off", lang, year=planned, p=p)
        else:
            note = text("no_planned_exit", lang)
        # the note goes under the county's name, above the axes, so it never crosses a line
        ax.set_title(f"{label}\n{note}", fontsize=9)
        ax.set_xticks(years)
        ax.tick_params(labelsize=7.5, labelbottom=True)
        tidy_ticks(ax)
        ax.grid(axis="y", alpha=0.3)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    shown = c[c["county"].isin(names)]
    axes[0, 0].set_ylim(0, 1.05 * max(100 * float(shown["incidence_q95"].max()), 100 * (threshold or 0)))
    for ax in axes[:, 0]:
        ax.set_ylabel(text("incidence_axis", lang), fontsize=8)
    legend = [_sim_label(results, lang), text("dashed_planned", lang)]
    if threshold:
        legend.append(text("dotted_threshold", lang, t=threshold))
    elif "threshold" in c:
        legend.append(text("dotted_thresholds", lang))
    key = "county_title" if len(names) == len(every) else "county_title_behind"
    fig.suptitle(_title(results, key, lang, width * 1.1) + "\n" + ("；" if lang == "zh" else "; ").join(legend),
                 fontsize=10)
    fig.tight_layout()
    add_source(fig, results.source(lang))
    return fig


def report_figures(results: Results, lang: Lang) -> dict[str, Figure]:
    """Every report figure of a run, by file stem. Call inside :func:`tuopin.report.fonts.style`."""
    figures = {
        "exits_vs_plan": exits_figure(results.summary, _title(results, "exits_title", lang), lang,
                                      results.source(lang)),
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


STAMPLESS: dict[str, dict[str, None]] = {"pdf": {"CreationDate": None}}
"""Metadata that would make a figure file differ from run to run, left out (the same results give
the same files, so their hashes in ``run.json`` are stable)."""


def _write_figures(path: Path, lang: Lang, formats: tuple[str, ...]) -> Path:
    results = load_results(path)
    out = path / f"figures_{lang}"
    with fonts.style(lang):
        figures = report_figures(results, lang)
        try:
            writers = {f"{name}.{fmt}": (lambda p, fig=fig, fmt=fmt: fig.savefig(p, format=fmt, dpi=DPI,
                                                                       metadata=STAMPLESS.get(fmt)))
                       for name, fig in figures.items() for fmt in formats}
            meta = {"figures_of": str(path), "lang": lang, "results_run_json_sha256": sha256(path / "run.json"),
                    "scenario": results.meta.get("scenario")}
            write_results(out, writers, meta)
        finally:
            for fig in figures.values():
                plt.close(fig)
    return out
