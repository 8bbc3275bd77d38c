"""What the dashboard computes, apart from the page: controls -> scenario -> runs -> tables and
figures. Nothing here imports Solara, so it is tested without a browser.

The page (``tuopin.app.page``) holds a :class:`Controls`, turns it into a validated scenario
with :func:`prepare` (a bad value raises ``UserError``, shown on the page), runs it with
:func:`simulate` in a worker thread, and draws :func:`outcome_figure`, :func:`county_table` and
:func:`village_figure` from the :class:`Outcome`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import ListedColormap, to_hex
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from tuopin.errors import UserError
from tuopin.experiments.headlines import headlines, paired_headlines
from tuopin.experiments.replicates import RunResult, annual_table, county_table as county_rows, replicate_seeds
from tuopin.experiments.replicates import run_model, stack
from tuopin.experiments.resources import expected_people
from tuopin.experiments.summary import paired_differences, summarize, summarize_differences
from tuopin.report import fonts, labels
from tuopin.report.headlines import headline_line
from tuopin.report.labels import Lang
from tuopin.report.plots import PALETTE, people_unit, tidy_ticks, with_unit
from tuopin.scenario import Scenario, apply_overrides, check_uncertainty, get_path, load_raw, scenario_dir, validate
from tuopin.sim.agents import Population, Villages

MAX_REPLICATES = 200
"""Most replicates the page runs at once (more belong in ``tuopin run``)."""

MAX_SIMULATED_PEOPLE = 2_000_000
"""Most simulated people (registered and near-poor, in the sampled villages) the page accepts,
to keep it responsive."""

DEFAULT_SIMULATED_PEOPLE = 25_000
"""The default scale simulates about this many poor people: a run takes seconds."""

CAPACITY_GROUPS: dict[str, tuple[str, ...]] = {
    "relocation": ("relocation",),
    "industry_employment": ("industry", "employment"),
}
"""Batch-mix controls: each multiplies the yearly capacity of these batches."""

# ------------------------------------------------------------------ scenarios and controls


def scenario_files(directory: Path | None = None) -> list[Path]:
    """The scenario files the page offers: ``*.yaml`` and ``variants/*.yaml``, sorted."""
    directory = directory or scenario_dir()
    return sorted(directory.glob("*.yaml")) + sorted(directory.glob("variants/*.yaml"))


@dataclass(frozen=True)
class Controls:
    """Values of the page's controls. Multipliers apply to the scenario file's own values.

    ``scale`` None means "about :data:`DEFAULT_SIMULATED_PEOPLE` simulated poor people".
    """

    scenario: str
    budget: float = 1.0
    relocation: float = 1.0
    industry_employment: float = 1.0
    support_years: int | None = None
    target_pressure: float | None = None
    replicates: int = 10
    scale: float | None = None
    seed: int | None = None
    start_year: int | None = None
    """With a register (``tuopin app --households``): the first year simulated, from its state."""


@dataclass(frozen=True)
class RegisterFile:
    """A household register the page simulates instead of the synthetic one (``tuopin app
    --households FILE``), with its mapping file and whether totals may differ."""

    path: Path
    mapping: Path | None = None
    allow_partial: bool = False


def register_file() -> RegisterFile | None:
    """The register given to ``tuopin app`` (``$TUOPIN_HOUSEHOLDS``, ``$TUOPIN_REGISTER_MAP``,
    ``$TUOPIN_ALLOW_PARTIAL``), or None."""
    if not (path := os.environ.get("TUOPIN_HOUSEHOLDS")):
        return None
    mapping = os.environ.get("TUOPIN_REGISTER_MAP")
    return RegisterFile(Path(path), Path(mapping) if mapping else None, os.environ.get("TUOPIN_ALLOW_PARTIAL") == "1")


def load_register(register: RegisterFile, scenario: Scenario, start_year: int | None) -> Population:
    """The register's households for ``scenario`` at ``start_year`` (a bad row raises UserError)."""
    from tuopin.sim.register import households_from_register

    return households_from_register(register.path, scenario, mapping=register.mapping, start_year=start_year,
                                    allow_partial=register.allow_partial)


def default_scale(raw: dict[str, Any]) -> float:
    """A scale that simulates about :data:`DEFAULT_SIMULATED_PEOPLE` poor people (never above the
    file's own), rounded to two significant digits."""
    own = float(_value(raw, "scale"))
    poor = sum(float(r.get("poor_people", 0)) for r in raw.get("counties", {}).get("rows", []))
    if poor * own <= DEFAULT_SIMULATED_PEOPLE:
        return own
    x = DEFAULT_SIMULATED_PEOPLE / poor
    digits = 1 - int(math.floor(math.log10(x)))
    return round(x, digits)


def _value(raw: dict[str, Any], path: str) -> Any:
    """The value at a dotted path of the raw scenario behind the controls."""
    return get_path(raw, path, "dashboard")


def base_values(raw: dict[str, Any]) -> dict[str, Any]:
    """The file's own values behind the controls: what the page shows before anything is moved."""
    return {
        "support_years": int(_value(raw, "relapse.support_continuation_years")),
        "target_pressure": float(_value(raw, "assessment.target_pressure")),
        "replicates": min(int(raw.get("replicates", 10)), 10),
        "scale": default_scale(raw),
        "seed": int(raw.get("seed", 0)),
    }


def _number(value: Any, what: str, *, integer: bool = False) -> float:
    """A finite number from a control, or a UserError naming the control."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise UserError(f"expected a number, got {value!r}", key=what)
    if integer and value != int(value):
        raise UserError(f"expected a whole number, got {value!r}", key=what)
    return float(value)


def build_overrides(raw: dict[str, Any], controls: Controls) -> dict[str, Any]:
    """Dotted-path overrides (for ``scenario.apply_overrides``) that the controls ask of ``raw``.

    Multipliers scale the file's values (the budget multiplies ``funding.multiplier``; the batch
    mix multiplies each year's capacity of its batches); the others replace them. Only what
    differs from the file is overridden, so a parameter the file declares uncertain stays
    uncertain until its control is moved.
    """
    for name in ("budget", "relocation", "industry_employment"):
        if _number(getattr(controls, name), name) < 0:
            raise UserError(f"a multiplier cannot be negative (got {getattr(controls, name)})", key=name)
    overrides: dict[str, Any] = {}
    if controls.budget != 1:
        overrides["funding.multiplier"] = float(_value(raw, "funding.multiplier")) * controls.budget
    for control, batches in CAPACITY_GROUPS.items():
        factor = float(getattr(controls, control))
        if factor == 1:
            continue
        for batch in batches:
            capacity = _value(raw, f"batches.{batch}.capacity")
            overrides[f"batches.{batch}.capacity"] = {year: float(v) * factor for year, v in capacity.items()}
    if controls.support_years is not None:
        _number(controls.support_years, "support_years", integer=True)
        if controls.support_years != _value(raw, "relapse.support_continuation_years"):
            overrides["relapse.support_continuation_years"] = int(controls.support_years)
    if controls.target_pressure is not None:
        pressure = _number(controls.target_pressure, "target_pressure")
        if pressure != _value(raw, "assessment.target_pressure"):
            overrides["assessment.target_pressure"] = pressure
    scale = default_scale(raw) if controls.scale is None else _number(controls.scale, "scale")
    if register_file() is not None:
        scale = 1.0  # a register is simulated whole
    if scale != _value(raw, "scale"):
        overrides["scale"] = scale
    return overrides


LEVER_PATHS = {
    "funding.multiplier": "budget", "batches.relocation.capacity": "relocation",
    "batches.industry.capacity": "industry_employment", "relapse.support_continuation_years": "support_years",
    "assessment.target_pressure": "target_pressure",
}
"""Override path -> the control that sets it (for saying which levers a run moved)."""


def moved_levers(raw: dict[str, Any], controls: Controls) -> dict[str, float]:
    """The controls whose values differ from the scenario file's, with their values."""
    overrides = build_overrides(raw, controls)
    return {lever: float(getattr(controls, lever)) for path, lever in LEVER_PATHS.items() if path in overrides}


def baseline_of(controls: Controls) -> Controls:
    """The same controls with every lever at the plan's value (scenario, replicates, scale and
    seed kept): the baseline a variant is compared with."""
    return Controls(scenario=controls.scenario, replicates=controls.replicates, scale=controls.scale,
                    seed=controls.seed, start_year=controls.start_year)


def prepare(controls: Controls) -> Scenario:
    """The scenario the controls describe, validated; a bad value raises a one-line UserError."""
    path = Path(controls.scenario)
    raw, _ = load_raw(path)
    _number(controls.replicates, "replicates", integer=True)
    if not 1 <= controls.replicates <= MAX_REPLICATES:
        raise UserError(f"give 1 to {MAX_REPLICATES} replicates (got {controls.replicates}); "
                        "for more, use 'tuopin run'", key="replicates")
    if controls.seed is not None:
        _number(controls.seed, "seed", integer=True)
        if not 0 <= controls.seed < 2**63:
            raise UserError(f"the seed must be a whole number from 0 (got {controls.seed})", key="seed")
    raw = apply_overrides(raw, build_overrides(raw, controls), "dashboard")
    scenario = validate(raw, str(path))
    check_uncertainty(raw, scenario, str(path))
    simulated = expected_people(scenario)
    if simulated > MAX_SIMULATED_PEOPLE:
        raise UserError(f"scale {scenario.scale:g} simulates {simulated:,.0f} people; the page "
                        f"takes at most {MAX_SIMULATED_PEOPLE:,} (lower the scale, or use 'tuopin run')",
                        key="scale")
    return scenario


# ------------------------------------------------------------------ running


@dataclass
class Outcome:
    """A finished dashboard run: every replicate's tables and the villages of replicate 0."""

    run: RunResult
    villages: Villages
    county_names: list[str]
    county_names_en: list[str]
    levers: dict[str, float] = field(default_factory=dict)
    summary: pd.DataFrame = field(init=False)

    def __post_init__(self) -> None:
        self.summary = summarize(self.run.annual)


def simulate(scenario: Scenario, replicates: int, seed: int | None = None,
             progress: Callable[[int, int], None] | None = None,
             cancelled: Callable[[], bool] | None = None, population: Population | None = None,
             start_year: int | None = None) -> Outcome | None:
    """Run ``replicates`` replicates one by one, reporting ``progress(done, total)``.

    The replicate seeds are those of ``replicates.run_replicates`` (same seed, same numbers),
    from ``population`` (a register) and ``start_year`` if given. The village map is the final
    state of replicate 0. Returns None if ``cancelled()`` turns true.
    """
    seed = scenario.seed if seed is None else seed
    parts, first = [], None
    for i, seq in enumerate(replicate_seeds(seed, replicates)):
        if cancelled and cancelled():
            return None
        model = run_model(scenario, seq, population, start_year)
        parts.append((annual_table(model, i), county_rows(model, i)))
        if first is None:
            first = model  # the village map is replicate 0's final state
        if progress:
            progress(i + 1, replicates)
    assert first is not None  # at least one replicate
    run = stack(scenario, seed, parts)
    return Outcome(run, first.villages, list(first.counties.name), list(first.counties.name_en))


@dataclass
class Comparison:
    """The baseline and, when a lever is moved, the variant, run on the same replicate seeds
    (common random numbers: replicate ``i`` of both meets the same shocks)."""

    base: Outcome
    variant: Outcome | None = None
    yearly: pd.DataFrame | None = field(init=False, default=None)
    totals: pd.DataFrame | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if self.variant is not None:
            paired = paired_differences(self.base.run.annual, self.variant.run.annual)
            self.yearly = summarize_differences(paired)
            self.totals = paired_headlines(self.base.run.annual, self.variant.run.annual)

    @property
    def shown(self) -> Outcome:
        """The run the county table and village map describe: the variant if there is one."""
        return self.variant or self.base


# ------------------------------------------------------------------ words

LABELS: dict[str, dict[str, str]] = {lang: labels.table(lang) for lang in labels.LANGS}
"""Every word on the page and in its figures, by language (from the one table, ``report.labels``)."""

CONTROL_OF_KEY = {
    "replicates": "replicates", "seed": "seed", "scale": "scale", "budget": "budget", "relocation": "relocation",
    "industry_employment": "industry_employment", "support_years": "support_years",
    "target_pressure": "target_pressure", **LEVER_PATHS, "batches.employment.capacity": "industry_employment",
}
"""A UserError's key (or a dotted path in its message) -> the control to name in the message."""


def error_text(exc: UserError, lang: str) -> str:
    """A bad control's message in the page's language: which control, and what it takes."""
    message = str(exc)
    control = CONTROL_OF_KEY.get(exc.key or "") or next(
        (c for path, c in sorted(CONTROL_OF_KEY.items(), key=lambda kv: -len(kv[0])) if path in message), "scenario")
    return LABELS[lang][f"err_{control}"].format(max=MAX_REPLICATES, people=MAX_SIMULATED_PEOPLE)


# ------------------------------------------------------------------ tables


def _which(lang: str, variant: bool) -> str:
    return LABELS[lang]["variant" if variant else "baseline"]


def headline_table(comparison: Comparison, lang: str = "en") -> pd.DataFrame:
    """The headline quantities over the plan period: baseline (and variant, their paired
    difference with its 90% band, P(variant better)); the plan's figure where it sets one, and
    P(meet) on a second line of the cell (cells hold "\\n" where the page breaks the line). A
    quantity the plan sets no target for and that stays 0 (no county hat to take off) is left out."""
    t = LABELS[lang]
    base = headlines(comparison.base.run.annual, comparison.base.run.scenario).set_index("quantity")
    shown = [q for q in base.index if not (np.isnan(base.loc[q, "plan"]) and q.endswith("_exited_total")
                                             and base.loc[q, "q95"] == 0)]
    rows = []
    for q in shown:
        b = base.loc[q]
        row = {t["quantity"]: t[f"q_{q}"], t["plan_col"]: "–" if np.isnan(b["plan"]) else f"{b['plan']:,.0f}",
               t["baseline"]: _with_meet(b, t)}
        if comparison.variant is not None and comparison.totals is not None:
            v = headlines(comparison.variant.run.annual, comparison.variant.run.scenario).set_index("quantity").loc[q]
            d = comparison.totals.set_index("quantity").loc[q]
            row[t["variant"]] = _with_meet(v, t)
            row[t["difference"]] = f"{d['difference_median']:+,.0f}\n{d['difference_q05']:+,.0f} … {d['difference_q95']:+,.0f}"
            row[t["p_better"]] = t["neither"] if np.isnan(d["p_variant_better"]) else f"{d['p_variant_better']:.0%}"
        rows.append(row)
    return pd.DataFrame(rows)


def _with_meet(row: pd.Series, t: dict[str, str]) -> str:
    """A median, and on a second line P(meet) with its 95% interval when the plan sets a figure."""
    out = f"{row['median']:,.0f}"
    if not np.isnan(row["p_meet"]):
        out += "\n" + t["p_meet_short"].format(p=row["p_meet"], lo=row["p_meet_low"], hi=row["p_meet_high"])
    return out


def meet_table(comparison: Comparison, lang: str = "en") -> pd.DataFrame:
    """Per year: the plan's target, declared exits (median) and P(meet) with its 95% interval, for
    the baseline and, if there is one, the variant."""
    t = LABELS[lang]
    runs = [(False, comparison.base)] + ([(True, comparison.variant)] if comparison.variant else [])
    s0 = comparison.base.summary
    table = pd.DataFrame({t["year"]: s0["year"].astype(int).astype(str), t["app_plan_target"]: s0["target_exits"].map("{:,.0f}".format)})
    for variant, outcome in runs:
        s = outcome.summary
        which = _which(lang, variant)
        table[t["exits_median"].format(which=which)] = s["exits_median"].map("{:,.0f}".format).to_numpy()
        table[t["app_p_meet"].format(which=which)] = [
            "–" if np.isnan(p) else f"{p:.0%} ({lo:.0%}–{hi:.0%})"
            for p, lo, hi in zip(s["p_meet_target"], s["p_meet_target_low"], s["p_meet_target_high"])]
    return table


def county_table(outcome: Outcome, lang: str = "en") -> pd.DataFrame:
    """One row per county, most behind first: planned exit year, poverty incidence in that year
    (median) against the exit threshold and how far above it, P(exit by the planned year), people
    still poor at the end, status. Ranked by the gap to the threshold in the planned year;
    counties without a planned year last, by their gap at the end."""
    t = LABELS[lang]
    counties = outcome.run.counties
    last = int(counties["year"].max())
    planned = outcome.run.scenario.planned_county_years()
    rows = []
    for name, name_en in zip(outcome.county_names, outcome.county_names_en):
        g = counties[counties["county"] == name]
        plan = planned.get(name)
        at = g[g["year"] == min(plan or last, last)]
        incidence = float(np.median(at["incidence"]))
        final = g[g["year"] == last]
        threshold = float(g["threshold"].iloc[0])  # the county's own (by region)
        if plan is None:
            p_on_time, status = np.nan, t["no_plan"]
        else:
            qualified = final["first_qualified_year"].astype(float).to_numpy()  # the planned year's assessment
            p_on_time = float((qualified <= plan).mean())
            status = t["on_track"] if p_on_time >= 0.5 else t["behind"]
        rows.append({
            "_rank": (plan is None, -(incidence - threshold)),
            t["county"]: name if lang == "zh" else f"{name_en} {name}",
            t["app_planned_exit"]: "–" if plan is None else str(plan),
            t["incidence_end"]: f"{incidence:.1%}",
            t["threshold"]: f"{threshold:.0%}" if threshold > 0 else "–",  # 0: the plan records no county exit
            t["gap"]: f"{100 * (incidence - threshold):+.1f}" if threshold > 0 else "–",
            t["p_on_time"]: "–" if np.isnan(p_on_time) else f"{p_on_time:.0%}",
            t["poor_left"]: f"{float(np.median(final['poor_end'])):,.0f}",
            t["status"]: status,
        })
    rows.sort(key=lambda r: cast(float, r["_rank"]))
    return pd.DataFrame([{k: v for k, v in r.items() if k != "_rank"} for r in rows])


def export_tables(comparison: Comparison) -> dict[str, pd.DataFrame]:
    """The tables offered for download, by file name (English column names, as ``tuopin run``)."""
    base = comparison.base
    tables = {"baseline_annual.csv": base.run.annual, "baseline_summary.csv": base.summary,
              "baseline_headlines.csv": headlines(base.run.annual, base.run.scenario),
              "counties.csv": county_table(comparison.shown, "en")}
    if comparison.variant is not None and comparison.yearly is not None and comparison.totals is not None:
        v = comparison.variant
        tables |= {"variant_annual.csv": v.run.annual, "variant_summary.csv": v.summary,
                   "variant_headlines.csv": headlines(v.run.annual, v.run.scenario),
                   "differences_by_year.csv": comparison.yearly, "differences_total.csv": comparison.totals}
    return tables


def headline_sentences(outcome: Outcome, lang: Lang = "en") -> list[str]:
    """The headline quantities of one run as sentences (the same as ``tuopin run`` prints)."""
    table = headlines(outcome.run.annual, outcome.run.scenario)
    return [headline_line(row, lang) for _, row in table.iterrows()]


# ------------------------------------------------------------------ figures

FIGSIZE = (6.4, 3.5)
"""Inches at 100 dpi: drawn at the size the page shows them (640 px wide), so 10-point text stays
readable on a 1024-pixel screen."""


def _people_axis(ax: Any, largest: float, lang: str) -> float:
    """Label the y axis in people with a unit that fits (thousands / 万人); returns the divisor."""
    scale, unit = people_unit(largest, "zh" if lang == "zh" else "en")
    ax.set_ylabel(with_unit(LABELS[lang]["people"], unit, "zh" if lang == "zh" else "en"), fontsize=10)
    return scale


def panel_figure(comparison: Comparison, column: str, lang: str = "en") -> Figure:
    """One quantity per year (``exits``, ``poor_end`` or ``relapses``): the baseline's median and
    5-95% band, the variant's beside it, and for exits the plan's bars."""
    t = LABELS[lang]
    title = {"exits": t["app_exits_title"], "poor_end": t["poor_title"], "relapses": t["relapses_title"]}[column]
    runs = [(False, comparison.base)] + ([(True, comparison.variant)] if comparison.variant else [])
    s0 = comparison.base.summary
    years = s0["year"].to_numpy()
    largest = max(float(o.summary[f"{column}_q95"].max()) for _, o in runs)
    if column == "exits":
        largest = max(largest, float(s0["target_exits"].max()))
    with fonts.style("zh" if lang == "zh" else "en"):
        fig = Figure(figsize=FIGSIZE, dpi=100)
        ax = fig.subplots()
        scale = _people_axis(ax, largest, lang)
        if column == "exits":
            ax.bar(years, s0["target_exits"] / scale, width=0.6, color=PALETTE["plan_fill"], edgecolor=PALETTE["plan"],
                   label=t["app_plan"])
        for variant, outcome in runs:
            s = outcome.summary
            colour = PALETTE["sim"] if variant else PALETTE["sim2"]
            which = _which(lang, variant)
            ax.fill_between(years, s[f"{column}_q05"] / scale, s[f"{column}_q95"] / scale, color=colour, alpha=0.22, lw=0)
            ax.plot(years, s[f"{column}_median"] / scale, "o-" if not variant else "s--", color=colour, lw=2,
                    label=f"{which}: {t['median']}, {t['band']}")
        ax.set_title(title, fontsize=11)
        ax.set_xticks(years)
        ax.tick_params(labelsize=10)
        ax.set_xlabel(t["year"], fontsize=10)
        ax.set_ylim(0, ax.get_ylim()[1] * 1.18)
        tidy_ticks(ax)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(frameon=False, fontsize=9, loc="upper right")
        fig.tight_layout()
    return fig


def difference_figure(comparison: Comparison, lang: str = "en") -> Figure | None:
    """Per year, variant minus baseline for declared exits, people still poor and relapses: the
    paired difference's median and 5-95% band. None without a variant."""
    if comparison.yearly is None:
        return None
    t = LABELS[lang]
    rows = comparison.yearly
    with fonts.style("zh" if lang == "zh" else "en"):
        fig = Figure(figsize=FIGSIZE, dpi=100)
        ax = fig.subplots()
        largest = float(rows[rows["quantity"].isin(["exits", "poor_end", "relapses"])][["difference_q05", "difference_q95"]].abs().max().max())
        scale = _people_axis(ax, max(largest, 1.0), lang)
        for colour, quantity in zip((PALETTE["sim2"], PALETTE["sim"], PALETTE["cycle"][2]), ("exits", "poor_end", "relapses")):
            g = rows[rows["quantity"] == quantity]
            ax.fill_between(g["year"], g["difference_q05"] / scale, g["difference_q95"] / scale, color=colour, alpha=0.2, lw=0)
            ax.plot(g["year"], g["difference_median"] / scale, "o-", color=colour, lw=2, label=t[f"q_{quantity}"])
        ax.axhline(0, color=PALETTE["text"], lw=0.8)
        ax.set_title(t["diff_title"], fontsize=11)
        ax.set_xticks(sorted(rows["year"].unique()))
        ax.tick_params(labelsize=10)
        ax.set_xlabel(t["year"], fontsize=10)
        tidy_ticks(ax)
        ax.grid(alpha=0.3)
        ax.legend(frameon=False, fontsize=9)
        fig.tight_layout()
    return fig


MAX_SQUARES_PER_COUNTY = 400


def village_grid(outcome: Outcome, columns: int = 60) -> tuple[np.ndarray, list[tuple[float, str]], int, list[int]]:
    """The village chart's cells: one row block per county, one cell per poor village (or per
    group of ``k`` villages when a county has more than :data:`MAX_SQUARES_PER_COUNTY`).

    Returns ``(grid, ticks, k, years)``: cell values are the index of the exit year in ``years``,
    ``len(years)`` for not exited and NaN for padding; ``ticks`` are (row, county) labels.
    """
    v = outcome.villages
    years = sorted(int(y) for y in outcome.run.annual["year"].unique())
    code = {y: i for i, y in enumerate(years)}
    most = max((int((v.poor_village & (v.county == c)).sum()) for c in range(len(outcome.county_names))), default=0)
    k = max(1, math.ceil(most / MAX_SQUARES_PER_COUNTY))
    blocks, ticks, row = [], [], 0
    for c, name in enumerate(outcome.county_names):
        ids = np.flatnonzero(v.poor_village & (v.county == c))
        exit_year = v.exit_year[ids].astype(float)
        exit_year[exit_year < 0] = np.inf
        cells = np.array([np.median(exit_year[i:i + k]) for i in range(0, len(ids), k)])
        values = np.array([code.get(int(y), len(years)) if np.isfinite(y) else len(years) for y in cells], dtype=float)
        n_rows = max(1, math.ceil(len(values) / columns))
        block = np.full((n_rows, columns), np.nan)
        block.flat[: len(values)] = values
        ticks.append((row + (n_rows - 1) / 2, name))
        blocks += [block, np.full((1, columns), np.nan)]
        row += n_rows + 1
    grid = np.vstack(blocks[:-1]) if blocks else np.full((1, columns), np.nan)
    return grid, ticks, k, years


def village_colours(n_years: int) -> list[str]:
    """Exit years in blues (dark: early, light: late) and not exited in orange: distinguishable with
    the common colour-vision deficiencies (no red against green)."""
    blues = colormaps["Blues"]
    return [to_hex(blues(0.9 - 0.6 * i / max(n_years - 1, 1))) for i in range(n_years)] + ["#E69F00"]


def village_figure(outcome: Outcome, lang: str = "en") -> Figure:
    """The poor villages as a grid of squares by county, coloured by exit year (orange: not exited)."""
    t = LABELS[lang]
    grid, ticks, k, years = village_grid(outcome)
    colours = village_colours(len(years))
    names = dict(zip(outcome.county_names, outcome.county_names_en))
    with fonts.style("zh" if lang == "zh" else "en"):
        fig = Figure(figsize=(9.6, max(2.0, grid.shape[0] * 6.6 / grid.shape[1] + 1.0)), dpi=100)
        ax = fig.subplots()
        ax.pcolormesh(np.ma.masked_invalid(grid), cmap=ListedColormap(colours), vmin=-0.5, vmax=len(years) + 0.5,
                      edgecolors="white", linewidth=0.5)
        ax.set_aspect("equal")
        ax.invert_yaxis()
        ax.set_yticks([r + 0.5 for r, _ in ticks])
        ax.set_yticklabels([n if lang == "zh" else names[n] for _, n in ticks], fontsize=10)
        ax.set_xticks([])
        for side in ax.spines.values():
            side.set_visible(False)
        handles = [Patch(color=colours[i], label=t["village_exited"].format(year=y)) for i, y in enumerate(years)]
        handles.append(Patch(color=colours[-1], label=t["village_not_exited"]))
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, fontsize=10)
        note = t["villages_note"] if k == 1 else t["villages_note_grouped"].format(k=k)
        ax.set_title(note, fontsize=10, loc="left")
        fig.tight_layout()
    return fig
