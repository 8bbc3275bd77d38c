"""What the dashboard computes, apart from the page: controls -> scenario -> runs -> tables and
figures. Nothing here imports Solara, so it is tested without a browser.

The page (``tuopin.app.page``) holds a :class:`Controls`, turns it into a validated scenario
with :func:`prepare` (a bad value raises ``UserError``, shown on the page), runs it with
:func:`simulate` in a worker thread, and draws :func:`outcome_figure`, :func:`county_table` and
:func:`village_figure` from the :class:`Outcome`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import ListedColormap, to_hex  # noqa: E402
from matplotlib import colormaps  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from tuopin.report import fonts  # noqa: E402
from tuopin.sim.agents import Villages  # noqa: E402
from tuopin.errors import UserError  # noqa: E402
from tuopin.sim.model import PovertyModel  # noqa: E402
from tuopin.experiments.replicates import RunResult, replicate_seeds, run_replicate  # noqa: E402
from tuopin.scenario.files import scenario_dir  # noqa: E402
from tuopin.scenario.schema import Scenario, apply_overrides, check_uncertainty, load_raw, validate  # noqa: E402
from tuopin.experiments.headlines import headlines, paired_headlines  # noqa: E402
from tuopin.experiments.summary import paired_differences, summarize, summarize_differences  # noqa: E402
from tuopin.report.headlines import headline_line  # noqa: E402
from tuopin.report.labels import text  # noqa: E402
from tuopin.report.plots import PALETTE, people_unit, tidy_ticks, with_unit  # noqa: E402

MAX_REPLICATES = 200
"""Most replicates the page runs at once (more belong in ``tuopin run``)."""

MAX_SIMULATED_PEOPLE = 2_000_000
"""Most simulated poor people (poor people x scale) the page accepts, to keep it responsive."""

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


def baseline_of(controls: Controls) -> Controls:
    """The same controls with every lever at the plan's value (scenario, replicates, scale and
    seed kept): the baseline a variant is compared with."""
    return Controls(scenario=controls.scenario, replicates=controls.replicates, scale=controls.scale,
                    seed=controls.seed)


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
    simulated = sum(r.poor_people for r in scenario.counties.rows) * scenario.scale.value
    if simulated > MAX_SIMULATED_PEOPLE:
        raise UserError(f"scale {scenario.scale.value:g} simulates {simulated:,.0f} poor people; the page "
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

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "tuopin: poverty-exit plan dashboard",
        "subtitle": ("The plan's baseline is run when the page opens. Move a lever and press Run: the page "
                     "shows the baseline and your variant side by side, on the same random numbers."),
        "scenario": "Scenario (plan)",
        "budget": "Budget (× the plan's funds)",
        "relocation": "Relocation capacity (× the plan's)",
        "industry_employment": "Industry & employment capacity (× the plan's)",
        "support_years": "Support continues after exit (years)",
        "target_pressure": "Target pressure (share of a shortfall declared exited)",
        "replicates": "Replicates (1–{max})",
        "scale": "Scale (simulated people per real person)",
        "seed": "Random seed",
        "tip_budget": "Multiplies every year's budget in the plan: 0.8 is a 20% cut. Unit: times the plan's funds.",
        "tip_relocation": "Multiplies the people relocated each year (易地搬迁). Unit: times the plan's capacity.",
        "tip_industry_employment": "Multiplies the people given industry or job support each year. Unit: times the plan's capacity.",
        "tip_support_years": "Years a household keeps its support after it exits (脱贫不脱政策). Unit: years.",
        "tip_target_pressure": ("When honest exits fall short of the year's target, this share of the shortfall is "
                                "declared exited anyway: they tend to fall back. Unit: share, 0 to 1."),
        "tip_replicates": "Independent runs; more give steadier bands and a smaller error on P(meet), but take longer.",
        "tip_scale": ("Simulated people per real person: 0.05 simulates one in twenty. Results are always in real "
                      "people; a smaller scale runs faster, with wider bands."),
        "tip_seed": "The same seed and levers give the same numbers.",
        "run": "Run",
        "running": "Running… {done} of {total} model runs done",
        "language": "Language",
        "results_for": "{title}: {replicates} replicates, seed {seed}",
        "scale_note": ("Scale {scale:g}: each simulated person stands for {per:,.0f} real people ({people:,.0f} "
                       "simulated poor people). Numbers are in real people; they move in steps of about {per:,.0f}, "
                       "and bands are wider than at full scale."),
        "scale_full": "Scale 1: every person of the plan is simulated ({people:,.0f} poor people).",
        "as_planned": "All levers as in the plan: this is the baseline.",
        "moved": "Variant: {levers}. Baseline: every lever as in the plan. Both on the same random numbers.",
        "headline_heading": "Headlines, {first}–{last}",
        "baseline": "Baseline",
        "variant": "Variant",
        "difference": "Variant − baseline: median, 90% band",
        "p_meet_short": "P(meet) {p:.0%} ({lo:.0%}–{hi:.0%})",
        "p_better": "P(variant better)",
        "neither": "neither way is better in itself",
        "quantity": "Quantity",
        "plan_col": "Plan",
        "q_exits": "Declared exits (people)",
        "q_net_reduction": "Net reduction of the poor register (people)",
        "q_poor_end": "Still poor at the end (people)",
        "q_relapses": "Relapses (people)",
        "q_lifted_total": "Distinct people ever exited (people)",
        "q_villages_exited_total": "Poor villages exited",
        "q_counties_exited_total": "Poor counties exited",
        "meet_heading": "Declared exits against the plan, year by year",
        "meet_note": "P(meet): share of replicates meeting the year's target; in brackets its 95% interval.",
        "year": "Year",
        "plan_target": "Plan target (people)",
        "exits_median": "{which}: declared exits (median)",
        "p_meet": "{which}: P(meet)",
        "exits_title": "Declared exits per year (people)",
        "poor_title": "Still poor at year end (people)",
        "relapses_title": "Relapses per year (people)",
        "diff_title": "Variant − baseline, per year (median, 5–95% band)",
        "plan": "Plan target",
        "median": "median",
        "band": "5–95% band",
        "people": "People",
        "county": "County",
        "planned_exit": "Planned exit",
        "incidence_end": "Incidence at the planned year (median)",
        "threshold": "Exit threshold",
        "gap": "Above the threshold (points)",
        "p_on_time": "P(exit by the planned year)",
        "poor_left": "Still poor at the end (median)",
        "status": "Status",
        "behind": "Behind plan",
        "on_track": "On track",
        "no_plan": "No planned year",
        "counties_heading": "Counties, most behind first ({which})",
        "counties_note": ("Ranked by how far the county's poverty incidence is above the exit threshold in its "
                          "planned exit year (counties without a planned year last)."),
        "villages_heading": "Poor villages at the end of replicate 1 ({which})",
        "villages_note": "One square per poor village, coloured by the year it exited.",
        "villages_note_grouped": "One square per {k} poor villages, coloured by the year most of them exited.",
        "village_not_exited": "Not exited",
        "village_exited": "Exited {year}",
        "export_heading": "Download",
        "export_tables": "Tables (CSV)",
        "export_figures": "Figures",
        "error": "Cannot run: {msg}",
        "failed": "The run failed: {msg}",
        "err_replicates": "Replicates: give a whole number from 1 to {max}.",
        "err_seed": "Random seed: give a whole number from 0.",
        "err_scale": "Scale: give a number above 0, at most 1 and small enough for the page ({people:,} simulated poor people at most).",
        "err_budget": "Budget: give a number from 0.",
        "err_relocation": "Relocation capacity: give a number from 0.",
        "err_industry_employment": "Industry & employment capacity: give a number from 0.",
        "err_support_years": "Support after exit: give whole years from 0 to 10.",
        "err_target_pressure": "Target pressure: give a share from 0 to 1.",
        "err_scenario": "Scenario: the file cannot be read or is not a valid scenario.",
    },
    "zh": {
        "title": "脱贫规划模拟看板",
        "subtitle": "打开页面即运行规划基线。调整政策杠杆后点击“运行”：页面将基线与调整方案并排对比（两者使用相同的随机数）。",
        "scenario": "情景（规划）",
        "budget": "资金（规划资金的倍数）",
        "relocation": "易地搬迁规模（规划的倍数）",
        "industry_employment": "产业与就业帮扶规模（规划的倍数）",
        "support_years": "脱贫后政策延续年数（年）",
        "target_pressure": "考核压力（缺口中被宣布脱贫的比例）",
        "replicates": "重复次数（1–{max}）",
        "scale": "抽样比例（每名真实人口的模拟人数）",
        "seed": "随机种子",
        "tip_budget": "规划每年资金乘以该倍数：0.8 即削减20%。单位：规划资金的倍数。",
        "tip_relocation": "每年易地搬迁人数乘以该倍数。单位：规划规模的倍数。",
        "tip_industry_employment": "每年获得产业或就业帮扶的人数乘以该倍数。单位：规划规模的倍数。",
        "tip_support_years": "户脱贫后继续享受帮扶政策的年数（脱贫不脱政策）。单位：年。",
        "tip_target_pressure": "当达标脱贫人数低于当年目标时，缺口中按此比例宣布脱贫；这些户容易返贫。单位：比例（0–1）。",
        "tip_replicates": "独立模拟次数；次数越多，区间越稳定，达标概率的误差越小，但耗时更长。",
        "tip_scale": "每名真实人口对应的模拟人数：0.05 即模拟二十分之一。结果均换算为真实人数；比例越小运行越快，区间越宽。",
        "tip_seed": "相同的种子和参数得到相同的结果。",
        "run": "运行",
        "running": "正在运行：已完成 {done} / {total} 次模拟",
        "language": "语言",
        "results_for": "{title}：{replicates} 次重复，随机种子 {seed}",
        "scale_note": ("抽样比例 {scale:g}：每名模拟人口代表 {per:,.0f} 名真实人口（模拟贫困人口 {people:,.0f} 人）。"
                       "结果为真实人数，以约 {per:,.0f} 人为步长变化，区间比全量模拟更宽。"),
        "scale_full": "抽样比例 1：规划中的每个人都被模拟（贫困人口 {people:,.0f} 人）。",
        "as_planned": "所有参数均与规划相同：即规划基线。",
        "moved": "调整方案：{levers}。基线：所有参数与规划相同。两者使用相同的随机数。",
        "headline_heading": "主要结果（{first}–{last}年）",
        "baseline": "基线",
        "variant": "调整方案",
        "difference": "方案减基线：中位数，90%区间",
        "p_meet_short": "达标概率 {p:.0%}（{lo:.0%}–{hi:.0%}）",
        "p_better": "方案更优的概率",
        "neither": "高低本身无好坏之分",
        "quantity": "指标",
        "plan_col": "规划",
        "q_exits": "宣布脱贫人数（人）",
        "q_net_reduction": "贫困人口净减少（人）",
        "q_poor_end": "期末仍为贫困人口（人）",
        "q_relapses": "返贫人数（人）",
        "q_lifted_total": "累计脱贫人数，每人只计一次（人）",
        "q_villages_exited_total": "退出贫困村（个）",
        "q_counties_exited_total": "摘帽贫困县（个）",
        "meet_heading": "逐年宣布脱贫人数与规划目标",
        "meet_note": "达标概率：达到当年目标的重复次数占比；括号内为95%区间。",
        "year": "年份",
        "plan_target": "规划目标（人）",
        "exits_median": "{which}：宣布脱贫人数（中位数）",
        "p_meet": "{which}：达标概率",
        "exits_title": "每年宣布脱贫人数（人）",
        "poor_title": "年末仍为贫困人口（人）",
        "relapses_title": "每年返贫人数（人）",
        "diff_title": "方案减基线，逐年（中位数与5%–95%区间）",
        "plan": "规划目标",
        "median": "中位数",
        "band": "5%–95%区间",
        "people": "人数",
        "county": "县（区）",
        "planned_exit": "计划摘帽年份",
        "incidence_end": "计划年份贫困发生率（中位数）",
        "threshold": "摘帽标准",
        "gap": "高于标准（百分点）",
        "p_on_time": "按期摘帽概率",
        "poor_left": "期末剩余贫困人口（中位数）",
        "status": "状态",
        "behind": "落后于规划",
        "on_track": "按计划",
        "no_plan": "无计划年份",
        "counties_heading": "各县对比规划，落后最多者在前（{which}）",
        "counties_note": "按计划摘帽年份的贫困发生率高出摘帽标准的幅度排序（无计划年份的县列于最后）。",
        "villages_heading": "第1次模拟结束时的贫困村（{which}）",
        "villages_note": "每个方块代表一个贫困村，颜色表示退出年份。",
        "villages_note_grouped": "每个方块代表 {k} 个贫困村，颜色表示其中多数退出的年份。",
        "village_not_exited": "未退出",
        "village_exited": "{year}年退出",
        "export_heading": "下载",
        "export_tables": "表格（CSV）",
        "export_figures": "图表",
        "error": "无法运行：{msg}",
        "failed": "运行失败：{msg}",
        "err_replicates": "重复次数：请输入 1 到 {max} 的整数。",
        "err_seed": "随机种子：请输入不小于 0 的整数。",
        "err_scale": "抽样比例：请输入大于 0、不超过 1 的数，且页面最多模拟 {people:,} 名贫困人口。",
        "err_budget": "资金：请输入不小于 0 的数。",
        "err_relocation": "易地搬迁规模：请输入不小于 0 的数。",
        "err_industry_employment": "产业与就业帮扶规模：请输入不小于 0 的数。",
        "err_support_years": "政策延续年数：请输入 0 到 10 的整数。",
        "err_target_pressure": "考核压力：请输入 0 到 1 之间的比例。",
        "err_scenario": "情景：文件无法读取或不是有效的情景文件。",
    },
}
"""Every word on the page and in its figures, in English and Chinese."""

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
    table = pd.DataFrame({t["year"]: s0["year"].astype(int).astype(str), t["plan_target"]: s0["target_exits"].map("{:,.0f}".format)})
    for variant, outcome in runs:
        s = outcome.summary
        which = _which(lang, variant)
        table[t["exits_median"].format(which=which)] = s["exits_median"].map("{:,.0f}".format).to_numpy()
        table[t["p_meet"].format(which=which)] = [
            "–" if np.isnan(p) else f"{p:.0%} ({lo:.0%}–{hi:.0%})"
            for p, lo, hi in zip(s["p_meet_target"], s["p_meet_target_low"], s["p_meet_target_high"])]
    return table


def _planned_years(scenario: Scenario) -> dict[str, int]:
    return {name: int(year) for year, names in scenario.targets.counties.value.items() for name in names}


def county_table(outcome: Outcome, lang: str = "en") -> pd.DataFrame:
    """One row per county, most behind first: planned exit year, poverty incidence in that year
    (median) against the exit threshold and how far above it, P(exit by the planned year), people
    still poor at the end, status. Ranked by the gap to the threshold in the planned year;
    counties without a planned year last, by their gap at the end."""
    t = LABELS[lang]
    counties = outcome.run.counties
    last = int(counties["year"].max())
    threshold = float(outcome.run.scenario.exit_rules.county_incidence_threshold.value)
    planned = _planned_years(outcome.run.scenario)
    rows = []
    for name, name_en in zip(outcome.county_names, outcome.county_names_en):
        g = counties[counties["county"] == name]
        plan = planned.get(name)
        at = g[g["year"] == min(plan or last, last)]
        incidence = float(np.median(at["incidence"]))
        final = g[g["year"] == last]
        exit_year = final["county_exit_year"].astype(float).to_numpy()
        if plan is None:
            p_on_time, status = np.nan, t["no_plan"]
        else:
            p_on_time = float((~np.isnan(exit_year) & (exit_year <= plan)).mean())
            status = t["on_track"] if p_on_time >= 0.5 else t["behind"]
        rows.append({
            "_rank": (plan is None, -(incidence - threshold)),
            t["county"]: name if lang == "zh" else f"{name_en} {name}",
            t["planned_exit"]: "–" if plan is None else str(plan),
            t["incidence_end"]: f"{incidence:.1%}",
            t["threshold"]: f"{threshold:.0%}" if threshold > 0 else "–",  # 0: the plan records no county exit
            t["gap"]: f"{100 * (incidence - threshold):+.1f}" if threshold > 0 else "–",
            t["p_on_time"]: "–" if np.isnan(p_on_time) else f"{p_on_time:.0%}",
            t["poor_left"]: f"{float(np.median(final['poor_end'])):,.0f}",
            t["status"]: status,
        })
    rows.sort(key=lambda r: r["_rank"])
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


def headline_sentences(outcome: Outcome, lang: str = "en") -> list[str]:
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
    title = {"exits": t["exits_title"], "poor_end": t["poor_title"], "relapses": t["relapses_title"]}[column]
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
                   label=t["plan"])
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
