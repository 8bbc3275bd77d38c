"""The headline table (:func:`tuopin.experiments.headlines.headlines`) in words, one line per
quantity, in English or Chinese: the same lines in ``tuopin run``'s printout, the dashboard and
the notebooks."""

from __future__ import annotations

import math

import pandas as pd

from tuopin.report.fonts import Lang
from tuopin.report.labels import text

UNIT = {"villages_exited_total": "villages_unit", "counties_exited_total": "counties_unit"}


def _count(value: float, unit: str, lang: Lang) -> str:
    number = f"{value:,.0f}"
    return f"{number} {unit}" if lang == "en" else f"{number}{unit}"


def headline_line(row: pd.Series, lang: Lang) -> str:
    """One headline quantity as a sentence: median, 90% band, and the plan with P(meet) and its
    95% interval when the plan sets a figure."""
    unit = text(UNIT.get(row["quantity"], "people_unit"), lang)
    band = text("hl_band", lang, q05=f"{row['q05']:,.0f}", q95=f"{row['q95']:,.0f}") if row["q05"] != row["q95"] else ""
    line = text(f"hl_{row['quantity']}", lang, first=int(row["first_year"]), last=int(row["last_year"]),
                median=_count(row["median"], unit, lang), band=band)
    if not math.isnan(row["plan"]):
        line += text("hl_plan", lang, plan=_count(row["plan"], unit, lang), p=f"{row['p_meet']:.0%}",
                     lo=f"{row['p_meet_low']:.0%}", hi=f"{row['p_meet_high']:.0%}", n=int(row["replicates"]))
    return line


def headline_lines(table: pd.DataFrame, lang: Lang) -> list[str]:
    """Every headline quantity as a sentence, then the note on declared exits."""
    return [headline_line(row, lang) for _, row in table.iterrows()] + [text("hl_note", lang)]
