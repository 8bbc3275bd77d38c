"""Global sensitivity analysis of a sweep: SALib Sobol (S1, ST) and Morris (mu*, sigma).

Each point's outputs are averaged over its replicates first (use ``common_random_numbers:
true`` in the spec so that replicate noise does not pass for a parameter's effect). Outputs:

* ``cumulative_exits``: people exited over the whole horizon (sum of the yearly exits);
* ``total_relapses``: people who fell back into poverty over the horizon;
* ``cost_per_sustained_exit``: yuan spent per exited person still out of poverty, final year;
* ``last_county_exit_year``: the year the last county takes its hat off. A replicate in which
  some county is still poor at the end counts as **final year + 1** (censored: "not by the end
  of the plan"), so the index measures how a parameter moves the date within the horizon and
  whether it pushes counties past it.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tuopin.errors import UserError
from tuopin.experiments.sweep_spec import MORRIS_LEVELS, SweepPlan, base_scenario
from tuopin.sim import flows

if TYPE_CHECKING:
    from tuopin.experiments.sweep import Backend

OUTPUTS = ("cumulative_exits", "total_relapses", "cost_per_sustained_exit", "last_county_exit_year")
NEEDS = flows.known("exits", "relapses", "cost_per_sustained_exit", "counties_exited_total")
"""Annual columns the outputs are computed from."""


def check_plan(plan: SweepPlan) -> None:
    """A sensitivity spec needs the sobol or morris design and the columns the outputs use."""
    if plan.spec.design not in ("sobol", "morris"):
        raise UserError(f"sensitivity needs design sobol or morris, not {plan.spec.design}",
                        source=str(plan.spec_path), key="design")
    if missing := [c for c in NEEDS if c not in plan.outputs]:
        raise UserError(f"outputs must include {missing} for the sensitivity measures",
                        source=str(plan.spec_path), key="outputs")


def point_outputs(plan: SweepPlan, runs: pd.DataFrame) -> pd.DataFrame:
    """One row per point: each output averaged over the point's replicates."""
    scenario = base_scenario(plan)
    n_counties = len(scenario.counties.rows)
    final = scenario.years[1]
    runs = runs.sort_values(["point", "replicate", "year"])
    by_run = runs.groupby(["point", "replicate"], sort=True)
    table = pd.DataFrame({
        "cumulative_exits": by_run["exits"].sum(),
        "total_relapses": by_run["relapses"].sum(),
        "cost_per_sustained_exit": by_run["cost_per_sustained_exit"].last(),
    })
    out = runs[runs["counties_exited_total"] >= n_counties].groupby(["point", "replicate"])["year"].min()
    table["last_county_exit_year"] = out.reindex(table.index).fillna(final + 1).astype(float)
    means = table.groupby(level="point").mean()
    if len(means) != len(plan.points):
        raise UserError(f"the sweep has {len(means)} of {len(plan.points)} points; rerun to finish it")
    return means.reset_index()


def analyze(plan: SweepPlan, outputs: pd.DataFrame) -> pd.DataFrame:
    """Sensitivity indices of every output to every parameter, one row per (output, parameter).

    Sobol: ``S1`` and ``ST`` with 95% confidence half-widths (``S1_conf``, ``ST_conf``, bootstrap).
    Morris: ``mu_star`` (mean absolute elementary effect over the parameter's whole range, in
    the output's units), ``mu_star_conf`` and ``sigma``. An output that does not vary at all
    gets NaN indices and ``note = constant``.
    """
    from SALib.analyze import morris, sobol

    names = plan.names
    problem = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}
    rows: list[dict[str, Any]] = []
    for output in OUTPUTS:
        y = outputs.sort_values("point")[output].to_numpy(dtype=float)
        base = {"output": output, "method": plan.spec.design}
        if np.nanstd(y) == 0:
            rows += [{**base, "parameter": n, "note": "constant"} for n in names]
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            keys: tuple[str, ...]
            if plan.spec.design == "sobol":
                res = sobol.analyze(problem, y, calc_second_order=False, conf_level=0.95, seed=plan.spec.seed)
                keys = ("S1", "S1_conf", "ST", "ST_conf")
            else:
                res = morris.analyze(problem, plan.unit, y, conf_level=0.95, num_levels=MORRIS_LEVELS,
                                     seed=plan.spec.seed)
                keys = ("mu_star", "mu_star_conf", "sigma")
        for j, n in enumerate(names):
            rows.append({**base, "parameter": n, **{k: float(res[k][j]) for k in keys}, "note": ""})
    cols = ["output", "parameter", "method", "S1", "S1_conf", "ST", "ST_conf", "mu_star", "mu_star_conf",
            "sigma", "note"]
    return pd.DataFrame(rows).reindex(columns=cols)


