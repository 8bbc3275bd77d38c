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
    "counties_axis_assessed": ("Counties exited, by assessment year (cumulative)", "累计摘帽贫困县（按考核年度，个）"),
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
    "county_title_behind": ("{title}: registered poor in the counties furthest behind plan",
                            "{title}：进度最落后各县剩余贫困人口"),
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
