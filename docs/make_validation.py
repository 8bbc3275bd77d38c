"""Write the numeric tables of docs/validation.md from a calibration folder and a Shangluo run.

    .venv/bin/python docs/make_validation.py --calibration runs/calibration_national \\
        --shangluo runs/shangluo [--attribution] [--doc docs/validation.md] \\
        [--figure docs/img/calibration_national.png]

``--calibration`` is the folder ``tuopin calibrate ... --held-out ... --out DIR`` wrote
(``estimates.csv``, ``fit.csv``, ``summary.json``, ``run.json``, ``fit_vs_observed.png``);
``--shangluo`` the folder of ``tuopin run scenarios/shangluo.yaml --out DIR`` (``summary.csv``,
``run.json``). Each table goes between its markers in the document,
``<!-- make_validation:NAME -->`` and ``<!-- /make_validation:NAME -->`` (NAME: run, posterior,
fit, targets, shangluo; with ``--attribution`` also attribution_national and
attribution_shangluo, which rerun the model with one mechanism switched off), replacing what was there; the text around them is left alone. The
calibration figure is copied to ``--figure``. A marker missing from the document, or a file
missing from a folder, is an error (exit 2) and nothing is written.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
SEEDS = (0, 1, 2)
MONITORING_BEFORE = {2016: 0.03, 2017: 0.04, 2018: 0.05, 2019: 0.06, 2020: 0.08}  # main's schedule before this change
VARIANTS: dict[str, dict] = {  # switch one mechanism off (label: overrides; None: the 兜底脱贫 rule replaced)
    "all mechanisms": {},
    "monitoring in 2016-2018 too (3-5% of the watched)": {"relapse.monitoring_capacity": MONITORING_BEFORE},
    "no 兜底脱贫 (the floor's new households wait for next year's list)": {"floor_entrants": False},
    "no 四个不摘 (support ends after support_continuation_years)": {"relapse.no_withdrawal_from": 2100},
    "support stops at exit, no 四个不摘": {"relapse.support_continuation_years": 0, "relapse.no_withdrawal_from": 2100},
    "no monitoring in any year": {"relapse.monitoring_capacity": {}},
}
QUANTITY_ORDER = ("poor_end", "net_reduction", "exits", "relapses", "new_entrants", "counties_qualified",
                  "counties_exited")
GROWTH = "economy.income_growth"
GROWTH_TARGET = (0.07, 0.14)  # issue 12: the record's income growth (DOMAIN.md: 8,452 -> 9,377 yuan, +10.4%)


def people(x: float) -> str:
    """A count of people: M above a million, k above a thousand, else whole."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    if abs(x) >= 1e6:
        return f"{x / 1e6:.2f} M"
    if abs(x) >= 1e3:
        return f"{x / 1e3:.1f} k"
    return f"{x:.0f}"


def count(q: str, x: float) -> str:
    """A value of quantity ``q``: counties whole, people with ``people``."""
    if isinstance(x, float) and math.isnan(x):
        return ""
    return f"{x:.0f}" if q.startswith("counties") else people(x)


def number(x: float) -> str:
    """A parameter value, three significant digits."""
    return f"{x:.3g}"


