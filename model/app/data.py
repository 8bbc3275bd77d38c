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
from typing import Any

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from tuopin.report import fonts  # noqa: E402
from tuopin.sim.agents import Villages  # noqa: E402
from tuopin.errors import UserError  # noqa: E402
from tuopin.sim.model import PovertyModel  # noqa: E402
from tuopin.experiments.replicates import RunResult, replicate_seeds, run_replicate  # noqa: E402
from tuopin.experiments.resources import expected_people  # noqa: E402
from tuopin.scenario.schema import Scenario, apply_overrides, check_uncertainty, load_raw, validate  # noqa: E402
from tuopin.experiments.summary import summarize  # noqa: E402

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


def scenario_dir() -> Path:
    """Where the scenario files are: ``$TUOPIN_SCENARIOS``, else ``scenarios/`` of the checkout
    the package runs from, else ``./scenarios``."""
    if env := os.environ.get("TUOPIN_SCENARIOS"):
        return Path(env)
    beside = Path(__file__).resolve().parents[2] / "scenarios"
    return beside if beside.is_dir() else Path("scenarios")


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
    """The value at a dotted path of a raw scenario (through ``{value: ...}`` parameters)."""
    node: Any = raw
    for part in path.split("."):
        node = node[part]
    return node["value"] if isinstance(node, dict) and "value" in node else node


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
        raise UserError(f"scale {scenario.scale.value:g} simulates {simulated:,.0f} people; the page "
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
             cancelled: Callable[[], bool] | None = None) -> Outcome | None:
    """Run ``replicates`` replicates one by one, reporting ``progress(done, total)``.

    The replicate streams are those of ``run.run_replicates`` (same seed, same numbers). The
    village map is the final state of replicate 0. Returns None if ``cancelled()`` turns true.
    """
    seed = scenario.seed if seed is None else seed
    total = replicates + 1
    parts = []
    for i, seq in enumerate(replicate_seeds(seed, replicates)):
        if cancelled and cancelled():
            return None
        parts.append(run_replicate(scenario, seq, i))
        if progress:
            progress(i + 1, total)
    # replicate 0 again (same seed sequence) for its villages' final state
    model = PovertyModel(scenario, rng=replicate_seeds(seed, 1)[0])
    model.run()
    if progress:
        progress(total, total)
    annual = pd.concat([a for a, _ in parts], ignore_index=True)
    counties = pd.concat([c for _, c in parts], ignore_index=True)
    run = RunResult(scenario, seed, replicates, annual, counties)
    return Outcome(run, model.villages, list(model.counties.name), list(model.counties.name_en))