def tornado(table: pd.DataFrame, path: Path, title: str) -> None:
    """Horizontal bars per output, parameters sorted by influence (ST or mu*), with CIs."""
    from matplotlib.figure import Figure

    outputs = list(dict.fromkeys(table["output"]))
    sobol = table["method"].iloc[0] == "sobol"
    n_par = table["parameter"].nunique()
    ncol = 2 if len(outputs) > 1 else 1
    nrow = -(-len(outputs) // ncol)
    fig = Figure(figsize=(6.5 * ncol, nrow * (1.3 + 0.42 * n_par)))
    axes = fig.subplots(nrow, ncol, squeeze=False)
    for ax in axes.flat[len(outputs):]:
        ax.set_visible(False)
    for ax, output in zip(axes.flat, outputs):
        part = table[table["output"] == output]
        key = "ST" if sobol else "mu_star"
        part = part.assign(_k=part[key].fillna(-1)).sort_values("_k")
        y = np.arange(len(part))
        if sobol:
            ax.barh(y + 0.2, part["ST"].fillna(0), 0.4, xerr=part["ST_conf"].fillna(0), label="total (ST)",
                    color="#c44e52")
            ax.barh(y - 0.2, part["S1"].fillna(0), 0.4, xerr=part["S1_conf"].fillna(0), label="first order (S1)",
                    color="#4c72b0")
            ax.set_xlabel("Sobol index (95% CI)")
        else:
            ax.barh(y, part["mu_star"].fillna(0), 0.6, xerr=part["mu_star_conf"].fillna(0), color="#4c72b0",
                    label="mu*")
            ax.set_xlabel("Morris mu* (output units, 95% CI)")
        ax.set_yticks(y, [p if len(p) < 38 else "…" + p[-37:] for p in part["parameter"]], fontsize=8)
        note = ""
        if (part["note"] == "constant").all():
            note = " (constant)"
            ax.text(0.5, 0.5, "the same value at every point:\nno index", transform=ax.transAxes, ha="center",
                    va="center", fontsize=9, color="grey")
        ax.set_title(output.replace("_", " ") + note, fontsize=10)
        ax.axvline(0, color="grey", lw=0.5)
    axes.flat[0].legend(fontsize=8, loc="lower right")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def run_sensitivity(plan: SweepPlan, out: Path, backend: Backend | None = None, progress: bool = False) -> pd.DataFrame:
    """Run (or resume) a sensitivity spec's sweep into ``out``, measure the indices and write
    ``sensitivity.csv``, ``sensitivity.png``, ``point_outputs.csv`` and ``run.json`` beside the
    sweep's own files; returns the indices (:func:`analyze`)."""
    import time

    from tuopin.experiments.outputs import command_line, environment, write_results
    from tuopin.experiments.sweep import Backend, read_runs, run_sweep

    t0 = time.perf_counter()
    check_plan(plan)
    run_sweep(plan, out, backend or Backend(), progress=progress)
    outputs = point_outputs(plan, read_runs(out, columns=["point", "replicate", "year", *NEEDS]))
    table = analyze(plan, outputs)
    title = f"{Path(plan.spec.base).stem}: {plan.spec.design} sensitivity ({len(plan.points)} points x " \
            f"{plan.spec.replicates} replicates, scale {plan.spec.scale or 'as in scenario'})"
    writers = {
        "sensitivity.csv": lambda p: table.to_csv(p, index=False, float_format="%.6g"),
        "sensitivity.png": lambda p: tornado(table, p, title),
        "point_outputs.csv": lambda p: plan.points.merge(outputs, on="point").to_csv(p, index=False),
    }
    meta = {"spec": str(plan.spec_path), "design": plan.spec.design, "points": len(plan.points),
            "replicates": plan.spec.replicates, "scale": plan.spec.scale, "seed": plan.spec.seed,
            "wall_time_s": round(time.perf_counter() - t0, 2), "command": command_line(),
            "versions": environment()}
    write_results(out, writers, meta)
    return table
