"""Every piece of text on a report figure, in English and Chinese: one table, one lookup."""

from __future__ import annotations

from typing import Literal

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")

LABELS: dict[str, tuple[str, str]] = {
    # key: (English, 中文)
    "year": ("Year", "年份"),
    "plan_target": ("Plan target", "规划目标"),
    "plan": ("Plan", "规划"),
    "simulated_band": ("Simulated median, 5-95% band ({n} replicates)", "模拟中位数，5%–95%区间（{n}次重复）"),
    "median_band": ("Simulated median and 5-95% band", "模拟中位数与5%–95%区间"),
    "dashed_planned": ("dashed line: planned exit year", "虚线：计划摘帽年份"),
    "p_meet": ("P(meet)={p:.0%}", "达标概率{p:.0%}"),
    "exits_axis": ("People exiting poverty", "脱贫人数"),
    "exits_title": ("{title}: exits against plan", "{title}：脱贫人数与规划目标"),
    "remaining_title": ("{title}: registered poor remaining at year end", "{title}：年末剩余贫困人口"),
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
    "spending_title": ("{title}: spending and cost per sustained exit", "{title}：资金支出与每稳定脱贫一人成本"),
    "spending_axis": ("Spending ({unit} yuan)", "资金支出（{unit}元）"),
    "cost_axis": ("Cost per sustained exit (thousand yuan)", "每稳定脱贫一人累计成本（千元）"),
    "spending": ("Spending", "资金支出"),
    "cost_per_exit": ("Cost per sustained exit", "每稳定脱贫一人成本"),
    "million": ("million", "百万"),
    "billion": ("billion", "亿"),
    "batch_title": ("{title}: exits by batch", "{title}：分批次脱贫人数"),
    "batch_axis": ("People exiting, mean of {n} replicates", "脱贫人数，{n}次重复平均"),
    "county_title": ("{title}: registered poor by county", "{title}：分县剩余贫困人口"),
    "planned_exit": ("planned exit {year}", "计划{year}年摘帽"),
    "p_hat_off": ("P(hat off by {year})={p:.0%}", "{year}年前摘帽概率{p:.0%}"),
    "no_planned_exit": ("no planned exit", "未设摘帽年份"),
    # 五个一批 and the other batches, by their names in annual.csv (exits_<batch>)
    "batch_industry": ("Industry", "发展产业"),
    "batch_employment": ("Employment", "转移就业"),
    "batch_relocation": ("Relocation", "易地搬迁"),
    "batch_ecology": ("Ecological compensation", "生态补偿"),
    "batch_education": ("Education", "发展教育"),
    "batch_medical": ("Medical aid", "医疗救助"),
    "batch_housing": ("Housing renovation", "危房改造"),
    "batch_social_floor": ("Social floor (低保)", "社会保障兜底"),
    # the dashboard (tuopin app): its controls, messages, county table and charts
    "title": ('tuopin: poverty-exit plan dashboard', '脱贫规划模拟看板'),
    "subtitle": ('Simulate a plan, move the levers, and see who leaves poverty, who falls back, and which counties fall behind.', '模拟一项脱贫规划，调整政策杠杆，查看脱贫、返贫人数，以及哪些县落后于规划。'),
    "scenario": ('Scenario (plan)', '情景（规划）'),
    "budget": ("Budget (× the plan's funds)", '资金（规划资金的倍数）'),
    "relocation": ('Relocation capacity (×)', '易地搬迁规模（倍数）'),
    "industry_employment": ('Industry & employment capacity (×)', '产业与就业帮扶规模（倍数）'),
    "support_years": ('Support continues after exit (years)', '脱贫后政策延续年数（脱贫不脱政策）'),
    "target_pressure": ('Target pressure (share of shortfall declared exited)', '考核压力（缺口中被宣布脱贫的比例）'),
    "replicates": ('Replicates', '重复次数'),
    "scale": ('Scale (simulated people per real person)', '抽样比例（每名真实人口的模拟人数）'),
    "seed": ('Random seed', '随机种子'),
    "run": ('Run', '运行'),
    "running": ('Running… {done} of {total} model runs done', '正在运行：已完成 {done} / {total} 次模拟'),
    "ready": ('Set the controls and press Run.', '设置参数后点击“运行”。'),
    "language": ('Language', '语言'),
    "exits_per_year": ('People leaving poverty per year', '每年脱贫人数'),
    "poor_title": ('People still poor at year end', '年末剩余贫困人口'),
    "relapses_title": ('People falling back (relapses) per year', '每年返贫人数'),
    "median": ('Median', '中位数'),
    "band": ('5–95% band', '5%–95%区间'),
    "thousand_people": ('thousand people', '千人'),
    "county": ('County', '县（区）'),
    "planned_exit_column": ('Planned exit', '计划摘帽'),
    "simulated_exit": ('Simulated exit (median)', '模拟摘帽（中位数）'),
    "p_on_time": ('P(exit by plan)', '按期摘帽概率'),
    "poor_left": ('Poor left at end (median)', '期末剩余贫困人口（中位数）'),
    "status": ('Status', '状态'),
    "behind": ('Behind plan', '落后于规划'),
    "on_track": ('On track', '按计划'),
    "no_plan": ('No planned year', '无计划年份'),
    "not_exited": ('after {year}', '{year}年后'),
    "counties_heading": ('Counties against the plan', '各县与规划对比'),
    "villages_heading": ('Poor villages at the end of replicate 1', '第1次模拟结束时的贫困村'),
    "villages_note": ('One square per poor village, coloured by the year it took off the hat.', '每个方块代表一个贫困村，颜色表示摘帽年份。'),
    "villages_note_grouped": ('One square per {k} poor villages, coloured by the year most of them took off the hat.', '每个方块代表 {k} 个贫困村，颜色表示其中多数摘帽的年份。'),
    "village_not_exited": ('Not exited', '未摘帽'),
    "village_exited": ('Exited {year}', '{year}年摘帽'),
    "headline": ("{exits:,.0f} exits by {last} (plan {plan:,.0f}); {poor:,.0f} still poor (90% band {lo:,.0f}–{hi:,.0f}); P(meet the plan's total) = {p:.0%}; {behind} of {counties} counties behind plan.", '到{last}年累计脱贫 {exits:,.0f} 人（规划 {plan:,.0f} 人）；剩余贫困人口 {poor:,.0f} 人（90%区间 {lo:,.0f}–{hi:,.0f}）；完成规划总目标的概率 {p:.0%}；{counties} 个县中 {behind} 个落后于规划。'),
    "error": ('Cannot run: {msg}', '无法运行：{msg}'),
    "failed": ('The run failed: {msg}', '运行失败：{msg}'),
    "results_for": ('Results: {title}, {replicates} replicates, scale {scale:g}, seed {seed}', '结果：{title}，{replicates} 次重复，抽样比例 {scale:g}，种子 {seed}'),
    "moved": ('Levers moved from the plan: {levers}', '与规划不同的参数：{levers}'),
    "as_planned": ('All levers as in the plan.', '所有参数均与规划相同。'),
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


def table(lang: Lang) -> dict[str, str]:
    """Every label in ``lang``, by key (placeholders unfilled): what the dashboard page reads."""
    return {key: zh if lang == "zh" else en for key, (en, zh) in LABELS.items()}