# ------------------------------------------------------------------ words

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "tuopin: poverty-exit plan dashboard",
        "subtitle": "Simulate a plan, move the levers, and see who leaves poverty, who falls back, and which counties fall behind.",
        "scenario": "Scenario (plan)",
        "budget": "Budget (× the plan's funds)",
        "relocation": "Relocation capacity (×)",
        "industry_employment": "Industry & employment capacity (×)",
        "support_years": "Support continues after exit (years)",
        "target_pressure": "Target pressure (share of shortfall declared exited)",
        "replicates": "Replicates",
        "scale": "Scale (share of villages simulated)",
        "seed": "Random seed",
        "run": "Run",
        "running": "Running… {done} of {total} model runs done",
        "ready": "Set the controls and press Run.",
        "language": "Language",
        "exits_title": "People leaving poverty per year",
        "poor_title": "People still poor at year end",
        "relapses_title": "People falling back (relapses) per year",
        "plan": "Plan target",
        "median": "Median",
        "band": "5–95% band",
        "thousand_people": "thousand people",
        "year": "Year",
        "county": "County",
        "planned_exit": "Planned exit",
        "simulated_exit": "Simulated exit (median)",
        "p_on_time": "P(exit by plan)",
        "poor_left": "Poor left at end (median)",
        "status": "Status",
        "behind": "Behind plan",
        "on_track": "On track",
        "no_plan": "No planned year",
        "not_exited": "after {year}",
        "counties_heading": "Counties against the plan",
        "villages_heading": "Poor villages at the end of replicate 1",
        "villages_note": "One square per poor village, coloured by the year it took off the hat.",
        "villages_note_grouped": "One square per {k} poor villages, coloured by the year most of them took off the hat.",
        "village_not_exited": "Not exited",
        "village_exited": "Exited {year}",
        "headline": ("{exits:,.0f} exits by {last} (plan {plan:,.0f}); {poor:,.0f} still poor "
                     "(90% band {lo:,.0f}–{hi:,.0f}); P(meet the plan's total) = {p:.0%}; "
                     "{behind} of {counties} counties behind plan."),
        "error": "Cannot run: {msg}",
        "failed": "The run failed: {msg}",
        "results_for": "Results: {title}, {replicates} replicates, scale {scale:g}, seed {seed}",
        "moved": "Levers moved from the plan: {levers}",
        "as_planned": "All levers as in the plan.",
    },
    "zh": {
        "title": "脱贫规划模拟看板",
        "subtitle": "模拟一项脱贫规划，调整政策杠杆，查看脱贫、返贫人数，以及哪些县落后于规划。",
        "scenario": "情景（规划）",
        "budget": "资金（规划资金的倍数）",
        "relocation": "易地搬迁规模（倍数）",
        "industry_employment": "产业与就业帮扶规模（倍数）",
        "support_years": "脱贫后政策延续年数（脱贫不脱政策）",
        "target_pressure": "考核压力（缺口中被宣布脱贫的比例）",
        "replicates": "重复次数",
        "scale": "抽样比例（模拟的村占各县村数的比例）",
        "seed": "随机种子",
        "run": "运行",
        "running": "正在运行：已完成 {done} / {total} 次模拟",
        "ready": "设置参数后点击“运行”。",
        "language": "语言",
        "exits_title": "每年脱贫人数",
        "poor_title": "年末剩余贫困人口",
        "relapses_title": "每年返贫人数",
        "plan": "规划目标",
        "median": "中位数",
        "band": "5%–95%区间",
        "thousand_people": "千人",
        "year": "年份",
        "county": "县（区）",
        "planned_exit": "计划摘帽",
        "simulated_exit": "模拟摘帽（中位数）",
        "p_on_time": "按期摘帽概率",
        "poor_left": "期末剩余贫困人口（中位数）",
        "status": "状态",
        "behind": "落后于规划",
        "on_track": "按计划",
        "no_plan": "无计划年份",
        "not_exited": "{year}年后",
        "counties_heading": "各县与规划对比",
        "villages_heading": "第1次模拟结束时的贫困村",
        "villages_note": "每个方块代表一个贫困村，颜色表示摘帽年份。",
        "villages_note_grouped": "每个方块代表 {k} 个贫困村，颜色表示其中多数摘帽的年份。",
        "village_not_exited": "未摘帽",
        "village_exited": "{year}年摘帽",
        "headline": ("到{last}年累计脱贫 {exits:,.0f} 人（规划 {plan:,.0f} 人）；剩余贫困人口 {poor:,.0f} 人"
                     "（90%区间 {lo:,.0f}–{hi:,.0f}）；完成规划总目标的概率 {p:.0%}；"
                     "{counties} 个县中 {behind} 个落后于规划。"),
        "error": "无法运行：{msg}",
        "failed": "运行失败：{msg}",
        "results_for": "结果：{title}，{replicates} 次重复，抽样比例 {scale:g}，种子 {seed}",
        "moved": "与规划不同的参数：{levers}",
        "as_planned": "所有参数均与规划相同。",
    },
}
"""Every word on the page and in its figures, in English and Chinese."""


# ------------------------------------------------------------------ tables and figures


def outcome_figure(outcome: Outcome, lang: str = "en") -> Figure:
    """Three panels: exits against the plan's bars, people still poor, relapses; each with the
    median line and the 5-95% band across replicates."""
    t = LABELS[lang]
    s = outcome.summary
    years = s["year"].to_numpy()
    with fonts.style(lang):
        fig = Figure(figsize=(13, 3.9), dpi=100)
        axes = fig.subplots(1, 3)
        panels = (("exits", t["exits_title"], True), ("poor_end", t["poor_title"], False),
                  ("relapses", t["relapses_title"], False))
        for ax, (col, title, plan) in zip(axes, panels):
            if plan:
                ax.bar(years, s["target_exits"] / 1e3, width=0.6, color="#c8d6e5", edgecolor="#576574",
                       label=t["plan"])
            ax.fill_between(years, s[f"{col}_q05"] / 1e3, s[f"{col}_q95"] / 1e3, color="#e17055", alpha=0.3,
                            label=t["band"])
            ax.plot(years, s[f"{col}_median"] / 1e3, "o-", color="#c0392b", lw=2, label=t["median"])
            ax.set_title(title, fontsize=12)
            ax.set_xticks(years)
            ax.set_xlabel(t["year"], fontsize=10)
            ax.set_ylabel(t["thousand_people"], fontsize=10)
            ax.set_ylim(bottom=0)
            ax.grid(axis="y", alpha=0.3)
            ax.legend(frameon=False, fontsize=9)
        fig.tight_layout()
    return fig


