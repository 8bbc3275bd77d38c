"""Every piece of text on a report figure, in English and Chinese: one table, one lookup."""

from __future__ import annotations

from tuopin.report.fonts import Lang

LABELS: dict[str, tuple[str, str]] = {
    # key: (English, 中文)
    "year": ("Year", "年份"),
    "plan_target": ("Plan target", "规划目标"),
    "plan": ("Plan", "规划"),
    "simulated_band": ("Simulated median, 5-95% band ({n} replicates)", "模拟中位数，5%–95%区间（{n}次重复）"),
    "median_band": ("Simulated median and 5-95% band", "模拟中位数与5%–95%区间"),
    "dashed_planned": ("dashed line: planned exit year", "虚线：计划摘帽年份"),
    "p_meet": ("P(meet) {p:.0%}\n({lo:.0%}–{hi:.0%})", "达标概率{p:.0%}\n（{lo:.0%}–{hi:.0%}）"),
    "source": ("Simulated with tuopin {version} · scenario {scenario} · scale {scale:g} · {replicates} replicates · "
               "seed {seed}",
               "tuopin {version} 模拟 · 情景 {scenario} · 抽样比例 {scale:g} · {replicates}次重复 · 随机种子 {seed}"),
    # tuopin compare: one panel per compared quantity
    "diff_exits": ("Declared exits per year", "每年宣布脱贫人数"),
    "diff_poor_end": ("People still poor at year end", "年末仍为贫困人口"),
    "diff_relapses": ("Relapses per year", "每年返贫人数"),
    "diff_spending": ("Spending per year", "每年资金支出"),
    "diff_cost_per_sustained_exit": ("Cost per person lifted and still out", "每稳定脱贫一人累计成本"),
    "better_higher": ("variant − base; higher is better", "方案减基线；越高越好"),
    "better_lower": ("variant − base; lower is better", "方案减基线；越低越好"),
    "better_neither": ("variant − base; neither direction is better in itself",
                       "方案减基线；高低本身无好坏之分"),
    "diff_axis": ("Difference ({unit})", "差值（{unit}）"),
    "yuan_per_person": ("yuan per person", "元/人"),
    "compare_title": ("{title}: what each variant changes ({n} paired replicates, median and 5–95% band)",
                      "{title}：各方案与基线之差（{n}组配对重复，中位数与5%–95%区间）"),
    "exits_axis": ("Declared exits", "宣布脱贫人数"),
    "exits_title": ("{title}: declared exits against the plan", "{title}：宣布脱贫人数与规划目标"),
    "remaining_title": ("{title}: people still poor at each year's end", "{title}：各年末仍为贫困人口"),
    "remaining_axis": ("Registered poor remaining", "剩余贫困人口"),
    "plan_remaining": ("Plan: remaining if every year's target is met", "规划：各年目标均完成时的剩余人数"),
    "flows_title": ("{title}: relapses and new entrants", "{title}：返贫与新识别贫困人口"),
    "relapses": ("Relapses (返贫)", "返贫人口"),
    "new_entrants": ("New entrants from the near-poor", "新纳入贫困人口（边缘户）"),
    "people": ("People", "人数"),
    "hats_title": ("{title}: villages and counties exited", "{title}：贫困村退出与贫困县摘帽"),
    "villages_axis": ("Poor villages exited (cumulative)", "累计退出贫困村（个）"),
    "counties_axis": ("Counties exited (cumulative)", "累计摘帽贫困县（个）"),
    "villages": ("Villages", "贫困村"),
    "counties": ("Counties", "贫困县"),
    "no_county_plan": ("The plan sets no county exits", "规划未设贫困县摘帽任务"),
    "spending_title": ("{title}: spending and cost per person lifted", "{title}：资金支出与每稳定脱贫一人累计成本"),
    "cost_axis": ("Cost per person lifted and still out (thousand yuan)", "每稳定脱贫一人累计成本（千元）"),
    "cost_definition": ("Cost per person lifted and still out = all spending so far (budget and social floor) ÷ people "
                        "exited and not fallen back by that year",
                        "每稳定脱贫一人累计成本 = 截至当年的全部支出（预算资金与低保兜底）÷ 截至当年已脱贫且未返贫的人数"),
    "spending_panel": ("Spending per year against the budget", "每年资金支出与预算"),
    "spending_band": ("Spent: median and 5-95% band", "支出：中位数与5%–95%区间"),
    "budget_line": ("Budget of the year (median)", "当年预算（中位数）"),
    "register_year": ("{year}\n(register)", "{year}\n（建档）"),
    "batch_not_additive": ("a person reached by several batches counts under each: bars do not add up to total exits",
                           "同时受多个批次帮扶的人在各批次中都计入：各柱之和不等于脱贫总人数"),
    "incidence_axis": ("Poverty incidence (%)", "贫困发生率（%）"),
    "dotted_threshold": ("dotted line: exit threshold {t:.0%}", "点线：摘帽标准 {t:.0%}"),
    "spending": ("Spending", "资金支出"),
    "cost_per_exit": ("Cost per person lifted and still out", "每稳定脱贫一人累计成本"),
    "batch_title": ("{title}: exits by batch", "{title}：分批次脱贫人数"),
    "batch_axis": ("Exits among people reached, median of {n} replicates", "受帮扶人口中脱贫人数，{n}次重复中位数"),
    "county_title": ("{title}: poverty incidence by county", "{title}：分县贫困发生率"),
    "planned_exit": ("planned exit {year}", "计划{year}年摘帽"),
    "p_hat_off": ("P(hat off by {year})={p:.0%}", "{year}年前摘帽概率{p:.0%}"),
    "no_planned_exit": ("no planned exit", "未设摘帽年份"),
    # headline quantities (tuopin.experiments.headlines), one line each; {band} and {meet} are filled in
    "hl_exits": ("Declared exits {first}–{last}: {median}{band}", "{first}–{last}年宣布脱贫人数：{median}{band}"),
    "hl_net_reduction": ("Net reduction of the poor register {first}–{last}: {median}{band}",
                         "{first}–{last}年贫困人口净减少：{median}{band}"),
    "hl_poor_end": ("Still poor at the end of {last}: {median}{band}", "{last}年末仍为贫困人口：{median}{band}"),
    "hl_relapses": ("Relapses (fell back into poverty) {first}–{last}: {median}{band}",
                    "{first}–{last}年返贫人数：{median}{band}"),
    "hl_lifted_total": ("Distinct people ever exited by {last}: {median}{band}",
                        "到{last}年累计脱贫人数（每人只计一次）：{median}{band}"),
    "hl_villages_exited_total": ("Poor villages exited by {last}: {median}{band}", "到{last}年退出贫困村：{median}{band}"),
    "hl_counties_exited_total": ("Poor counties exited by {last}: {median}{band}", "到{last}年摘帽贫困县：{median}{band}"),
    "hl_band": (" (90% band {q05}–{q95})", "（90%区间 {q05}–{q95}）"),
    "hl_plan": ("; plan {plan}; P(meet the plan) {p} (95% interval {lo}–{hi}, {n} replicates)",
                "；规划 {plan}；完成规划的概率 {p}（95%区间 {lo}–{hi}，{n}次重复）"),
    "hl_note": ("Declared exits count a person again each time they exit after falling back; the net "
                "reduction and the people still poor do not.",
                "宣布脱贫人数中，返贫后再次脱贫的人会重复计入；贫困人口净减少和年末仍为贫困人口则不会。"),
    "people_unit": ("people", "人"),
    "villages_unit": ("villages", "个村"),
    "counties_unit": ("counties", "个县"),
    # 五个一批 and the other batches, by their names in annual.csv (exits_<batch>)
    "batch_industry": ("Industry", "发展产业"),
    "batch_employment": ("Employment", "转移就业"),
    "batch_relocation": ("Relocation", "易地搬迁"),
    "batch_ecology": ("Ecological compensation", "生态补偿"),
    "batch_education": ("Education", "发展教育"),
    "batch_medical": ("Medical aid", "医疗救助"),
    "batch_housing": ("Housing renovation", "危房改造"),
    "batch_social_floor": ("Social floor (低保)", "社会保障兜底"),
}
"""Label key -> (English, Chinese). Placeholders in braces are filled by :func:`text`."""


def text(key: str, lang: Lang, **values: object) -> str:
    """The label ``key`` in ``lang``, with its placeholders filled from ``values``.

    A batch without an entry (a scenario may add its own) falls back to its name.
    """
    if key not in LABELS:
        if key.startswith("batch_"):
            return key.removeprefix("batch_").replace("_", " ")
        raise KeyError(f"no label {key!r}")
    en, zh = LABELS[key]
    return (zh if lang == "zh" else en).format(**values)