def rows_to_md(header: list[str], rows: list[list[str]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def run_table(cal: Path, summary: dict, run: dict) -> str:
    """What was run: the command, simulations, generations, particles, wall time."""
    rows = [["command", f"`{run.get('command', '')}`"],
            ["simulations", f"{summary['runs']} ({summary['generations']} generations of {summary['population']} particles)"],
            ["fitted observations / parameters", f"{summary['observations']} / {summary['parameters']}"],
            ["fit years", ", ".join(str(y) for y in summary["fit_years"])],
            ["quantities fitted", ", ".join(summary["quantities"])],
            ["held out", str(summary.get("held_out"))],
            ["wall time (run.json)", f"{run.get('wall_time_s', float('nan')):.0f} s"],
            ["tuopin, numpy", ", ".join(str(run.get("versions", {}).get(k, "?")) for k in ("tuopin", "numpy"))]]
    return rows_to_md(["", f"`{cal.name}`"], rows)


def posterior_table(est: pd.DataFrame) -> str:
    """Per parameter: prior range, posterior median, 5-95%."""
    rows = [[f"`{r.parameter}`", f"{number(r.prior_low)}-{number(r.prior_high)}", number(r.median),
             f"{number(r.interval_low)}-{number(r.interval_high)}"] for r in est.itertuples()]
    return rows_to_md(["parameter", "prior", "posterior median", "5-95%"], rows)


def role(r: pd.Series) -> str:
    """Fitted, held out (a record exists outside the fit) or projection (no record)."""
    if r["in_fit"]:
        return "fitted"
    return "held out" if not math.isnan(r["observed"]) else "projection"


def fit_table(fit: pd.DataFrame) -> str:
    """Per quantity and year: record, posterior median, band, role."""
    order = {q: i for i, q in enumerate(QUANTITY_ORDER)}
    fit = fit.assign(o=fit["quantity"].map(lambda q: order.get(q, 99))).sort_values(["o", "year"], kind="stable")
    rows = [[str(int(r["year"])), r["quantity"], count(r["quantity"], r["observed"]),
             count(r["quantity"], r["sim_median"]),
             f"{count(r['quantity'], r['sim_q05'])} - {count(r['quantity'], r['sim_q95'])}", role(r)]
            for _, r in fit.iterrows()]
    return rows_to_md(["year", "quantity", "record", "posterior median", "5-95% band", "role"], rows)


def cell(fit: pd.DataFrame, q: str, year: int, col: str) -> float:
    """One value of the fit table (NaN when absent)."""
    sel = fit[(fit["quantity"] == q) & (fit["year"] == year)]
    return float(sel[col].iloc[0]) if len(sel) else math.nan


def targets_table(fit: pd.DataFrame, est: pd.DataFrame) -> str:
    """Issue 12's targets, measured on the posterior medians."""
    rows = []
    held = fit[(fit["quantity"] == "net_reduction") & ~fit["in_fit"] & fit["observed"].notna()]
    if len(held):
        mae = float((held["sim_median"] - held["observed"]).abs().mean())
        share = mae / float(held["observed"].mean())
        per = " / ".join(f"{people(s)} vs {people(o)}" for s, o in zip(held["sim_median"], held["observed"]))
        rows.append(["MAE of projected net reductions (held-out years) within 15% of the record's mean",
                     f"{people(mae)} = {share:.1%} ({per})", "yes" if share <= 0.15 else "**no**"])
    start = cell(fit, "poor_end", 2016, "observed") + cell(fit, "net_reduction", 2016, "observed")
    last = int(fit["year"].max())
    end = cell(fit, "poor_end", last, "sim_median")
    if not math.isnan(start):
        rows.append([f"{last} year-end stock under 5% of the 2015 stock ({people(start)})",
                     f"{people(end)} = {end / start:.1%}", "yes" if end < 0.05 * start else "**no**"])
    r17, r19 = cell(fit, "relapses", 2017, "sim_median"), cell(fit, "relapses", 2019, "sim_median")
    if not math.isnan(r19):
        ratio = r19 / r17 if r17 > 0 else math.inf
        rows.append(["2019 relapses at most a fifth of 2017's", f"{people(r19)} / {people(r17)} = {ratio:.2f}"
                     f" (record 2017: {people(cell(fit, 'relapses', 2017, 'observed'))})",
                     "yes" if ratio <= 0.2 else "**no**"])
    n16, o16 = cell(fit, "net_reduction", 2016, "sim_median"), cell(fit, "net_reduction", 2016, "observed")
    rows.append(["2016 net reduction within 20% of the record", f"{people(n16)} vs {people(o16)}: {n16 / o16 - 1:+.1%}",
                 "yes" if abs(n16 / o16 - 1) <= 0.2 else "**no**"])
    g = est[est["parameter"] == GROWTH]
    if len(g):
        lo, hi = GROWTH_TARGET
        med = float(g["median"].iloc[0])
        rows.append([f"calibrated income growth within {lo}-{hi}",
                     f"{med:.3f} (5-95% {float(g['interval_low'].iloc[0]):.3f}-{float(g['interval_high'].iloc[0]):.3f})",
                     "yes" if lo <= med <= hi else "**no**"])
    return rows_to_md(["target", "measured (posterior median)", "met"], rows)


def shangluo_table(summary: pd.DataFrame) -> str:
    """The Shangluo baseline per year against its plan."""
    def band(r: pd.Series, q: str) -> str:
        return f"{r[q + '_median']:,.0f} ({r[q + '_q05']:,.0f}-{r[q + '_q95']:,.0f})"

    rows = [[str(int(r["year"])), f"{r['target_exits']:,.0f}", band(r, "exits"), f"{r['net_reduction_median']:,.0f}",
             f"{r['exits_wrong_median']:,.0f}", band(r, "relapses"), f"{r['new_entrants_median']:,.0f}",
             band(r, "poor_end")] for _, r in summary.iterrows()]
    table = rows_to_md(["year", "plan exits", "declared exits (gross), median (5-95%)", "net reduction",
                        "wrongly exited", "relapses (5-95%)", "new entrants", "still poor at year end (5-95%)"], rows)
    first = summary.iloc[0]
    gap = first["exits_median"] / first["target_exits"] - 1
    rel = summary.set_index("year")["relapses_median"]
    after = [int(y) for y in rel.index if y > 2018]
    falls = all(rel[y] <= rel[y - 1] for y in after)
    note = (f"\n\n{int(first['year'])} declared exits {first['exits_median']:,.0f} against the plan's "
            f"{first['target_exits']:,.0f} ({gap:+.1%}; target within 30%: {'met' if abs(gap) <= 0.3 else 'missed'}). "
            f"Relapses after 2018: {', '.join(f'{y}: {rel[y]:,.0f}' for y in after)} "
            f"(from 2018's {rel[2018]:,.0f}; target: they fall after 2018: {'met' if falls else 'missed'}).")
    return table + note


def simulate(scenario: Path, overrides: dict, seeds: tuple[int, ...], scale: float | None = None) -> pd.DataFrame:
    """Mean over ``seeds`` of the annual tables of one variant. ``floor_entrants: False`` in the
    overrides replaces the 兜底脱贫 rule (``assessment.with_floor_entrants``) by the bare list for
    this run, the one mechanism without a scenario switch."""
    from tuopin import PovertyModel
    from tuopin.sim import assessment

    overrides = dict(overrides)
    rule = assessment.with_floor_entrants
    if overrides.pop("floor_entrants", True) is False:
        assessment.with_floor_entrants = lambda m, listed: listed  # type: ignore[assignment]
    if scale is not None:
        overrides["scale"] = scale
    try:
        frames = []
        for seed in seeds:
            model = PovertyModel(scenario, rng=seed, overrides=overrides)
            model.run()
            frames.append(model.datacollector.get_model_vars_dataframe())
    finally:
        assessment.with_floor_entrants = rule
    return pd.concat(frames).groupby("year").mean(numeric_only=True)


def attribution_national(cal: Path) -> str:
    """Each mechanism switched off on the calibrated medians (national, the calibration's scale)."""
    import yaml

    variant = yaml.safe_load(read(cal, "calibrated.yaml").read_text(encoding="utf-8"))
    base = (cal / variant["base"]).resolve()
    run = json.loads(read(cal, "run.json").read_text(encoding="utf-8"))
    cols = [("net_reduction", 2016), ("net_reduction", 2017), ("net_reduction", 2018), ("relapses", 2016),
            ("relapses", 2017), ("relapses", 2019), ("relapses", 2020), ("new_entrants", 2016), ("poor_end", 2020)]
    rows = []
    for label, extra in VARIANTS.items():
        df = simulate(base, {**variant["overrides"], **extra}, SEEDS, run.get("scale"))
        rows.append([label, *[people(float(df.loc[y, q])) for q, y in cols]])
    note = (f"Mean of seeds {', '.join(map(str, SEEDS))} at scale {run.get('scale')}, the calibrated medians "
            f"(`{cal.name}/calibrated.yaml`) with one mechanism switched off per row.\n\n")
    return note + rows_to_md(["run", *[f"{q} {y}" for q, y in cols]], rows)


def attribution_shangluo(sl_run: dict) -> str:
    """Shangluo's relapses per year under the same switches (its file's parameters)."""
    scenario = Path(sl_run["scenario_file"])
    if not scenario.is_absolute():
        scenario = HERE.parent / scenario
    seeds = tuple(range(10))
    rows = []
    for label, extra in VARIANTS.items():
        df = simulate(scenario, extra, seeds)
        rows.append([label, *[f"{float(df.loc[y, 'relapses']):,.0f}" for y in df.index],
                     f"{float(df['exits'].iloc[0]):,.0f}", f"{float(df['poor_end'].iloc[-1]):,.0f}"])
        years = [str(int(y)) for y in df.index]
    note = f"Mean of seeds 0-{seeds[-1]} at full scale, `{scenario.name}`'s own parameters.\n\n"
    return note + rows_to_md(["run", *[f"relapses {y}" for y in years], f"exits {years[0]}", f"poor end {years[-1]}"],
                             rows)


def replace_between(doc: str, name: str, body: str) -> str:
    """``doc`` with the text between NAME's markers replaced by ``body``."""
    begin, end = f"<!-- make_validation:{name} -->", f"<!-- /make_validation:{name} -->"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if not pattern.search(doc):
        fail(f"the document has no {begin} ... {end} markers")
    return pattern.sub(lambda _: f"{begin}\n{body}\n{end}", doc)


def read(folder: Path, name: str) -> Path:
    """A file of a results folder; an error naming it when missing."""
    path = folder / name
    if not path.is_file():
        fail(f"{path}: file not found")
    return path


def fail(message: str) -> None:
    """One line on stderr, exit 2."""
    print(f"make_validation: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def main(argv: list[str] | None = None) -> None:
    """Refresh docs/validation.md's tables and the calibration figure (see the module doc)."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calibration", type=Path, required=True, help="folder written by tuopin calibrate --out")
    ap.add_argument("--shangluo", type=Path, required=True, help="folder written by tuopin run scenarios/shangluo.yaml")
    ap.add_argument("--attribution", action="store_true",
                    help="also rerun each mechanism switched off (national at the calibrated medians, Shangluo at its "
                         "file's values; a few minutes) for the attribution tables")
    ap.add_argument("--doc", type=Path, default=HERE / "validation.md", help="the document to update")
    ap.add_argument("--figure", type=Path, default=HERE / "img" / "calibration_national.png",
                    help="where the calibration figure is copied")
    a = ap.parse_args(argv)
    cal, sl = a.calibration, a.shangluo
    est = pd.read_csv(read(cal, "estimates.csv"))
    fit = pd.read_csv(read(cal, "fit.csv"))
    summary = json.loads(read(cal, "summary.json").read_text(encoding="utf-8"))
    run = json.loads(read(cal, "run.json").read_text(encoding="utf-8"))
    figure = read(cal, "fit_vs_observed.png")
    shangluo = pd.read_csv(read(sl, "summary.csv"))
    sl_run = json.loads(read(sl, "run.json").read_text(encoding="utf-8"))
    doc = read(a.doc.parent, a.doc.name).read_text(encoding="utf-8")
    tables = {"run": run_table(cal, summary, run), "posterior": posterior_table(est), "fit": fit_table(fit),
              "targets": targets_table(fit, est),
              "shangluo": f"`{sl_run.get('command', '')}` ({sl_run.get('replicates')} replicates, "
                          f"scale {sl_run.get('scale')})\n\n" + shangluo_table(shangluo)}
    if a.attribution:
        tables["attribution_national"] = attribution_national(cal)
        tables["attribution_shangluo"] = attribution_shangluo(sl_run)
    for name in tables:
        doc = replace_between(doc, name, tables[name])
    a.doc.write_text(doc, encoding="utf-8")
    a.figure.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(figure, a.figure)
    print(f"wrote {a.doc} ({', '.join(tables)}) and {a.figure}")


if __name__ == "__main__":
    main()