def headline(outcome: Outcome, lang: str = "en") -> str:
    """One sentence: exits to date against the plan, people still poor, P(meet plan), counties behind."""
    annual = outcome.run.annual
    last = int(annual["year"].max())
    cum = annual.groupby("replicate")[["exits", "target_exits"]].sum()
    end = annual[annual["year"] == last]["poor_end"].to_numpy(dtype=float)
    table = county_table(outcome, "en")
    return LABELS[lang]["headline"].format(
        exits=float(cum["exits"].median()), last=last, plan=float(cum["target_exits"].iloc[0]),
        poor=float(np.median(end)), lo=float(np.quantile(end, 0.05)), hi=float(np.quantile(end, 0.95)),
        p=float((cum["exits"] >= cum["target_exits"]).mean()),
        behind=int((table["Status"] == LABELS["en"]["behind"]).sum()), counties=len(table))


def county_table(outcome: Outcome, lang: str = "en") -> pd.DataFrame:
    """One row per county: planned exit year, median simulated exit year (or "after <last year>"
    when most replicates never exit), P(exit by the planned year), poor left at the end, status."""
    t = LABELS[lang]
    counties = outcome.run.counties
    last = int(counties["year"].max())
    final = counties[counties["year"] == last]
    planned = outcome.run.scenario.county_plan()
    rows = []
    for name, name_en in zip(outcome.county_names, outcome.county_names_en):
        g = final[final["county"] == name]
        exit_year = g["county_exit_year"].astype(float).to_numpy()
        exited = ~np.isnan(exit_year)
        if exited.mean() > 0.5:
            simulated = f"{np.median(np.where(exited, exit_year, np.inf)):.0f}"
        else:
            simulated = t["not_exited"].format(year=last)
        plan = planned.get(name)
        if plan is None:
            p_on_time, status, plan_text = np.nan, t["no_plan"], "–"
        else:
            qualified = g["first_qualified_year"].astype(float).to_numpy()  # the planned year's assessment
            p_on_time = float((qualified <= plan).mean())
            status = t["on_track"] if p_on_time >= 0.5 else t["behind"]
            plan_text = str(plan)
        rows.append({
            t["county"]: name if lang == "zh" else f"{name_en} {name}",
            t["planned_exit"]: plan_text,
            t["simulated_exit"]: simulated,
            t["p_on_time"]: "–" if np.isnan(p_on_time) else f"{p_on_time:.0%}",
            t["poor_left"]: f"{float(np.median(g['poor_end'])):,.0f}",
            t["status"]: status,
        })
    return pd.DataFrame(rows)


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


def village_figure(outcome: Outcome, lang: str = "en") -> Figure:
    """The poor villages as a grid of squares by county, coloured by exit year (grey: not exited)."""
    t = LABELS[lang]
    grid, ticks, k, years = village_grid(outcome)
    greens = ["#1b5e20", "#2e7d32", "#43a047", "#66bb6a", "#a5d6a7", "#c8e6c9", "#e8f5e9"]
    colours = [greens[i % len(greens)] for i in range(len(years))] + ["#c0392b"]
    names = dict(zip(outcome.county_names, outcome.county_names_en))
    with fonts.style(lang):
        fig = Figure(figsize=(13, max(2.0, grid.shape[0] * 10.0 / grid.shape[1] + 1.0)), dpi=100)
        ax = fig.subplots()
        ax.pcolormesh(np.ma.masked_invalid(grid), cmap=ListedColormap(colours), vmin=-0.5, vmax=len(years) + 0.5,
                      edgecolors="white", linewidth=0.6)
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
