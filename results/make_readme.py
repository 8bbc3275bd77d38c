"""Write the number tables of results/README.md from the shipped folders (run by ``make results``).

Everything above the marker ``<!-- numbers -->`` and from ``## Figures`` on is kept; between them,
each scenario gets its plan's declared exits per year (median, 5–95% band, P(meet) with its 95%
interval) and the 2016–2020 headlines, read from its ``summary.csv``, ``headlines.csv`` and
``run.json``. Nothing is typed by hand, so the page always shows what the code produced.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
SHIPPED = ("national", "shangluo", "meizhou_qingyuan", "anshan_gaoxin", "township")
MARK = "<!-- numbers -->"


def _n(x: float) -> str:
    return "–" if pd.isna(x) else f"{x:,.0f}"


def _p(p: float, low: float, high: float) -> str:
    return "–" if pd.isna(p) else f"{p:.0%} ({low:.0%}–{high:.0%})"


def section(name: str) -> str:
    """The Markdown section of one results folder."""
    folder = HERE / name
    run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    summary = pd.read_csv(folder / "summary.csv")
    heads = pd.read_csv(folder / "headlines.csv").set_index("quantity")
    lines = [f"### {name}", "",
             f"`{run['scenario_file']}`: {run['replicates']} replicates, seed {run['seed']}, scale {run['scale']} "
             f"(share of each county's villages simulated). People are real people (weighted).", "",
             "| year | plan: exits | declared exits, median | 5–95% band | P(meet) (95% interval) |",
             "|---|---:|---:|---:|---:|"]
    for _, r in summary.iterrows():
        lines.append(f"| {int(r.year)} | {_n(r.target_exits)} | {_n(r.exits_median)} | "
                     f"{_n(r.exits_q05)}–{_n(r.exits_q95)} | "
                     f"{_p(r.p_meet_target, r.p_meet_target_low, r.p_meet_target_high)} |")
    e = heads.loc["exits"]
    lines.append(f"| **{int(e.first_year)}–{int(e.last_year)}** | **{_n(e.plan)}** | **{_n(e['median'])}** | "
                 f"{_n(e.q05)}–{_n(e.q95)} | {_p(e.p_meet, e.p_meet_low, e.p_meet_high)} |")
    lines.append("")
    words = {"net_reduction": "net reduction of the register", "poor_end": "still poor at the end",
             "relapses": "relapses (返贫)", "lifted_total": "people lifted at least once",
             "villages_exited_total": "poor villages exited", "counties_exited_total": "counties exited"}
    parts = []
    for key, label in words.items():
        if key in heads.index:
            h = heads.loc[key]
            plan = f" of {_n(h.plan)}" if not pd.isna(h.plan) else ""
            parts.append(f"{label} {_n(h['median'])}{plan} ({_n(h.q05)}–{_n(h.q95)})")
    lines += ["Medians over the replicates, 5–95% in brackets: " + "; ".join(parts) + ".", ""]
    return "\n".join(lines)


def main() -> None:
    """Rewrite the number section of results/README.md."""
    path = HERE / "README.md"
    text = path.read_text(encoding="utf-8")
    head, rest = text.split(MARK, 1)
    tail = rest[rest.index("## Figures"):]
    body = "\n".join(section(name) for name in SHIPPED if (HERE / name / "run.json").exists())
    path.write_text(f"{head}{MARK}\n\n{body}\n{tail}", encoding="utf-8")


if __name__ == "__main__":
    main()
